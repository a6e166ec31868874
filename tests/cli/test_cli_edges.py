"""CLI edges of issue 12 (point 10, and the CLI side of point 2): each bad input is one line, exit 2."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vislrp.cli import main
from vislrp.zoo import TF_LITE, load_image, load_model


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code, out, err = run(capsys, *argv)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Weight files and arrays that are wrong in one way each."""
    d = tmp_path_factory.mktemp("cli-edges")
    module = load_model("efficientnet_lite0").module
    state = module.state_dict()
    torch.save(module, d / "pickled_module.pt")  # a whole pickled model: refused by weights_only
    torch.save({k: v[..., :1] if v.dim() == 4 else v for k, v in state.items()}, d / "wrong_shape.pt")
    nan = {k: v.clone() for k, v in state.items()}
    nan["_conv_stem.weight"][0, 0, 0, 0] = float("nan")
    torch.save(nan, d / "nan.pt")
    for name, shape in {"tiny1": (3, 1, 1), "tiny2": (3, 2, 2), "tiny3": (3, 16, 16)}.items():
        np.save(d / f"{name}.npy", np.zeros(shape, np.float32))
    np.save(d / "complex.npy", np.zeros((3, 224, 224), np.complex64))
    (d / "outdir").mkdir()
    return d


def test_out_directory_is_refused_and_nothing_is_written_beside_it(
    capsys: pytest.CaptureFixture[str], files: Path
) -> None:
    line = one_line_error(capsys, "explain", "sample:chelsea", "--out", str(files / "outdir"))
    assert "directory" in line
    assert not (files / "outdir.npy").exists()


def test_out_is_written_to_exactly_the_given_path(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "explain", "sample:chelsea", "--out", str(tmp_path / "rel.bin"))
    assert code == 0, err
    assert np.load(tmp_path / "rel.bin").shape == (3, 224, 224)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rel.bin"]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--weights", "pickled_module.pt"], "pickled Python objects"),
        (["--weights", "wrong_shape.pt"], "wrong shape"),
        (["--weights", "nan.pt", "--json"], "NaN"),
        (["--model", "os:system"], "factory"),
    ],
    ids=["pickle", "wrong-shape", "nan", "os-system"],
)
def test_bad_networks_and_weights(
    capsys: pytest.CaptureFixture[str], files: Path, argv: list[str], needle: str
) -> None:
    argv = [str(files / a) if a.endswith(".pt") else a for a in argv]
    line = one_line_error(capsys, "explain", "sample:chelsea", *argv)
    assert needle in line
    assert "weights_only=False" not in line  # never suggest running a file's code


@pytest.mark.parametrize("name", ["tiny1", "tiny2", "tiny3", "complex"])
def test_bad_arrays(capsys: pytest.CaptureFixture[str], files: Path, name: str) -> None:
    line = one_line_error(capsys, "explain", str(files / f"{name}.npy"), "--json")
    assert f"{name}.npy" in line and ("shape" in line or "complex" in line)


@pytest.mark.parametrize("port", ["70000", "0", "-1"])
def test_serve_port_out_of_range(capsys: pytest.CaptureFixture[str], port: str) -> None:
    assert "port" in one_line_error(capsys, "serve", "--port", port)


def test_wide_image_through_the_cli_is_quick(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (20000, 1), (90, 120, 150)).save(buf, format="PNG")
    (tmp_path / "wide.png").write_bytes(buf.getvalue())
    code, out, err = run(capsys, "explain", str(tmp_path / "wide.png"), "--json")
    assert code == 0, err
    assert np.isfinite(json.loads(out)["logit"])
    # What the CLI does with an image file before the network sees it (the whole-image resize took 12 s, 5 GB).
    t0 = time.perf_counter()
    x = TF_LITE(load_image(tmp_path / "wide.png"))  # EfficientNet-Lite0's preprocessing
    assert tuple(x.shape) == (3, 224, 224) and time.perf_counter() - t0 < 2.0
