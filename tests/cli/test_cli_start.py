"""``--start`` on the command line (docs/start-rules.md), on a small custom network (lrp_nets:factory)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vislrp.cli import main

TESTS = Path(__file__).resolve().parents[1]
NET = ["--model", "lrp_nets:factory", "--weights", "none"]


@pytest.fixture(autouse=True)
def _nets_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(TESTS / "lrp"))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_explain_contrastive_is_the_difference_of_two_explains(capsys: pytest.CaptureFixture[str],
                                                                 tmp_path: Path) -> None:
    maps = {}
    for name, extra in (("t", []), ("b", ["--target", "1"]), ("c", ["--start", "contrastive:1"])):
        target = ["--target", "3"] if name != "b" else []
        code, out, err = run(capsys, "explain", "sample:chelsea", *NET, *target, *extra,
                             "--out", str(tmp_path / f"{name}.npy"), "--json")
        assert code == 0, err
        maps[name] = np.load(tmp_path / f"{name}.npy")
        assert json.loads(out)["start"] == {"t": "logit", "b": "logit", "c": "contrastive:1"}[name]
    ref = maps["t"] - maps["b"]
    assert np.abs(maps["c"] - ref).max() <= 1e-5 * np.abs(ref).max()


@pytest.mark.parametrize("rule", ["onehot", "sglrp", "clrp"])
def test_explain_takes_every_start_rule(capsys: pytest.CaptureFixture[str], rule: str) -> None:
    code, out, err = run(capsys, "explain", "sample:chelsea", *NET, "--start", rule, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["start"] == rule and np.isfinite(result["relevance_sum"])


def test_lrp0_says_it_has_no_guard(capsys: pytest.CaptureFixture[str]) -> None:
    """The README: rules with no guard against denominators near zero say so in their warnings."""
    code, out, err = run(capsys, "explain", "sample:chelsea", *NET, "--preset", "lrp-0", "--include-bias", "--json")
    assert code == 0, err
    assert any(w.startswith("Segment 1 (layers 0–") and "no guard" in w for w in json.loads(out)["warnings"])
    code, out, err = run(capsys, "explain", "sample:chelsea", *NET, "--preset", "z-plus", "--json")
    assert code == 0 and not any("no guard" in w for w in json.loads(out)["warnings"])


@pytest.mark.parametrize(("args", "message"), [
    (["--start", "bogus"], "unknown start rule 'bogus'"),
    (["--start", "contrastive:99"], "class 99 is out of range (0..3)"),
    (["--start", "contrastive:x"], "not a class index"),
    (["--target", "2", "--start", "contrastive:2"], "the contrast class is the target itself"),
])
def test_bad_start_is_one_clear_line(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    code, _, err = run(capsys, "explain", "sample:chelsea", *NET, *args)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_init_and_start_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["explain", "sample:chelsea", *NET, "--init", "onehot", "--start", "sglrp"])
    assert exc.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


def test_metrics_score_the_start_rules_heatmap(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """`metrics --start` scores the map `explain --start` writes: sparseness (a Gini index) from numpy agrees."""
    code, _, err = run(capsys, "explain", "sample:chelsea", *NET, "--start", "clrp", "--out", str(tmp_path / "c.npy"))
    assert code == 0, err
    heatmap = np.abs(np.load(tmp_path / "c.npy").astype(np.float64).sum(0)).ravel()
    cum = np.cumsum(np.sort(heatmap))
    gini = float(1 - 2 * (cum / cum[-1]).sum() / heatmap.size + 1 / heatmap.size)
    values = {}
    for start in (["--start", "clrp"], []):
        code, out, err = run(capsys, "metrics", "sample:chelsea", *NET, "--metric", "sparseness", *start, "--json")
        assert code == 0, err
        values[bool(start)] = json.loads(out)[0]["value"]
    assert abs(values[True] - gini) <= 1e-6 and abs(values[True] - values[False]) > 1e-3
    code, _, err = run(capsys, "metrics", "sample:chelsea", *NET, "--metric", "sparseness", "--start", "contrastive:4")
    assert code == 2 and "class 4 is out of range (0..3)" in err


def test_batch_writes_the_start_rules_maps(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "explain", "sample:chelsea", *NET, "--start", "contrastive:1", "--out",
                       str(tmp_path / "ref.npy"))
    assert code == 0, err
    out = tmp_path / "b"
    code, stdout, err = run(capsys, "batch", "sample:chelsea", *NET, "--start", "contrastive:1", "--out", str(out),
                            "--json")
    assert code == 0, err
    rows = json.loads(stdout)
    assert rows[0]["start"] == "contrastive:1"
    np.testing.assert_allclose(np.load(out / rows[0]["relevance"]), np.load(tmp_path / "ref.npy"), rtol=0, atol=1e-6)
    code, _, err = run(capsys, "batch", "sample:chelsea", *NET, "--start", "sglrp", "--out", str(out))
    assert code == 2 and "explained with --start contrastive:1, not sglrp" in err  # no resume across start rules


def test_sweep_records_the_start_rule_and_resumes_only_under_it(capsys: pytest.CaptureFixture[str],
                                                                 tmp_path: Path) -> None:
    out = tmp_path / "s.csv"

    def sweep(*extra: str) -> tuple[int, str, str]:
        return run(capsys, "sweep", *NET, "--vary", "S1.gamma1p=0.5,2", "--images", "sample:chelsea",
                   "--metric", "sparseness", "--out", str(out), *extra)

    code, _, err = sweep("--start", "sglrp")
    assert code == 0, err
    import pandas as pd

    table = pd.read_csv(out)
    assert list(table["start"]) == ["sglrp", "sglrp"]
    assert json.loads(out.with_name("s.summary.json").read_text())["start"] == "sglrp"
    code, _, err = sweep("--start", "sglrp")  # resumes: nothing left to do
    assert code == 0, err
    for other in (["--start", "clrp"], []):
        code, _, err = sweep(*other)
        assert code == 2 and "explained with --start sglrp" in err, err
