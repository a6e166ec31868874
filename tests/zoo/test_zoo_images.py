"""Image loading: samples and every rejection path of load_image."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vislrp.zoo import (
    DEFAULT_SAMPLE,
    MAX_BYTES,
    SAMPLES,
    ImageError,
    UnknownSampleError,
    imagenet_labels,
    list_samples,
    load_image,
    load_sample,
)
from vislrp.zoo.preprocessing import IMAGENET, TF_LITE


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg_bytes() -> bytes:
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


def _huge_bilevel_png(width: int, height: int) -> bytes:
    """A valid 1-bit PNG written by hand, so a 48 Mpx image costs a few MB of RAM and ~50 kB on disk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    pixels = zlib.compress(row * height, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def test_all_samples_load_as_rgb() -> None:
    names = list_samples()
    assert names[0] == DEFAULT_SAMPLE == "chelsea"
    assert set(names) == set(SAMPLES)  # all ship inside installed wheels
    for name in names:
        image = load_sample(name)
        assert image.mode == "RGB"
        # photos, then the 8x8 test digits (tests/zoo/test_zoo_digits.py)
        assert (image.size == (8, 8)) if name.startswith("digits:") else (min(image.size) >= 224)


def test_unknown_sample_lists_names() -> None:
    with pytest.raises(UnknownSampleError, match="chelsea") as info:
        load_sample("dog")
    assert isinstance(info.value, KeyError)
    assert isinstance(info.value, ValueError)


def test_load_image_path_and_bytes(tmp_path: Path) -> None:
    data = _png_bytes(Image.new("RGBA", (5, 4), (10, 20, 30, 0)))
    path = tmp_path / "a.png"
    path.write_bytes(data)
    for source in (path, str(path), data):
        image = load_image(source)
        assert image.mode == "RGB"
        assert image.size == (5, 4)
    assert load_image(data).getpixel((0, 0)) == (255, 255, 255)  # transparency on white


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="not found"):
        load_image(tmp_path / "missing.png")


def test_text_file_is_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello, not a picture\n")
    with pytest.raises(ImageError, match="not an image"):
        load_image(path)


def test_truncated_jpeg() -> None:
    data = _jpeg_bytes()
    with pytest.raises(ImageError, match="truncated"):
        load_image(data[: len(data) // 2])


def test_too_many_bytes(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="MB limit"):
        load_image(b"\0" * (MAX_BYTES + 1))
    path = tmp_path / "big.bin"
    with path.open("wb") as handle:
        handle.truncate(MAX_BYTES + 1)  # sparse file: no real disk use
    with pytest.raises(ImageError, match="MB limit"):
        load_image(path)


def test_too_many_pixels_rejected_before_decoding() -> None:
    data = _huge_bilevel_png(8000, 6000)
    assert Image.open(io.BytesIO(data)).size == (8000, 6000)
    with pytest.raises(ImageError, match=r"8000x6000.*Mpx limit"):
        load_image(data)


def test_preprocess_shapes_and_bounds() -> None:
    image = load_sample("coffee")
    for prep in (IMAGENET, TF_LITE):
        x = prep(image)
        assert x.shape == (3, 224, 224)
        assert x.dtype == torch.float32
        low, high = prep.bounds()
        assert low.shape == high.shape == (3, 1, 1)
        assert torch.all(x >= low - 1e-5) and torch.all(x <= high + 1e-5)
        restored = prep.denormalise(x)
        pixels = np.asarray(prep.crop_image(image), dtype=np.float32) / 255
        expected = torch.from_numpy(pixels).permute(2, 0, 1)
        assert torch.allclose(restored, expected, atol=1e-5)
    low, high = TF_LITE.bounds()
    assert torch.allclose(low, torch.full((3, 1, 1), -127 / 128))
    assert torch.allclose(high, torch.full((3, 1, 1), 1.0))
    low, high = IMAGENET.bounds()
    assert torch.allclose(low[:, 0, 0], torch.tensor([-0.485 / 0.229, -0.456 / 0.224, -0.406 / 0.225]))
    assert torch.allclose(high[:, 0, 0], torch.tensor([0.515 / 0.229, 0.544 / 0.224, 0.594 / 0.225]))


def test_crop_image_is_what_the_model_sees() -> None:
    tall = Image.new("L", (300, 600), 128)
    crop = IMAGENET.crop_image(tall)
    assert crop.mode == "RGB"
    assert crop.size == (224, 224)


def test_imagenet_labels_offline() -> None:
    labels = imagenet_labels()
    assert len(labels) == 1000
    assert labels[281] == "tabby" and labels[967] == "espresso"
    labels.clear()  # callers get a copy; the cache is unharmed
    assert len(imagenet_labels()) == 1000
