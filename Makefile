# The two fresh-machine commands of the README: `make serve` and `make test`.
.PHONY: setup serve explain test lint bench fuzz

setup:
	bash scripts/setup.sh

serve: setup
	.venv/bin/vislrp serve

explain: setup
	.venv/bin/vislrp explain sample:chelsea --heatmap out/chelsea-heatmap.png

# Two pytest-xdist workers, one per core; a module's tests stay on one worker (--dist loadfile), so each
# network loads once. tests/conftest.py starts the slowest modules first and gives each worker one torch thread.
# Tests marked `serial` compare times under load, which a busy second worker would distort: they run alone after.
PYTEST_PARALLEL = -n 2 --dist loadfile --no-loadscope-reorder

test:
	bash scripts/setup.sh --test
	$(MAKE) test-web
	.venv/bin/python -m pytest $(PYTEST_PARALLEL) -m "not serial" --durations=15
	.venv/bin/python -m pytest -m serial -q

# The edit-test loop: unit tests and parity on small networks; no browser, no fuzzing, no real-weight
# faithfulness runs, no Ray.
.PHONY: test-fast
test-fast: setup
	.venv/bin/python -m pytest $(PYTEST_PARALLEL) -q -m "not slow and not serial" --ignore=tests/e2e --ignore=tests/server/test_fuzz.py \
		--ignore=tests/server/test_fuzz_compute.py --ignore=tests/lrp/test_random_designs.py \
		--ignore=tests/sweep/test_ray_executor.py

# ruff, mypy (strict on lrp/, analysis/, sweep/; see pyproject.toml) and the front end's strict tsc.
lint:
	bash scripts/setup.sh --test
	.venv/bin/ruff check src tests
	.venv/bin/python -m mypy
	cd web && npx tsc --noEmit

bench: setup
	.venv/bin/vislrp bench --model vgg16 resnet50

# Schemathesis over every API operation with every check, 8 rounds (seeds 0-7) of 50 examples per
# operation and mode: about 25,000 requests (20 min on 2 busy cores), then the compute-route fuzzer.
# The tally lands in out/fuzz-report.json as the run goes.
fuzz:
	bash scripts/setup.sh --test
	mkdir -p out
	VISLRP_FUZZ_EXAMPLES=50 VISLRP_FUZZ_ROUNDS=8 VISLRP_FUZZ_COMPUTE=500 VISLRP_FUZZ_REPORT=out/fuzz-report.json \
		.venv/bin/python -m pytest tests/server/test_fuzz.py tests/server/test_fuzz_compute.py -q

# The front end's unit tests (Vitest, web/src/**/*.test.ts), a few seconds. node_modules normally comes
# from setup.sh's pip build (npm ci); a fresh clone without it, or one installed before Vitest was added,
# gets it here first.
.PHONY: test-web
test-web:
	@test -x web/node_modules/.bin/vitest || (cd web && npm ci --no-audit --no-fund)
	cd web && npm run test:unit

# A wheel built from the repository (front end inside) installs into a clean venv with no npm/node on PATH
# (with constraints.txt) and `vislrp serve` from it serves the designer; everything temporary is removed.
.PHONY: wheel-check
wheel-check:
	bash scripts/check_wheel.sh
