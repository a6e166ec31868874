"""Schemathesis against the in-process app: every operation, every built-in check, a fixed seed.

Any 5xx, any response outside the OpenAPI document (status, body, content type, headers), any request
the schema calls invalid but the server accepts, fails the test. ``VISLRP_FUZZ_EXAMPLES`` sets the
examples per operation and mode (CI default below; ``make fuzz`` runs a larger budget), and the run
writes a tally of the requests it sent to ``VISLRP_FUZZ_REPORT`` when that is set.
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
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis.checks import CHECKS  # noqa: E402
from schemathesis.generation.modes import GenerationMode  # noqa: E402

from vislrp.server import Settings, create_app  # noqa: E402
from vislrp.zoo import ZooModel  # noqa: E402

EXAMPLES = int(os.environ.get("VISLRP_FUZZ_EXAMPLES", "20"))
ALL_CHECKS = CHECKS.get_all()
TALLY: Counter[str] = Counter()


@pytest.fixture(scope="module")
def fuzz_app(zoo_model: ZooModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    # Schemathesis's in-process client sends ``Host: testserver``; the app is told it serves that name.
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("fuzz"), zoo_model=zoo_model,
                              allowed_hosts=("testserver",)))
    yield app
    report = os.environ.get("VISLRP_FUZZ_REPORT")
    if report:
        Path(report).write_text(json.dumps({"requests": sum(TALLY.values()), "by_status": dict(TALLY)}, indent=1))


def test_api_conforms_and_never_fails(fuzz_app: FastAPI) -> None:
    """Each operation in each mode (valid data, then data the schema forbids) gets EXAMPLES cases."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in GenerationMode:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
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
            except BaseException as exc:  # schemathesis's FailureGroup is a BaseExceptionGroup; collect them all
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    assert sum(TALLY.values()) > 0
    assert not failures, f"{len(failures)} operations failed:\n\n" + "\n\n".join(failures)
