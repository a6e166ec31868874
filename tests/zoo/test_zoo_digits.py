"""The digits networks trained here (``digits_cnn``, ``digits_vit``) and the ``digits:I`` samples.

The test accuracy is recomputed here from scikit-learn's digits and the split of scripts/train_digits.py,
with this file's own image conversion, through ``load_model`` and the model's ``Preprocess``: it must be at
least 0.95 and equal what weights/digits.json states.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import vislrp.zoo
from vislrp.zoo import SAMPLES, UnknownSampleError, ZooModel, list_models, list_samples, load_model, load_sample
from vislrp.zoo.models import DIGITS_CNN_ARGS, DIGITS_VIT_ARGS
from vislrp.zoo.preprocessing import DIGITS

WEIGHTS = Path(vislrp.zoo.__file__).resolve().parent / "weights"
NETWORKS = ("digits_cnn", "digits_vit")


@pytest.fixture(scope="module")
def split() -> tuple[np.ndarray, np.ndarray]:
    """The test digits (values 0..16) and their classes, split as the issue states."""
    data = load_digits()
    _, x_test, _, y_test = train_test_split(data.images, data.target, test_size=0.2, random_state=0,
                                            stratify=data.target)
    return x_test, y_test


def _grey(digit: np.ndarray) -> Image.Image:
    """0..16 → 0..255 as an 8-bit grey image (this test's own conversion)."""
    return Image.fromarray(np.rint(digit * 255 / 16).astype(np.uint8), mode="L")


@pytest.fixture(scope="module")
def record() -> dict[str, dict[str, object]]:
    return json.loads((WEIGHTS / "digits.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", NETWORKS)
def test_test_accuracy_is_recomputed_and_recorded(name: str, split: tuple[np.ndarray, np.ndarray],
                                                  record: dict[str, dict[str, object]]) -> None:
    x_test, y_test = split
    zoo = load_model(name)
    assert zoo.preprocess is DIGITS and zoo.input_size == 32
    assert zoo.labels == [str(i) for i in range(10)]
    batch = torch.stack([zoo.preprocess(_grey(d)) for d in x_test])
    assert batch.shape == (360, 3, 32, 32)
    with torch.no_grad():
        predicted = zoo.module(batch).argmax(1).numpy()
    accuracy = float((predicted == y_test).mean())
    assert accuracy >= 0.95
    assert abs(accuracy - float(record[name]["test_accuracy"])) <= 1e-9  # type: ignore[arg-type]  # JSON number
    info = {m.name: m for m in list_models()}[name]
    assert info.test_accuracy == record[name]["test_accuracy"]
    assert record[name]["n_test"] == len(y_test) == 360


def test_record_matches_the_code(record: dict[str, dict[str, object]]) -> None:
    assert record["digits_cnn"]["architecture"] == DIGITS_CNN_ARGS
    assert record["digits_vit"]["architecture"] == DIGITS_VIT_ARGS
    for name in NETWORKS:
        entry = record[name]
        assert {"seed", "test_accuracy", "n_test", "epochs", "architecture", "torch"} <= set(entry)
        path = WEIGHTS / f"{name}.pt"
        assert path.stat().st_size <= 2 * 2**20
        state = torch.load(path, map_location="cpu", weights_only=True)
        assert all(v.dtype == torch.float32 for v in state.values())


def test_digits_vit_is_torchvisions_vision_transformer() -> None:
    module = load_model("digits_vit").module
    assert type(module) is torchvision.models.VisionTransformer
    assert (module.image_size, module.patch_size, module.hidden_dim) == (32, 4, DIGITS_VIT_ARGS["hidden_dim"])


def test_digits_cnn_is_a_plain_traceable_cnn() -> None:
    module = load_model("digits_cnn").module
    allowed = (torch.nn.Sequential, torch.nn.Conv2d, torch.nn.ReLU, torch.nn.MaxPool2d, torch.nn.Linear,
               torch.nn.BatchNorm2d, torch.nn.Flatten)
    assert all(isinstance(m, allowed) for m in module.modules())
    traced = torch.fx.symbolic_trace(module)
    x = torch.randn(2, 3, 32, 32)
    assert torch.equal(traced(x), module(x))


@pytest.mark.parametrize("name", NETWORKS)
def test_random_and_file_weights(name: str, tmp_path: Path) -> None:
    x = torch.randn(1, 3, 32, 32)
    a, b = load_model(name, "none", seed=1), load_model(name, "none", seed=1)
    assert torch.equal(a.module(x), b.module(x))
    assert float(a.module(x).std()) > 0  # digits_vit too: torchvision zero-initialises a ViT's head
    trained = load_model(name)
    assert not torch.allclose(a.module(x), trained.module(x))
    path = tmp_path / f"{name}.pt"
    torch.save(a.module.state_dict(), path)
    assert torch.equal(load_model(name, str(path)).module(x), a.module(x))


def _predicts(zoo: ZooModel, image: Image.Image) -> int:
    return zoo.predict(image, k=1)[0].index


def test_digit_samples_are_the_test_split(split: tuple[np.ndarray, np.ndarray]) -> None:
    x_test, y_test = split
    for i, digit in enumerate(x_test):
        image = load_sample(f"digits:{i}")
        assert image.size == (8, 8)
        assert np.array_equal(np.asarray(image.convert("L")), np.asarray(_grey(digit)))
        assert np.array_equal(np.asarray(image), np.asarray(_grey(digit).convert("RGB")))
    cnn = load_model("digits_cnn")
    assert _predicts(cnn, load_sample("digits:3")) == y_test[3]


@pytest.mark.parametrize("name", ["digits:360", "digits:-1", "digits:abc", "digits:", "digits:1.5", "digits: 3",
                                  "digits:1e2", "digits:\u0663"])
def test_bad_digit_indices(name: str) -> None:
    with pytest.raises(UnknownSampleError, match=r"0 to 359"):
        load_sample(name)


def test_list_samples_shows_ten_digits() -> None:
    names = list_samples()
    digits = [n for n in names if n.startswith("digits:")]
    assert digits == [f"digits:{i}" for i in range(10)]
    assert names[: len(names) - 10] == list_samples(digits=False)
    assert not any(n.startswith("digits:") for n in list_samples(digits=False))
    assert all(name in SAMPLES for name in names)  # the designer's picker describes each one
