"""The command line, run in-process through ``vislrp.cli.main``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vislrp.cli import main

TESTS = Path(__file__).resolve().parents[1]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_models_and_presets(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "models")
    assert code == 0 and "efficientnet_lite0" in out and "vgg16" in out
    code, out, _ = run(capsys, "presets", "--json")
    presets = {p["name"]: p for p in json.loads(out)}
    assert presets["flat"]["rule"]["gamma0"] == 1 and presets["w-square"]["rule"]["gamma2"] == 1


def test_models_json_gives_test_accuracies(capsys: pytest.CaptureFixture[str]) -> None:
    from vislrp.zoo.models import WEIGHTS_DIR

    recorded = json.loads((WEIGHTS_DIR / "digits.json").read_text())
    code, out, _ = run(capsys, "models", "--json")
    assert code == 0
    rows = {row["name"]: row for row in json.loads(out)}
    assert all(set(row) == {"name", "description", "input_size", "test_accuracy", "default"} for row in rows.values())
    assert [name for name, row in rows.items() if row["default"]] == ["efficientnet_lite0"]
    assert {"digits_cnn", "digits_vit", "vit_b_16", "vit_b_32"} <= set(rows)
    for name in ("digits_cnn", "digits_vit"):
        assert rows[name]["test_accuracy"] == recorded[name]["test_accuracy"] >= 0.95
        assert rows[name]["input_size"] == 32
    assert rows["vit_b_16"]["test_accuracy"] is None and rows["efficientnet_lite0"]["test_accuracy"] is None
    code, out, _ = run(capsys, "models")
    assert code == 0 and f"test accuracy {recorded['digits_vit']['test_accuracy']:.4f}" in out


def test_explain_a_test_digit(capsys: pytest.CaptureFixture[str]) -> None:
    from vislrp.zoo.images import digits_split

    code, out, err = run(capsys, "explain", "digits:3", "--model", "digits_cnn", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["target"] == int(digits_split()[3][3]) and result["label"] == str(result["target"])
    code, _, err = run(capsys, "explain", "digits:360", "--model", "digits_cnn")
    assert code == 2 and "0 to 359" in err and "Traceback" not in err


def test_layers_json_on_a_custom_model(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(TESTS / "lrp"))
    code, out, err = run(capsys, "layers", "--model", "lrp_nets:factory", "--weights", "none", "--json")
    assert code == 0, err
    layers = json.loads(out)
    assert [row["index"] for row in layers] == list(range(len(layers)))
    assert set(layers[0]) == {"index", "name", "kind", "shape", "block"}
    assert all(row["block"] is None for row in layers)  # a CNN has no transformer blocks
    assert [row["kind"] for row in layers][:3] == ["Conv", "ReLU", "MaxPool"]


def test_explain_default_model_writes_outputs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_npy, png, layers = tmp_path / "r.npy", tmp_path / "h.png", tmp_path / "layers"
    code, out, err = run(capsys, "explain", "sample:chelsea", "--out", str(out_npy), "--heatmap", str(png),
                         "--layers-out", str(layers), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert set(result) == {"target", "label", "logit", "topk", "relevance_sum", "lrp_model", "start", "warnings",
                           "conservation", "absorbed"}
    assert 281 <= result["target"] <= 287 and len(result["topk"]) == 5
    rel = np.load(out_npy)
    assert rel.shape == (3, 224, 224) and rel.dtype == np.float32
    assert abs(float(rel.sum()) - result["relevance_sum"]) < 1e-3
    assert Image.open(png).size[0] >= 224
    assert len(list(layers.glob("*.png"))) == 95


def test_explain_npy_input_with_config(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    x = np.random.default_rng(0).standard_normal((3, 224, 224)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    config = {"name": "c", "include_bias": True, "input_rule": {"kind": "zbox"},
              "segments": [{"start": 0, "end": 50, "preset": "z-plus", "rule": {"gamma1": 0, "gamma1p": 1}},
                           {"start": 51, "end": 94, "preset": "epsilon", "rule": {"epsilon": 0.25}}]}
    (tmp_path / "c.json").write_text(json.dumps(config))
    code, out, err = run(capsys, "explain", str(tmp_path / "x.npy"), "--config", str(tmp_path / "c.json"),
                         "--target", "3", "--json")
    assert code == 0, err
    assert json.loads(out)["target"] == 3


@pytest.mark.parametrize(("args", "message"), [
    (["explain", "missing.png"], "missing.png"),
    (["explain", "sample:chelsea", "--model", "nope"], "nope"),
    (["explain", "sample:chelsea", "--preset", "nope"], "unknown preset"),
    (["explain", "sample:chelsea", "--target", "5000"], "out of range"),
    (["explain", "sample:chelsea", "--cmap", "rainbow"], "rainbow"),
])
def test_bad_input_is_one_clear_line(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    code, _, err = run(capsys, *args)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_bad_config_and_unreadable_image(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text(json.dumps({"name": "x", "segments": [{"start": 0, "end": 10}]}))
    code, _, err = run(capsys, "explain", "sample:chelsea", "--config", str(tmp_path / "bad.json"))
    assert code == 2 and "not covered" in err
    (tmp_path / "fake.png").write_text("not an image")
    code, _, err = run(capsys, "explain", str(tmp_path / "fake.png"))
    assert code == 2 and "image" in err.lower()


def test_entry_point_is_installed() -> None:
    assert Path(sys.executable).with_name("vislrp").exists()
