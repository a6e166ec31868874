"""`vislrp composites`, `explain --composite` against zennit, the explain JSON's accounting, `export --zennit`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from zennit.attribution import Gradient
from zennit.composites import EpsilonGammaBox

from vislrp.cli import main
from vislrp.lrp.canonizers import fold_batchnorm_modules
from vislrp.lrp.composites import COMPOSITES, DEFAULT_COMPOSITE
from vislrp.lrp.zennit_export import _canonizers
from vislrp.session import open_session


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_composites_lists_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "composites", "--json")
    rows = json.loads(out)
    assert code == 0 and [r["name"] for r in rows] == list(COMPOSITES)
    assert [r["name"] for r in rows if r["default"]] == [DEFAULT_COMPOSITE]
    assert {r["zennit"] for r in rows} >= {"EpsilonGammaBox", "EpsilonPlusFlat", "EpsilonPlus",
                                           "EpsilonAlpha2Beta1", "EpsilonAlpha2Beta1Flat"}
    code, _, err = run(capsys, "explain", "sample:chelsea", "--composite", "nope")
    assert code == 2 and "known composites" in err and len(err.strip().splitlines()) == 1


def test_explain_composite_equals_zennit_and_json_is_valid(capsys: pytest.CaptureFixture[str], tmp_path: Path
                                                           ) -> None:
    out_file = tmp_path / "r.npy"
    code, out, err = run(capsys, "explain", "sample:chelsea", "--composite", "epsilon-gamma-box", "--json",
                         "--out", str(out_file))
    assert code == 0, err
    result = json.loads(out)  # strict JSON: NaN would not parse with a strict decoder either
    json.loads(out, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    ours = np.load(out_file)
    # zennit's own EpsilonGammaBox on the same network (BN folded once, as our graph folds it) and input
    session = open_session("efficientnet_lite0")
    model = fold_batchnorm_modules(session.zoo.module).eval()
    x = session.load_input("sample:chelsea")[None]
    low, high = session.zoo.preprocess.bounds()
    composite = EpsilonGammaBox(low=low.expand(1, 3, 224, 224), high=high.expand(1, 3, 224, 224),
                                canonizers=_canonizers(__import__("zennit"), model, session.graph))
    target = result["target"]
    with Gradient(model, composite) as attributor:
        logits, _ = attributor(x, torch.eye(1000)[[target]])
        start = torch.zeros_like(logits)
        start[0, target] = logits[0, target]
        _, rel = attributor(x, start)
    expected = rel[0].numpy()
    err_rel = float(np.abs(ours - expected).max() / np.abs(expected).max())
    assert err_rel <= 1e-4, err_rel
    # the accounting fields: the conservation list ends (at layer 0) on the input's sum
    assert result["conservation"][0]["sum"] == pytest.approx(result["relevance_sum"], rel=1e-4, abs=1e-6)
    assert {"bias", "stabiliser", "rule", "total"} <= set(result["absorbed"][0])
    assert math.isfinite(result["relevance_sum"])


def test_lrp0_gives_valid_json_and_finite_relevance(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Was: "relevance_sum": NaN and a NaN .npy."""
    out_file = tmp_path / "r.npy"
    code, out, err = run(capsys, "explain", "sample:chelsea", "--preset", "lrp-0", "--json", "--out", str(out_file))
    assert code == 0, err
    result = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert math.isfinite(result["relevance_sum"]) and np.isfinite(np.load(out_file)).all()
    assert any("layer" in w for w in result["warnings"])  # says where it went wrong


def test_export_zennit_prints_runnable_code(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "export", "--zennit", "--composite", "epsilon-plus-flat")
    assert code == 0, err
    namespace: dict = {}
    exec(compile(out, "<export>", "exec"), namespace)  # the printed code builds a composite
    assert type(namespace["composite"]).__name__ == "MixedComposite"
    assert "Flat(" in out and "ZPlus(" in out and "Epsilon(" in out
