"""Hostile uploads (issue 12, points 2 and 7): extreme aspect ratios, 16-bit and float pixels, odd modes.

Expected values are computed by hand (a 16-bit value v shows as round(v / 257)), or with the old
resize-the-whole-image-then-crop path on sizes where that path is still affordable.
"""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

from vislrp.zoo import ImageError, ImageTooLarge, load_image
from vislrp.zoo.preprocessing import IMAGENET, TF_LITE


def encode(image: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()


def full_resize_then_crop(image: Image.Image, resize: int = 256, crop: int = 224) -> np.ndarray:
    """The pre-fix path: resize the shorter side to ``resize`` over the whole image, then centre-crop."""
    w, h = image.size
    if w <= h:
        nw, nh = resize, max(resize, int(resize * h / w))
    else:
        nw, nh = max(resize, int(resize * w / h)), resize
    big = image.convert("RGB").resize((nw, nh), Image.Resampling.BILINEAR)
    left, top = round((nw - crop) / 2), round((nh - crop) / 2)
    return np.asarray(big.crop((left, top, left + crop, top + crop)), dtype=np.int16)


# ---------------------------------------------------------------------- point 2: the resize
@pytest.mark.parametrize("size", [(20000, 1), (1, 20000), (100_000, 1), (3, 40_000)])
def test_extreme_aspect_ratio_costs_the_crop_not_the_resize(size: tuple[int, int]) -> None:
    image = load_image(encode(Image.new("RGB", size, (200, 100, 50))))
    t0 = time.perf_counter()
    crop = IMAGENET.crop_image(image)
    x = TF_LITE(image)
    elapsed = time.perf_counter() - t0
    assert crop.size == (224, 224) and tuple(x.shape) == (3, 224, 224)
    assert np.asarray(crop).reshape(-1, 3).tolist().count([200, 100, 50]) == 224 * 224
    assert elapsed < 1.0  # the whole-image resize took 12 s and 5 GB for 1x20000


@pytest.mark.parametrize("size", [(640, 480), (480, 640), (60, 2400), (2400, 60), (225, 224), (31, 17)])
def test_crop_matches_resizing_the_whole_image(size: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(size))
    image = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    got = np.asarray(IMAGENET.crop_image(image), dtype=np.int16)
    # Resampling only the crop's box uses the same filter taps; float rounding may move a value by 1.
    assert np.abs(got - full_resize_then_crop(image)).max() <= 1


# ---------------------------------------------------------------------- point 7: bit depth
@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
@pytest.mark.parametrize("value", [0, 257, 20000, 65535])
def test_16_bit_grey_is_scaled_not_clipped(fmt: str, value: int) -> None:
    data = encode(Image.fromarray(np.full((8, 8), value, dtype=np.uint16)), fmt)
    assert Image.open(io.BytesIO(data)).mode.startswith("I;16")
    image = load_image(data)
    assert image.mode == "RGB"
    assert image.getpixel((3, 3)) == (round(value / 257),) * 3


def test_16_bit_gradient_keeps_its_order() -> None:
    ramp = np.linspace(0, 65535, 64, dtype=np.uint16)[None, :].repeat(4, 0)
    grey = np.asarray(load_image(encode(Image.fromarray(ramp))))[0, :, 0].astype(int)
    assert np.all(np.diff(grey) >= 0) and grey[0] == 0 and grey[-1] == 255
    assert np.abs(grey - np.round(ramp[0] / 257)).max() == 0


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (np.full((4, 4), 0.5, np.float32), 128),  # float in [0, 1]: x 255
        (np.full((4, 4), 77.0, np.float32), 77),  # float in [0, 255]: as is
        (np.array([[-10.0, 30.0]], np.float32), (0, 255)),  # other range: stretched
    ],
)
def test_float_images_scale_by_their_range(values: np.ndarray, expected: int | tuple[int, int]) -> None:
    image = np.asarray(load_image(encode(Image.fromarray(values), "TIFF")))[..., 0]
    if isinstance(expected, tuple):
        assert (int(image.min()), int(image.max())) == expected
    else:
        assert np.all(image == expected)


def test_32_bit_integer_image_in_16_bit_range() -> None:
    image = load_image(encode(Image.fromarray(np.full((4, 4), 40000, np.int32)), "TIFF"))
    assert image.getpixel((0, 0)) == (round(40000 / 257),) * 3


def test_float_image_with_nan_is_refused() -> None:
    values = np.full((4, 4), 0.5, np.float32)
    values[1, 1] = np.nan
    with pytest.raises(ImageError, match="NaN"):
        load_image(encode(Image.fromarray(values), "TIFF"))


@pytest.mark.parametrize("mode", ["1", "L", "P", "LA", "PA", "CMYK", "YCbCr", "LAB", "HSV", "RGBA", "I", "F"])
def test_every_pillow_mode_becomes_rgb_or_a_clear_error(mode: str) -> None:
    image = Image.new(mode, (9, 7))
    fmt = "TIFF" if mode in ("CMYK", "YCbCr", "LAB", "HSV", "I", "F") else "PNG"
    try:
        data = encode(image, fmt)
    except (OSError, ValueError, KeyError):
        pytest.skip(f"Pillow cannot write mode {mode} as {fmt}")
    try:
        out = load_image(data)
    except ImageError:
        return
    assert out.mode == "RGB" and out.size == (9, 7)


def test_size_errors_are_too_large_errors() -> None:
    with pytest.raises(ImageTooLarge):
        load_image(b"\0" * (21 * 2**20))
