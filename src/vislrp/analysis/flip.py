"""Pixel flipping: replace chosen pixels of a model input and see what the network predicts then.

Flipping is how users test a heatmap (the paper's V5): if the pixels a heatmap calls relevant
matter, replacing them should lower the target's score. What a "removed" pixel becomes is a choice,
so five fill modes are offered; ``zero`` is the paper's, ``road`` (ROAD's imputation) hides the removal best.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

import torch
import torch.nn.functional as F

FlipMode = Literal["zero", "black", "blur", "mean"]
FLIP_MODES: tuple[str, ...] = get_args(FlipMode)
"""Fills that are one image whatever the mask (see :func:`fill_image`)."""
FillMode = Literal["zero", "black", "blur", "mean", "road"]
FILL_MODES: tuple[str, ...] = get_args(FillMode)
"""Every fill: the constant ones plus ``road``, ROAD's noisy linear imputation, which depends on the mask."""
DEFAULT_FILL: FlipMode = "zero"
"""The paper's fill, and the default of every flip, curve and metric."""
ROAD: FillMode = "road"
"""ROAD's noisy linear imputation (Rong et al. 2022), the fill that depends on the mask."""
BLUR_SIGMA = 6.0
"""Standard deviation (pixels) of the Gaussian used by the ``blur`` mode."""


@dataclass(frozen=True)
class Fill:
    """One fill mode as the CLI and the designer describe it."""

    name: FillMode
    label: str
    description: str
    per_mask: bool = False
    """The fill depends on the mask (ROAD): curves and metrics take it, a flip of brushed regions does not."""


FILLS: dict[str, Fill] = {
    f.name: f
    for f in (
        Fill("zero", "zero (model input 0, as the paper)",
             "model-input value 0: the dataset mean after normalisation, the paper's choice"),
        Fill("black", "black pixels", "pixel value 0, normalised like the image"),
        Fill("blur", "blurred",
             f"a Gaussian-blurred copy (σ = {BLUR_SIGMA:g} px): flipped regions lose detail but keep their colour"),
        Fill("mean", "image mean", "the image's own per-channel mean"),
        Fill("road", "ROAD imputation", "ROAD's noisy linear imputation from the pixels around (depends on the mask)",
             per_mask=True),
    )
}
"""Every fill, in :data:`FILL_MODES` order, with its label and description."""
assert tuple(FILLS) == FILL_MODES and tuple(k for k, f in FILLS.items() if not f.per_mask) == FLIP_MODES
DEFAULT_CHUNK = 16
"""Images per forward call when many flipped copies run: keeps peak memory bounded."""

Predict = Callable[[torch.Tensor], torch.Tensor]
"""A plain batched forward: (B, C, H, W) model inputs → (B, classes) logits."""


class EmptyMaskError(ValueError):
    """A flip with no pixel selected: nothing would change, so it is refused rather than run."""


