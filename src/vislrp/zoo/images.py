"""Loading user images safely, a gallery of sample photos that ship with installed packages, and the test
images of scikit-learn's 8×8 digits (``digits:I``) for the digits networks trained here.

Users upload arbitrary files, so every failure mode (missing, huge, not an image, truncated, decompression
bomb) becomes one ``ImageError`` whose message names the problem instead of a PIL traceback.
"""

from __future__ import annotations

import functools
import importlib.resources
import io
import pathlib
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000

DEFAULT_SAMPLE = "chelsea"

_LIMIT_MB = MAX_BYTES // 2**20


class ImageError(ValueError):
    """The given file or bytes cannot be used as an input image."""


class ImageTooLarge(ImageError):
    """The file or its pixel count is over the limit (HTTP 413 in the designer)."""


_ONE_BYTE_MODES = frozenset({"1", "L", "P"})
_HIGH_BIT_MODES = frozenset({"I", "F"})
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "La", "RGBa"})


@dataclass(frozen=True)
class ImageHeader:
    """What an image's header says before any pixel is decoded (Pillow opens files lazily)."""

    width: int
    height: int
    mode: str
    format: str
    alpha: bool
    deep: bool = False
    """Samples of 16 bits in the file (a 16-bit RGBA PNG decodes to 8-bit RGBA, through 16-bit rows)."""

    @property
    def pixels(self) -> int:
        return self.width * self.height

    def decode_bytes(self, scale: int = 1) -> int:
        """Peak memory :func:`load_image` takes to decode this image with ``scale`` (see there), pixels and all.

        Pillow keeps 1 byte a pixel for 1/L/P, 2 for 16-bit grey and 4 for everything else (RGB included). On top
        of the decoded image come the conversions to RGB: for an image with alpha, the white background, the
        composite and the RGB result (12 bytes a pixel); for 16/32-bit grey, numpy's float64 scaling (about 36
        bytes a pixel, then 4 for RGB); for the rest, 4 for the RGB copy. With ``scale`` > 1 the conversions work
        on the smaller image, and so does the decode itself for a JPEG (whose decoder scales by 1/2, 1/4 or 1/8).
        """
        mode = self.mode
        per_pixel = 1 if mode in _ONE_BYTE_MODES else 2 if mode.startswith("I;16") else 4
        # what a decode holds beyond the image: measured 549 MB for a 6000x6000 16-bit RGBA PNG at scale 1, and
        # 289 MB at scale 3, where 8-bit samples would give 198; counted as twice the image's own bytes
        decode_per_pixel = max(per_pixel, 2 * len(mode) if self.deep and mode in ("RGB", "RGBA", "LA") else 0)
        small = -(-self.width // scale) * -(-self.height // scale)
        if self.alpha:
            convert = 12
        elif mode.startswith("I") or mode in _HIGH_BIT_MODES:
            convert = per_pixel + 36 + 4
        else:
            convert = 4
        draft = 1
        while self.format == "JPEG" and draft * 2 <= min(scale, 8):
            draft *= 2  # the JPEG decoder's own scale: the largest of 1/2, 1/4, 1/8 that keeps the size asked for
        decoded = -(-self.width // draft) * -(-self.height // draft) * decode_per_pixel
        reduced = small * per_pixel if scale > draft else 0
        return decoded + reduced + small * convert


class UnknownSampleError(KeyError, ValueError):
    """No sample photo has the requested name (a KeyError for dict-like use, a ValueError for CLIs)."""

    def __str__(self) -> str:
        # KeyError would repr() the message, wrapping it in quotes.
        return str(self.args[0]) if self.args else ""


def _read_source(source: str | pathlib.Path | bytes) -> tuple[bytes, str]:
    """Return the raw bytes and a short name for messages, enforcing the size limit before reading."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if len(data) > MAX_BYTES:
            raise ImageTooLarge(f"image data is {len(data) / 2**20:.1f} MB, over the {_LIMIT_MB} MB limit")
        return data, "image data"
    path = pathlib.Path(source)
    if not path.exists():
        raise ImageError(f"image file not found: {path}")
    if not path.is_file():
        raise ImageError(f"not a file: {path}")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise ImageTooLarge(f"image file {path} is {size / 2**20:.1f} MB, over the {_LIMIT_MB} MB limit")
    try:
        return path.read_bytes(), str(path)
    except OSError as exc:
        raise ImageError(f"cannot read image file {path}: {exc}") from exc


def _to_8bit(image: Image.Image, name: str) -> Image.Image:
    """A one-channel image deeper than 8 bits as 8-bit grey ("L"), scaled rather than clipped.

    Pillow's own conversion clips such values at 255, which turns a 16-bit photo white. 16-bit modes
    scale by 255/65535. 32-bit integer and float images have no fixed range, so their values decide:
    0..255 stays, 0..1 (float) and 0..65535 (integer) scale to 0..255, anything else is stretched
    from its minimum to its maximum.
    """
    arr = np.asarray(image)
    if image.mode.startswith("I;16"):
        scaled = arr.astype(np.float64) / 257.0
    else:
        values = arr.astype(np.float64)
        if not np.isfinite(values).all():
            raise ImageError(f"{name} holds NaN or infinite pixel values")
        low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
        if low >= 0 and high <= 1 and image.mode == "F":
            scaled = values * 255.0
        elif low >= 0 and high <= 255:
            scaled = values
        elif low >= 0 and high <= 65535 and image.mode != "F":
            scaled = values / 257.0
        else:
            scaled = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), mode="L")


def _to_rgb(image: Image.Image, name: str = "the image") -> Image.Image:
    """RGB with transparent areas on white (not black), which is how people see such images."""
    if image.mode.startswith("I") or image.mode == "F":
        image = _to_8bit(image, name)
    has_alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        image.mode == "P" and "transparency" in image.info
    )
    try:
        if not has_alpha:
            return image.convert("RGB")
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
    except ValueError as exc:  # a mode Pillow cannot turn into RGB (e.g. premultiplied grey)
        raise ImageError(f"{name} has pixel mode {image.mode}, which cannot be converted to RGB: {exc}") from None
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _open(data: bytes, name: str) -> Image.Image:
    """The image behind ``data``, opened lazily (header only), or ImageError / ImageTooLarge."""
    if not data:
        raise ImageError(f"{name} is empty")
    try:
        image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(f"{name} has too many pixels (limit {MAX_PIXELS:,}): {exc}") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"{name} is not an image in a readable format "
                         "(PNG, JPEG, GIF, BMP, TIFF or WebP)") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{name} is not a readable image: {exc}") from exc
    width, height = image.size
    # Checked on the header alone, before any pixel is decoded.
    if width * height > MAX_PIXELS:
        raise ImageTooLarge(
            f"{name} is {width}x{height} = {width * height / 1e6:.1f} Mpx, "
            f"over the {MAX_PIXELS / 1e6:.0f} Mpx limit"
        )
    if width <= 0 or height <= 0:
        raise ImageError(f"{name} has an empty size {width}x{height}")
    return image


def _header(image: Image.Image) -> ImageHeader:
    alpha = image.mode in _ALPHA_MODES or (image.mode == "P" and "transparency" in image.info)
    tile = getattr(image, "tile", None)  # an opened file's decoder plan: its raw sample layout, before decoding
    rawmode = tile[0][3] if tile else ""
    rawmode = rawmode[0] if isinstance(rawmode, tuple) and rawmode else rawmode
    deep = isinstance(rawmode, str) and ";16" in rawmode
    return ImageHeader(image.size[0], image.size[1], image.mode, str(image.format or ""), alpha, deep)


def read_header(source: str | pathlib.Path | bytes) -> ImageHeader:
    """Size, mode and format of an image file or bytes, read from its header without decoding a pixel (the same
    checks as :func:`load_image`: ImageError for what is not an image, ImageTooLarge over the limits)."""
    data, name = _read_source(source)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return _header(_open(data, name))


def load_image(source: str | pathlib.Path | bytes, *, scale: int = 1) -> Image.Image:
    """Read a file path or raw bytes into a fully decoded RGB image, or raise ``ImageError``.

    ``scale`` > 1 shrinks the image by about that factor as early as the format allows: a JPEG decodes at 1/2, 1/4
    or 1/8 of its size (Pillow's ``draft``), any other format is shrunk right after decoding, before the
    conversions to RGB. :meth:`ImageHeader.decode_bytes` gives the memory either way takes.
    """
    data, name = _read_source(source)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = _open(data, name)
        width, height = image.size
        small = (-(-width // scale), -(-height // scale))
        try:
            if scale > 1 and image.format == "JPEG":
                image.draft(image.mode, small)
            image.load()  # force a full decode so truncated files fail here, not later
            if scale > 1 and image.size != small:
                # reduce() averages scale×scale blocks without a premultiplied copy of the full image (resize()
                # makes one for alpha); the modes it lacks (16-bit grey, palette, 1-bit) have no alpha to copy
                shrink = image.reduce if image.mode not in ("I;16", "I;16B", "I;16L", "P", "1") else None
                image = shrink(scale) if shrink and image.size == (small[0] * scale, small[1] * scale) \
                    else image.resize(small, Image.Resampling.BOX)
            # in place: no copy of a (possibly huge) image that needs no turning
            ImageOps.exif_transpose(image, in_place=True)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageTooLarge(f"{name} has too many pixels (limit {MAX_PIXELS:,}): {exc}") from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise ImageError(f"{name} is truncated or corrupt and cannot be decoded: {exc}") from exc
    return _to_rgb(image, name)


def _package_file(package: str, *parts: str) -> Callable[[], pathlib.Path]:
    """Locate a data file inside an installed package without importing heavy code or downloading."""

    def locate() -> pathlib.Path:
        return pathlib.Path(str(importlib.resources.files(package).joinpath(*parts)))

    return locate


def _matplotlib_sample(name: str) -> Callable[[], pathlib.Path]:
    def locate() -> pathlib.Path:
        import matplotlib

        return pathlib.Path(matplotlib.get_data_path()) / "sample_data" / name

    return locate


# Only photos stored inside installed wheels: skimage's fetcher would try the network for others.
_SAMPLE_FILES: dict[str, Callable[[], pathlib.Path]] = {
    "chelsea": _package_file("skimage", "data", "chelsea.png"),
    "coffee": _package_file("skimage", "data", "coffee.png"),
    "astronaut": _package_file("skimage", "data", "astronaut.png"),
    "rocket": _package_file("skimage", "data", "rocket.jpg"),
    "china": _package_file("sklearn.datasets", "images", "china.jpg"),
    "flower": _package_file("sklearn.datasets", "images", "flower.jpg"),
    "grace_hopper": _matplotlib_sample("grace_hopper.jpg"),
}

SAMPLES: dict[str, str] = {
    "chelsea": "Chelsea the cat (scikit-image)",
    "coffee": "a cup of coffee on a saucer (scikit-image)",
    "astronaut": "astronaut Eileen Collins, portrait (scikit-image)",
    "rocket": "a rocket on the launch pad (scikit-image)",
    "china": "a Chinese temple (scikit-learn)",
    "flower": "a flower close-up (scikit-learn)",
    "grace_hopper": "Rear Admiral Grace Hopper in uniform (matplotlib)",
}

DIGITS_PREFIX = "digits:"
"""``digits:I``: test image I of scikit-learn's 8×8 digits, split as the digits networks were trained."""

N_DIGITS_TEST = 360
"""Test images of the split (20 % of 1797): ``digits:0`` … ``digits:359``."""

N_DIGITS_LISTED = 10
"""How many of them ``list_samples`` names (``digits:0`` … ``digits:9``), so pickers show a few."""

SAMPLES.update({f"{DIGITS_PREFIX}{i}": f"handwritten digit, test image {i} of scikit-learn's 8×8 digits "
                f"({DIGITS_PREFIX}0 … {DIGITS_PREFIX}{N_DIGITS_TEST - 1})" for i in range(N_DIGITS_LISTED)})


def _sample_path(name: str) -> pathlib.Path | None:
    try:
        path = _SAMPLE_FILES[name]()
    except (ModuleNotFoundError, OSError):
        return None
    return path if path.is_file() else None


def list_samples(*, digits: bool = True) -> list[str]:
    """Names of the samples present in this installation: the photos, default first, then ``digits:0`` …
    ``digits:9`` (all 360 test digits load; ``digits=False`` lists the photos only)."""
    return [name for name in SAMPLES
            if (digits if name.startswith(DIGITS_PREFIX) else _sample_path(name) is not None)]


def sample_available(name: str) -> bool:
    """Whether ``load_sample(name)`` can load it here: a photo whose file is installed, or any of the 360 test
    digits (``list_samples`` names only the first ten)."""
    if name.startswith(DIGITS_PREFIX):
        index = name.removeprefix(DIGITS_PREFIX)
        return index.isdigit() and int(index) < N_DIGITS_TEST
    return name in SAMPLES and _sample_path(name) is not None


@functools.lru_cache(maxsize=1)
def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's 8×8 digits (values 0..16) split as the digits networks were trained and tested:
    ``train_test_split(images, target, test_size=0.2, random_state=0, stratify=target)``, i.e.
    ``(x_train, x_test, y_train, y_test)``. Read-only arrays (cached); the data ship with scikit-learn."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    parts = train_test_split(data.images, data.target, test_size=0.2, random_state=0, stratify=data.target)
    for part in parts:
        part.setflags(write=False)
    x_train, x_test, y_train, y_test = parts
    return x_train, x_test, y_train, y_test


def digit_image(pixels: np.ndarray) -> Image.Image:
    """One 8×8 digit of values 0..16 as an 8×8 RGB image (grey replicated), 0..16 scaled to 0..255."""
    values = np.asarray(pixels, dtype=np.float64)
    if values.shape != (8, 8):
        raise ImageError(f"a digit is 8×8 pixels, got shape {values.shape}")
    grey = np.clip(np.rint(values * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    return Image.fromarray(grey, mode="L").convert("RGB")


def _load_digit(name: str) -> Image.Image:
    index = name.removeprefix(DIGITS_PREFIX)
    if not re.fullmatch(r"[0-9]+", index) or int(index) >= N_DIGITS_TEST:
        raise UnknownSampleError(
            f"unknown sample {name!r}: {DIGITS_PREFIX}I takes a test image index I from 0 to {N_DIGITS_TEST - 1}"
        )
    return digit_image(digits_split()[1][int(index)])


def load_sample(name: str = DEFAULT_SAMPLE) -> Image.Image:
    """Load a sample photo by name, or ``digits:I`` (test digit I, 8×8), as RGB."""
    if name.startswith(DIGITS_PREFIX):
        return _load_digit(name)
    if name not in SAMPLES:
        raise UnknownSampleError(f"unknown sample {name!r}; available: {', '.join(list_samples())}")
    path = _sample_path(name)
    if path is None:
        raise UnknownSampleError(
            f"sample {name!r} is not installed here; available: {', '.join(list_samples())}"
        )
    return load_image(path)
