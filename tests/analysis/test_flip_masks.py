"""Flipping applies the mask exactly, in every fill mode, and refuses an empty mask."""

from __future__ import annotations

import pytest
import torch

from vislrp.analysis import FLIP_MODES, EmptyMaskError, apply_masks, fill_image, flip
from vislrp.zoo import IMAGENET


def identity(batch: torch.Tensor) -> torch.Tensor:
    """A 'network' whose logits are its input: the flipped image can be read back from the prediction."""
    return batch.flatten(1)


@pytest.mark.parametrize("mode", FLIP_MODES)
def test_mask_is_applied_exactly(mode: str) -> None:
    gen = torch.Generator().manual_seed(1)
    x = torch.randn((3, 20, 24), generator=gen)
    mask = torch.rand((20, 24), generator=gen) > 0.7
    black = IMAGENET.bounds()[0]
    out = flip(identity, x, mask, mode, black).view(3, 20, 24)  # type: ignore[arg-type]
    fill = fill_image(x, mode, black)  # type: ignore[arg-type]
    assert torch.equal(out[:, ~mask], x[:, ~mask])
    assert torch.equal(out[:, mask], fill[:, mask])
    assert not torch.equal(out[:, mask], x[:, mask])


def test_fill_values_follow_their_definitions() -> None:
    x = torch.randn((3, 9, 9), generator=torch.Generator().manual_seed(0))
    low = IMAGENET.bounds()[0]
    assert torch.equal(fill_image(x, "zero"), torch.zeros_like(x))
    assert torch.allclose(fill_image(x, "black", low), low.expand_as(x))
    assert torch.allclose(IMAGENET.denormalise(fill_image(x, "black", low)), torch.zeros_like(x), atol=1e-6)
    assert torch.allclose(fill_image(x, "mean"), x.mean((1, 2), keepdim=True).expand_as(x))
    blurred = fill_image(x, "blur")
    assert blurred.shape == x.shape and blurred.std() < x.std()
    constant = torch.full((3, 9, 9), 0.3)
    assert torch.allclose(fill_image(constant, "blur"), constant, atol=1e-6)  # weights sum to 1 at borders too
    with pytest.raises(ValueError, match="black"):
        fill_image(x, "black")


def test_batch_of_masks_and_bad_masks() -> None:
    x = torch.arange(2 * 3 * 3, dtype=torch.float32).view(2, 3, 3)
    masks = torch.zeros((2, 3, 3), dtype=torch.bool)
    masks[1, 0, 0] = True
    out = apply_masks(x, masks, torch.full_like(x, -1))
    assert torch.equal(out[0], x) and out[1, :, 0, 0].tolist() == [-1, -1] and torch.equal(out[1, :, 1:], x[:, 1:])
    with pytest.raises(EmptyMaskError, match="no pixel"):
        flip(identity, x, torch.zeros((3, 3), dtype=torch.bool))
    with pytest.raises(ValueError, match="mask"):
        flip(identity, x, torch.ones((4, 3), dtype=torch.bool))
