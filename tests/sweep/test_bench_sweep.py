"""`vislrp bench --sweep` on a small network: the report's fields and its ratio (no timing asserts)."""

from __future__ import annotations

import json

import pytest

from vislrp.cli import main


def test_bench_sweep_reports_the_cost_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bench", "--sweep", "--model", "lrp_nets:factory", "--runs", "1", "--points", "2", "--images", "2",
                 "--steps", "3", "--threads", "1", "--json"])
    out = capsys.readouterr().out
    assert code == 0
    doc = json.loads(out)  # one JSON document: {"bench": "sweep", "rows": [one per model]}
    assert doc["bench"] == "sweep"
    (res,) = doc["rows"]
    # SRG with 3 steps: MoRF, LeRF and random curves of 4 points; the unflipped image's logits come from the
    # cached forward and the fully flipped image is shared, so 3 orders x 2 inner steps + 1 forwards per image
    assert res["metric_forwards_per_image"] == pytest.approx(3 * 2 + 1)
    unit = res["reexplain_ms"] + res["metric_forwards_per_image"] * res["forward_ms"]
    assert res["unit_ms_per_row"] == pytest.approx(unit, rel=0.01, abs=0.02)
    assert res["ratio"] == pytest.approx(res["ms_per_row"] / res["unit_ms_per_row"], rel=0.02)


def test_bench_sweep_refuses_zero_points(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--sweep", "--points", "0"]) == 2
    assert "at least 1" in capsys.readouterr().err
