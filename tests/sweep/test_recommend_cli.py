"""`vislrp recommend`: the composites and the best points of a `vislrp sweep` run, ranked per metric on images.

The sweep's best point is rebuilt from its summary (a γ edited by hand here, independently of the sweep's point
builder), and every reported value is checked against a heatmap explained here and a numpy Gini index.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_sweep_cli import IMAGES, NET, numpy_gini, run

from vislrp.lrp import RuleParams, parse_model
from vislrp.lrp.composites import COMPOSITES, get_composite
from vislrp.session import open_session

CNN_COMPOSITES = {n: c for n, c in COMPOSITES.items() if not n.startswith(("cp-lrp", "attnlrp"))}
"""The composites offered for a CNN (CP-LRP and AttnLRP are for transformers)."""


def hand_sparseness(session, model, specs: list[str], targets: list[int]) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for spec, t in zip(specs, targets, strict=True):
        x = session.load_input(spec).unsqueeze(0)
        ex = session.engine.explain(session.engine.forward(x), model, [(0, t)], keep_layers=False)
        out.append(numpy_gini(ex.input_relevance[0].sum(0).detach().double().numpy()))
    return out


def test_recommend_ranks_composites_and_sweep_points(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    table = tmp_path / "sweep.csv"
    code, _, err = run(capsys, "sweep", *NET, "--base", "epsilon-gamma-box", "--vary", "S1.gamma1p=0,3",
                       "--images", *IMAGES, "--metric", "sparseness", "--out", str(table))
    assert code == 0, err
    summary = json.loads(table.with_name("sweep.summary.json").read_text())
    best_gamma = summary["best"]["sparseness"][0]["params"]["S1.gamma1p"]

    code, stdout, err = run(capsys, "recommend", *NET, "--images", *IMAGES, "--metric", "sparseness",
                            "--from-sweep", str(table), "--top", "10", "--out", str(tmp_path / "picks"), "--json")
    assert code == 0, err
    res = json.loads(stdout)
    [block] = res["metrics"]
    assert block["metric"] == "sparseness" and block["higher_is_better"]
    designs = block["designs"]
    sources = [d["source"] for d in designs]
    assert sources.count("composite") == len(CNN_COMPOSITES) and sources.count("sweep") >= 1
    means = [d["means"]["sparseness"] for d in designs]
    assert means == sorted(means, reverse=True)

    session = open_session("lrp_nets:factory", "none")
    # the sweep point, rebuilt by hand: the default composite with S1's γ set to the sweep's best value
    by_hand = get_composite("epsilon-gamma-box").resolve(session.graph)
    seg = by_hand.segments[0]
    rule = RuleParams(**{**seg.rule.model_dump(), "gamma1p": best_gamma})
    by_hand.segments[0] = seg.model_copy(update={"rule": rule})
    sweep_pick = next(d for d in designs if d["source"] == "sweep")
    picked = parse_model(sweep_pick["model"])
    assert [(s.start, s.end, s.rule) for s in picked.segments] == [(s.start, s.end, s.rule) for s in by_hand.segments]
    for d in designs:
        model = parse_model(d["model"])
        expected = hand_sparseness(session, model, res["images"], res["targets"])
        assert d["values"]["sparseness"] == pytest.approx(expected, rel=1e-4), d["origin"]
        # the written file is the design, ready for --config or the designer's import
        assert parse_model(json.loads(Path(d["file"]).read_text())) == model
    assert designs[0]["reason"].startswith("highest sparseness on ")


def test_recommend_refuses_bad_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "recommend", *NET, "--images", *IMAGES, "--metric", "nope")
    assert code == 2 and "nope" in err
    code, _, err = run(capsys, "recommend", *NET, "--images", *IMAGES, "--metric", "srg",
                       "--from-sweep", str(tmp_path / "missing.csv"))
    assert code == 2 and "no sweep summary" in err
    bad = tmp_path / "bad.summary.json"
    bad.write_text("[1, 2]")
    code, _, err = run(capsys, "recommend", *NET, "--images", *IMAGES, "--metric", "srg", "--from-sweep", str(bad))
    assert code == 2 and "not a sweep summary" in err
    code, _, err = run(capsys, "recommend", *NET, "--images", *IMAGES, "--metric", "pointing-game")
    assert code == 2 and "region" in err
