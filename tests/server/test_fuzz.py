"""Schemathesis against the in-process app: every operation, every built-in check, a fixed seed.

Any 5xx, any response outside the OpenAPI document (status, body, content type, headers), any request
the schema calls invalid but the server accepts, fails the test. ``VISLRP_FUZZ_EXAMPLES`` sets the
examples per operation and mode and ``VISLRP_FUZZ_ROUNDS`` how many times all operations run, each
round with its own fixed seed (the suite: one round of at least 5,000 requests; ``make fuzz`` runs eight); the
run writes a tally of the requests it sent to ``VISLRP_FUZZ_REPORT`` as it goes, when that is set.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from fastapi import FastAPI  # noqa: E402
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis.checks import CHECKS  # noqa: E402
from schemathesis.generation.modes import GenerationMode  # noqa: E402

from vislrp.server import Settings, create_app  # noqa: E402
from vislrp.zoo import ZooModel  # noqa: E402

CI_EXAMPLES = 75
"""The suite's slice: 75 examples per operation and mode, one round, about 5,250 requests (3 min on one core)."""
CI_MIN_REQUESTS = 5000
EXAMPLES = int(os.environ.get("VISLRP_FUZZ_EXAMPLES", str(CI_EXAMPLES)))
ROUNDS = int(os.environ.get("VISLRP_FUZZ_ROUNDS", "1"))
ALL_CHECKS = CHECKS.get_all()
TALLY: Counter[str] = Counter()


@pytest.fixture(scope="module")
def fuzz_app(zoo_model: ZooModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    # Schemathesis's in-process client sends ``Host: testserver``; the app is told it serves that name.
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("fuzz"), zoo_model=zoo_model,
                              allowed_hosts=("testserver",)))
    yield app


def _report(failures: list[str]) -> None:
    """Write the tally so far (a long ``make fuzz`` run can be read while it goes, or after a stop)."""
    report = os.environ.get("VISLRP_FUZZ_REPORT")
    if report:
        tally = {"requests": sum(TALLY.values()), "by_status": dict(TALLY), "failures": failures}
        Path(report).write_text(json.dumps(tally, indent=1))


def test_api_conforms_and_never_fails(fuzz_app: FastAPI) -> None:
    """Each operation in each mode (valid data, then data the schema forbids) gets EXAMPLES cases per round;
    round r uses seed r, so every run sends the same requests."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    failures: list[str] = []
    for round_ in range(ROUNDS):
        for operation in operations:
            for mode in GenerationMode:

                @seed(round_)
                @given(case=operation.as_strategy(generation_mode=mode))
                @settings(max_examples=EXAMPLES, deadline=None, database=None,
                          phases=(Phase.explicit, Phase.generate), suppress_health_check=list(HealthCheck))
                def run(case: schemathesis.Case) -> None:
                    response = case.call_and_validate(checks=ALL_CHECKS)
                    TALLY[str(response.status_code)] += 1
                    assert response.status_code < 500

                try:
                    run()
                except Unsatisfiable:
                    pass  # nothing to break: an operation without parameters or body has no invalid requests
                except (KeyboardInterrupt, SystemExit):
                    raise
                except BaseException as exc:  # schemathesis's FailureGroup is a BaseExceptionGroup; collect all
                    failures.append(f"{operation.label} [{mode.value}, seed {round_}]: {exc}")
            _report(failures)
    assert sum(TALLY.values()) > 0
    if EXAMPLES == CI_EXAMPLES and ROUNDS == 1:  # the suite's slice must stay a slice of this size
        assert sum(TALLY.values()) >= CI_MIN_REQUESTS, f"the seeded slice sent only {sum(TALLY.values())} requests"
    assert not failures, f"{len(failures)} operations failed:\n\n" + "\n\n".join(failures)