def fill_image(x: torch.Tensor, mode: FlipMode | FillMode, black: torch.Tensor | None = None) -> torch.Tensor:
    """What flipped pixels of ``x`` (C, H, W) become, as a full (C, H, W) image.

    ``zero``: model-input value 0 (the dataset mean after normalisation, the paper's choice);
    ``black``: pixel value 0, i.e. ``black`` (C, 1, 1), the normalised image of 0 (preprocess bounds);
    ``mean``: the image's own per-channel mean; ``blur``: a Gaussian-blurred copy (σ = BLUR_SIGMA px),
    so flipped regions lose detail but keep their colour.
    """
    if x.dim() != 3:
        raise ValueError(f"expected one (C, H, W) image, got shape {tuple(x.shape)}")
    if mode == "zero":
        return torch.zeros_like(x)
    if mode == "black":
        if black is None:
            raise ValueError("the 'black' mode needs the normalised value of pixel 0 (the preprocess bounds)")
        return black.to(x).reshape(-1, 1, 1).expand_as(x).clone()
    if mode == "mean":
        return x.mean(dim=(1, 2), keepdim=True).expand_as(x).clone()
    if mode == "blur":
        return gaussian_blur(x, BLUR_SIGMA)
    if mode == "road":
        raise ValueError("the 'road' fill depends on the mask: use flipped_images")
    raise ValueError(f"unknown flip mode {mode!r}; choose one of {', '.join(FLIP_MODES)}")


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of a (C, H, W) image with reflected borders."""
    radius = max(1, math.ceil(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = k / k.sum()
    c = x.shape[0]
    img = x.unsqueeze(0)
    pad_h, pad_w = min(radius, x.shape[1] - 1), min(radius, x.shape[2] - 1)
    img = F.pad(img, (pad_w, pad_w, pad_h, pad_h), mode="reflect")
    kh = k[radius - pad_h: radius + pad_h + 1]
    kw = k[radius - pad_w: radius + pad_w + 1]
    img = F.conv2d(img, kh.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
    img = F.conv2d(img, kw.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return img[0] / (kh.sum() * kw.sum())


def apply_masks(x: torch.Tensor, masks: torch.Tensor, fill: torch.Tensor) -> torch.Tensor:
    """One flipped copy of ``x`` (C, H, W) per mask in ``masks`` (B, H, W) or (H, W): True pixels take ``fill``."""
    if masks.dim() == 2:
        masks = masks.unsqueeze(0)
    if masks.shape[-2:] != x.shape[-2:]:
        raise ValueError(f"the mask is {tuple(masks.shape[-2:])} but the image is {tuple(x.shape[-2:])}")
    return torch.where(masks.to(torch.bool, copy=False).unsqueeze(1).to(x.device), fill.unsqueeze(0), x.unsqueeze(0))


def predict_batched(predict: Predict, inputs: torch.Tensor, chunk: int = DEFAULT_CHUNK) -> torch.Tensor:
    """Logits of many inputs in a few forward calls of at most ``chunk`` images each."""
    if chunk < 1:
        raise ValueError("chunk must be at least 1")
    with torch.no_grad():
        outs = [predict(inputs[i: i + chunk]) for i in range(0, inputs.shape[0], chunk)]
    return torch.cat(outs, 0)


def flipped_images(x: torch.Tensor, masks: torch.Tensor, mode: FillMode, black: torch.Tensor | None = None,
                   noise: torch.Tensor | None = None, fill: torch.Tensor | None = None) -> torch.Tensor:
    """One flipped copy of ``x`` (C, H, W) per mask (B, H, W), in any fill mode.

    ``road`` imputes each mask's pixels from the rest of the image (plus ``noise``, a (C, H, W) field);
    the other modes take ``fill`` (computed by :func:`fill_image` when not given).
    """
    if masks.dim() == 2:
        masks = masks.unsqueeze(0)
    if mode == "road":
        from .imputation import road_impute

        return torch.stack([road_impute(x, m, noise) for m in masks]) if masks.shape[0] else x[:0]
    return apply_masks(x, masks, fill if fill is not None else fill_image(x, mode, black))


def flip(predict: Predict, x: torch.Tensor, mask: torch.Tensor, mode: FillMode = DEFAULT_FILL,
         black: torch.Tensor | None = None) -> torch.Tensor:
    """Logits (classes,) of ``x`` with the pixels of ``mask`` (H, W, bool) flipped; an empty mask is refused."""
    if mask.dim() != 2:
        raise ValueError(f"the mask must be (H, W), got shape {tuple(mask.shape)}")
    if not bool(mask.any()):
        raise EmptyMaskError("the mask selects no pixel: brush some pixels to flip first")
    if mask.shape != x.shape[1:]:
        raise ValueError(f"the mask is {tuple(mask.shape)} but the image is {tuple(x.shape[1:])}")
    return predict_batched(predict, flipped_images(x, mask, mode, black))[0]
