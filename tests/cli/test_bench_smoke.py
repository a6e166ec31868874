"""`vislrp bench --runs 1` on a tiny model: the command runs and reports every item (no timing asserts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vislrp.cli import main

TESTS = Path(__file__).resolve().parents[1]


def test_bench_runs_on_a_tiny_model(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(TESTS / "lrp"))
    code = main(["bench", "--model", "lrp_nets:factory", "lrp_nets:factory", "--runs", "1", "--size", "16",
                 "--threads", "1", "--json"])
    out = capsys.readouterr().out
    assert code == 0
    doc = json.loads(out)  # one JSON document for all models (was: JSON Lines, one per model)
    assert doc["bench"] == "explain" and [r["model"] for r in doc["rows"]] == ["lrp_nets:factory"] * 2
    res = doc["rows"][0]
    assert set(res["ratios"]) == {"gradient", "explain", "reexplain", "epf", "zennit_egb", "zennit_epf",
                                  "captum_lrp"}
    assert res["forward_ms"] > 0
    assert all(v is None or v > 0 for v in res["ratios"].values())
    assert res["max_rel_diff_vs_zennit_epf"] is not None
    assert set(res["peak_mb"]) >= {"forward", "explain"}


def test_bench_refuses_cuda_without_a_gpu(capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert main(["bench", "--model", "alexnet", "--device", "cuda"]) == 2
    assert "no CUDA device" in capsys.readouterr().err
