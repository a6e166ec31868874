# The two fresh-machine commands of the README: `make serve` and `make test`.
.PHONY: setup serve explain test lint bench

setup:
	bash scripts/setup.sh

serve: setup
	.venv/bin/vislrp serve

explain: setup
	.venv/bin/vislrp explain sample:chelsea --heatmap out/chelsea-heatmap.png

test:
	bash scripts/setup.sh --test
	.venv/bin/python -m pytest

lint: setup
	.venv/bin/ruff check src tests bench

bench: setup
	.venv/bin/vislrp bench --model vgg16 resnet50
