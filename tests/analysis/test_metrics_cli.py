"""`vislrp metrics`: the JSON contract scripts rely on, inputs (files, folders, sample:NAME, masks), errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vislrp.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_contract(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(np.full((240, 260, 3), 128, dtype=np.uint8)).save(folder / "grey.png")
    (folder / "notes.txt").write_text("not an image")
    mask = np.zeros((224, 224), dtype=np.uint8)
    mask[50:150, 60:170] = 255
    Image.fromarray(mask).save(tmp_path / "region.png")
    code, out, err = run(capsys, "metrics", "sample:chelsea", str(folder), "--metric",
                         "pixel-flipping,srg,sparseness,complexity,relevance-mass,pointing-game", "--steps", "4",
                         "--patch", "32", "--fill", "road", "--mask", str(tmp_path / "region.png"), "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [(Path(r["image"]).name, r["metric"]) for r in rows[:2]] == [("sample:chelsea", "pixel-flipping"),
                                                                         ("grey.png", "pixel-flipping")]
    assert len(rows) == 12 and {r["metric"] for r in rows} == {"pixel-flipping", "srg", "sparseness", "complexity",
                                                              "relevance-mass", "pointing-game"}
    for r in rows:
        assert {"image", "target", "metric", "value"} <= set(r)
        flipping = r["metric"] in ("pixel-flipping", "srg")
        assert ("aopc" in r) == flipping and ("curves" in r) == flipping
        if flipping:
            assert set(r["aopc"]) == set(r["curves"]) == {"morf", "lerf", "random"}
            assert all(len(c) == 5 for c in r["curves"].values())
            morf = r["curves"]["morf"]
            assert r["aopc"]["morf"] == pytest.approx(sum(morf[0] - v for v in morf) / 5)
    pf = {r["image"]: r for r in rows if r["metric"] == "pixel-flipping"}
    sg = {r["image"]: r for r in rows if r["metric"] == "srg"}
    for image, r in sg.items():
        assert r["aopc"] == pf[image]["aopc"]  # SRG reports the three AOPCs of the same run
        morf = r["curves"]["morf"]
        if r["value"] is not None:
            assert r["value"] == pytest.approx((r["aopc"]["morf"] - r["aopc"]["lerf"]) / (morf[0] - morf[-1]))


def test_table_and_target(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "metrics", "sample:coffee", "--metric", "sparseness", "--target", "1",
                         "--composite", "epsilon-plus")
    assert code == 0, err
    assert "sparseness" in out and "1 goldfish" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--metric", "aopc"], "unknown metric 'aopc'"),
    (["--metric", "pointing-game"], "pointing-game needs a region"),
    (["--metric", "sparseness", "--fill", "grey"], "--fill must be one of"),
    (["--metric", "sparseness", "--steps", "0"], "at least 1"),
    (["--metric", "sparseness", "--composite", "nope"], "unknown composite"),
    (["--metric", "sparseness", "--target", "5000"], "out of range"),
])
def test_bad_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    code, _, err = run(capsys, "metrics", "sample:chelsea", *args)
    assert code == 2 and message in err and "Traceback" not in err
    assert err.strip().count("\n") == 0


def test_missing_inputs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "metrics", str(tmp_path), "--metric", "sparseness")
    assert code == 2 and "holds no image files" in err
    blank = tmp_path / "blank.png"
    Image.fromarray(np.zeros((224, 224), dtype=np.uint8)).save(blank)
    code, _, err = run(capsys, "metrics", "sample:chelsea", "--metric", "relevance-mass", "--mask", str(blank))
    assert code == 2 and "selects no pixel" in err


@pytest.mark.slow
def test_bench_metrics_reports_ratios(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """`vislrp bench --metrics` on a tiny model: every key is reported (no timing asserts)."""
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "lrp"))
    code = main(["bench", "--metrics", "--model", "lrp_nets:factory", "--runs", "1", "--size", "16", "--threads", "1",
                 "--json"])
    out = capsys.readouterr().out
    assert code == 0
    doc = json.loads(out)  # one JSON document: {"bench": "metrics", "rows": [one per model]}
    assert doc["bench"] == "metrics"
    (res,) = doc["rows"]
    assert res["ratios"]["flip_curve"] > 0 and res["steps"] == 24
    assert {"pixel-flipping", "road", "sparseness", "complexity", "random-logit", "faithfulness-correlation"} <= {
        k for k, v in res["quantus"].items() if v is not None}
