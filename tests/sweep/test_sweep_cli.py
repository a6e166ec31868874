"""`vislrp sweep` and `vislrp batch` on a small network: tables, JSON, resuming, errors.

Metric values are checked against a heatmap explained here with a design edited by hand (not through the
sweep's own point builder) and a numpy Gini index, and against `vislrp metrics` for the same design.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from vislrp.cli import main
from vislrp.lrp import RuleParams
from vislrp.lrp.composites import get_composite
from vislrp.session import open_session

NET = ["--model", "lrp_nets:factory", "--weights", "none"]
IMAGES = ["sample:chelsea", "sample:coffee"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def numpy_gini(values: np.ndarray) -> float:
    """Gini index of |values|, written from the definition (mean absolute difference ÷ twice the mean)."""
    a = np.abs(values.astype(np.float64).ravel())
    n = a.size
    sorted_a = np.sort(a)
    cum = np.cumsum(sorted_a)
    # G = 1 − 2·Σ_i (cumulative share up to i) / n + 1/n  (Lorenz-curve form)
    return float(1 - 2 * (cum / cum[-1]).sum() / n + 1 / n)


def sweep(capsys: pytest.CaptureFixture[str], out: Path, *extra: str) -> tuple[int, str, str]:
    return run(capsys, "sweep", *NET, "--base", "epsilon-gamma-box", "--vary", "S1.gamma1p=0.5,2",
               "--vary", "include_bias=true,false", "--images", *IMAGES, "--metric", "sparseness,srg",
               "--steps", "3", "--out", str(out), *extra)


@pytest.fixture(scope="module")
def session():  # type: ignore[no-untyped-def]
    return open_session("lrp_nets:factory", "none")


def test_sweep_rows_match_hand_built_designs(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                             session) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "sweep.csv"
    code, stdout, err = sweep(capsys, out, "--json")
    assert code == 0, err
    result = json.loads(stdout)
    assert len(result["points"]) == 8
    table = pd.read_csv(out)
    assert list(table.columns) == ["point", "S1.gamma1p", "include_bias", "image", "target", "sparseness", "srg",
                                   "seconds"]
    assert len(table) == 8 and (table["seconds"] > 0).all()
    base = get_composite("epsilon-gamma-box").resolve(session.graph)
    for gamma, bias in ((2.0, False), (0.5, True)):
        seg = base.segments[0]
        rule = RuleParams(**{**seg.rule.model_dump(), "gamma1p": gamma})
        design = base.model_copy(update={"include_bias": bias, "segments": [
            seg.model_copy(update={"rule": rule}), *base.segments[1:]]})
        design_file = tmp_path / f"design-{gamma}-{bias}.json"
        design_file.write_text(design.model_dump_json())
        for image in IMAGES:
            x = session.load_input(image)
            fwd = session.engine.forward(x)
            target = int(fwd.logits[0].argmax())
            heat = session.engine.explain(fwd, design, target).input_relevance[0].sum(0).numpy()
            rows = table[(table["S1.gamma1p"] == gamma) & (table["include_bias"] == bias) & (table["image"] == image)]
            assert len(rows) == 1 and int(rows["target"].iloc[0]) == target
            assert rows["sparseness"].iloc[0] == pytest.approx(numpy_gini(heat), rel=1e-6)
            code, m_out, err = run(capsys, "metrics", image, *NET, "--config", str(design_file), "--metric", "srg",
                                   "--steps", "3", "--json")
            assert code == 0, err
            want = json.loads(m_out)[0]["value"]
            got = rows["srg"].iloc[0]
            assert (want is None and np.isnan(got)) or got == pytest.approx(want, rel=1e-9)
    # best point per metric: the highest mean over the images, from the table itself
    means = table.groupby("point")["sparseness"].mean()
    assert result["best"]["sparseness"]["mean"] == pytest.approx(means.max())
    assert json.dumps(result["best"]["sparseness"]["params"], sort_keys=True) == means.idxmax()
    summary = json.loads((tmp_path / "sweep.summary.json").read_text())
    assert summary["rows"] == 8 and len(summary["best"]["sparseness"]) == 3


def test_resume_skips_done_rows(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "sweep.csv"
    assert sweep(capsys, out)[0] == 0
    full = pd.read_csv(out)
    code, _, err = sweep(capsys, out)
    assert code == 0, err
    assert json.loads((tmp_path / "sweep.summary.json").read_text())["new_rows"] == 0
    full.iloc[:5].to_csv(out, index=False)  # as if interrupted after five rows
    code, _, err = sweep(capsys, out)
    assert code == 0, err
    assert json.loads((tmp_path / "sweep.summary.json").read_text())["new_rows"] == 3
    assert "3/3" in err and "/8" not in err  # the progress bar counts only the rows still to do
    again = pd.read_csv(out)
    key = ["point", "image"]
    pd.testing.assert_frame_equal(again.sort_values(key).drop(columns="seconds").reset_index(drop=True),
                                  full.sort_values(key).drop(columns="seconds").reset_index(drop=True))


def test_parquet_and_random_points(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "r.parquet"
    args = ["sweep", *NET, "--vary", "S1.gamma1p=0:1:11", "--random", "3", "--seed", "4", "--images", IMAGES[0],
            "--metric", "sparseness", "--out", str(out)]
    code, stdout, err = run(capsys, *args)
    assert code == 0, err
    assert "best sparseness" in stdout
    table = pd.read_parquet(out)
    assert len(table) == 3 and table["S1.gamma1p"].between(0, 1).all()
    assert not (tmp_path / "r.parquet.partial.jsonl").exists()
    assert run(capsys, *args)[0] == 0
    assert len(pd.read_parquet(out)) == 3  # same seed, same points: nothing new
    # a killed run leaves only its journal: the next run reads it back and computes the rest
    journal = tmp_path / "r.parquet.partial.jsonl"
    journal.write_text("".join(json.dumps(r) + "\n" for r in table.iloc[:2].to_dict("records")))
    out.unlink()
    assert run(capsys, *args)[0] == 0
    assert json.loads((tmp_path / "r.summary.json").read_text())["new_rows"] == 1
    again = pd.read_parquet(out)
    assert not journal.exists() and len(again) == 3
    pd.testing.assert_series_equal(again["sparseness"], table["sparseness"])


@pytest.mark.parametrize(("extra", "message"), [
    (["--vary", "S1.gamma1p=0:9:3"], "outside the range of gamma1p"),
    (["--vary", "S7.alpha=1"], "segments (S1..S"),
    (["--vary", "S1.alpha=1", "--metric", "nope"], "unknown metric 'nope'"),
    (["--vary", "S1.alpha=1", "--metric", "pointing-game"], "need a mask"),
    (["--vary", "S1.alpha=1", "--out", "x.txt"], "use .csv or .parquet"),
    (["--vary", "S1.alpha=1", "--workers", "2"], "need --executor ray"),
    (["--vary", "S1.alpha=1", "--base", "no-such"], "neither a composite"),
    (["--vary", "S1.alpha=1", "--vary", "S1.alpha=2"], "given twice"),
    (["--vary", "S1.alpha=1", "--target", "cat"], "class index or 'top'"),
    (["--vary", "S1.alpha=1", "--target", "99"], "out of range"),
    ([], "at least one --vary"),
])
def test_bad_sweeps_fail_with_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path, extra: list[str],
                                       message: str) -> None:
    args = ["sweep", *NET, "--images", IMAGES[0], "--metric", "sparseness", "--out", str(tmp_path / "s.csv")]
    code, _, err = run(capsys, *args, *extra)
    assert code == 2
    assert err.count("\n") == 1 and message in err, err


def test_resume_refuses_a_table_of_another_sweep(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "s.csv"
    base = ["sweep", *NET, "--images", IMAGES[0], "--out", str(out), "--vary", "S1.beta=0"]
    assert run(capsys, *base, "--metric", "sparseness")[0] == 0
    code, _, err = run(capsys, *base, "--metric", "complexity")
    assert code == 2 and "table of another run" in err


def test_batch_writes_relevance_heatmaps_and_one_table(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                       session) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "batch"
    args = ["batch", *IMAGES, *NET, "--composite", "epsilon-plus", "--metric", "sparseness", "--out", str(out)]
    code, stdout, err = run(capsys, *args)
    assert code == 0, err
    table = pd.read_csv(out / "results.csv")
    assert list(table["image"]) == IMAGES
    for k, image in enumerate(IMAGES):
        rel = np.load(out / table["relevance"].iloc[k])
        assert (out / table["heatmap"].iloc[k]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        ref = tmp_path / f"ref{k}.npy"
        assert run(capsys, "explain", image, *NET, "--composite", "epsilon-plus", "--out", str(ref))[0] == 0
        np.testing.assert_array_equal(rel, np.load(ref))  # the same numbers as `vislrp explain`
        with torch.no_grad():
            logits = session.zoo.module(session.load_input(image)[None])[0]
        assert table["target"].iloc[k] == table["top1"].iloc[k] == int(logits.argmax())
        assert table["logit"].iloc[k] == pytest.approx(float(logits.max()), rel=1e-4)
        assert table["sparseness"].iloc[k] == pytest.approx(numpy_gini(rel.sum(0)), rel=1e-6)
    # resume: nothing redone; an image whose files are gone is redone and its row replaced
    (out / table["relevance"].iloc[1]).unlink()
    code, stdout, err = run(capsys, *args, "--json")
    assert code == 0, err
    rows = json.loads(stdout)
    assert [r["image"] for r in pd.read_csv(out / "results.csv").to_dict("records")] == IMAGES
    assert len(rows) == 2 and (out / table["relevance"].iloc[1]).is_file()


def test_batch_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    code, _, err = run(capsys, "batch", IMAGES[0], *NET, "--out", str(tmp_path / "f"))
    assert code == 2 and "is a file" in err
    code, _, err = run(capsys, "batch", IMAGES[0], *NET, "--out", str(tmp_path / "o"), "--cmap", "nope")
    assert code == 2 and err.count("\n") == 1


def test_missing_pandas_is_a_one_line_error(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    import sys

    for name in [m for m in sys.modules if m == "vislrp.sweep" or m.startswith("vislrp.sweep.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    code, _, err = run(capsys, "sweep", *NET, "--images", IMAGES[0], "--metric", "sparseness", "--vary", "S1.beta=0",
                       "--out", str(tmp_path / "s.csv"))
    assert code == 2 and err.strip() == "vislrp sweep: error: sweep needs pandas: pip install pandas"
