"""Pixel flipping with brushed regions that each have their own fill mode (the designer's brushes).

One forward shows the effect of, say, blurring the background while zeroing the object: each region's
pixels take their own mode's fill image, everything else stays.
"""

from __future__ import annotations

import torch

from vislrp.analysis.flip import EmptyMaskError, FlipMode, Predict, apply_masks, fill_image, predict_batched


def flip_regions(predict: Predict, x: torch.Tensor, labels: torch.Tensor, modes: list[FlipMode] | tuple[FlipMode, ...],
                 black: torch.Tensor | None = None) -> torch.Tensor:
    """Logits (classes,) of ``x`` with each brushed region flipped in its own mode.

    ``labels`` (H, W) holds 0 for kept pixels and k for pixels flipped with ``modes[k - 1]``, so one
    forward shows the effect of, say, blurring the background while zeroing the object.
    """
    if labels.dim() != 2 or labels.shape != x.shape[1:]:
        raise ValueError(f"the region labels must be (H, W) = {tuple(x.shape[1:])}, got {tuple(labels.shape)}")
    top = int(labels.max()) if labels.numel() else 0
    if top > len(modes) or int(labels.min()) < 0:
        raise ValueError(f"region label {top} has no fill mode: {len(modes)} given")
    if top == 0:
        raise EmptyMaskError("the mask selects no pixel: brush some pixels to flip first")
    fill = x.clone()
    for k, mode in enumerate(modes, start=1):
        region = labels == k
        if bool(region.any()):
            fill = torch.where(region.unsqueeze(0), fill_image(x, mode, black), fill)
    return predict_batched(predict, apply_masks(x, labels != 0, fill))[0]
