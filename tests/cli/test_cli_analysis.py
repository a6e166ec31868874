"""The flip, ablate and neurons subcommands, run in-process."""

from __future__ import annotations

import json

import pytest

from vislrp.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_flip_json_curve_and_aopc(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "flip", "sample:chelsea", "--curve", "morf", "--steps", "4", "--patch", "16",
                         "--json")
    assert code == 0, err
    result = json.loads(out)
    assert {"curve", "aopc", "order", "target", "timing"} <= set(result)
    assert [set(p) for p in result["curve"]] == [{"fraction", "logit", "top1"}] * 5
    logits = [p["logit"] for p in result["curve"]]
    assert result["aopc"] == pytest.approx(sum(logits[0] - v for v in logits) / 5)
    assert result["curve"][0]["fraction"] == 0 and result["curve"][-1]["fraction"] == 1
    code, out, err = run(capsys, "flip", "sample:chelsea", "--curve", "random", "--steps", "2", "--mode", "blur")
    assert code == 0, err
    assert "AOPC" in out and "steps x forward" in out


def test_ablate_and_neurons(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "ablate", "sample:chelsea", "--layer", "4", "--channels", "1,2,3", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["channels"] == [1, 2, 3] and len(result["original"]) == len(result["ablated"]) == 5
    assert result["original"] != result["ablated"]
    code, out, err = run(capsys, "ablate", "sample:chelsea", "--layer", "4", "--channels", "0")
    assert code == 0 and "original" in out and "ablated" in out
    code, out, err = run(capsys, "neurons", "sample:chelsea", "--layer", "4", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [r["channel"] for r in rows] == list(range(16))
    assert all(set(r) == {"channel", "pos", "neg", "activation"} and r["pos"] >= 0 >= r["neg"] for r in rows)


@pytest.mark.parametrize(("args", "message"), [
    (["ablate", "sample:chelsea", "--layer", "999", "--channels", "1"], "layer 999 does not exist"),
    (["ablate", "sample:chelsea", "--layer", "1", "--channels", "1"], "not a conv layer"),
    (["ablate", "sample:chelsea", "--layer", "4", "--channels", "16"], "channel 16 is out of range"),
    (["ablate", "sample:chelsea", "--layer", "4", "--channels", "a,b"], "comma-separated"),
    (["neurons", "sample:chelsea", "--layer", "94"], "not a conv layer"),
    (["flip", "sample:chelsea", "--steps", "0"], "at least 1"),
    (["flip", "sample:chelsea", "--target", "5000"], "out of range"),
])
def test_bad_input_is_one_clear_line(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    code, _, err = run(capsys, *args)
    assert code == 2
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
