"""Relevance-ordered curves: orders, patches, AOPC, and batched curves equal step-by-step ones."""

from __future__ import annotations

import pytest
import torch

from vislrp.analysis import ORDERS, aopc, apply_masks, fill_image, flip_curve, rank_map, step_counts, step_masks
from vislrp.lrp import LayerGraph


def test_aopc_definition() -> None:
    assert aopc([3.0, 2.0, 1.0]) == pytest.approx((0 + 1 + 2) / 3)
    assert aopc([1.0, 1.5]) == pytest.approx(-0.25)


def test_orders_rank_pixels_and_patches() -> None:
    hm = torch.tensor([[4.0, 1.0], [3.0, -2.0]])
    morf, n = rank_map(hm, "morf")
    assert n == 4 and morf.tolist() == [[0, 2], [1, 3]]
    assert rank_map(hm, "lerf")[0].tolist() == [[3, 1], [2, 0]]
    rand, _ = rank_map(hm, "random", seed=3)
    assert sorted(rand.flatten().tolist()) == [0, 1, 2, 3] and torch.equal(rand, rank_map(hm, "random", seed=3)[0])
    big = torch.zeros((5, 5))
    big[4, 4] = 10.0  # the lone bottom-right edge patch (1x1) is the most relevant 2x2 unit
    big[0, 0] = 1.0
    ranks, units = rank_map(big, "morf", patch=2)
    assert units == 9 and ranks[4, 4] == 0 and (ranks[:2, :2] == 1).all()
    assert step_counts(9, 3) == [0, 3, 6, 9]
    masks = step_masks(big, "morf", 3, patch=2)
    assert masks.shape == (4, 5, 5) and not masks[0].any() and masks[-1].all()
    assert all((masks[k] <= masks[k + 1]).all() for k in range(3))  # nested


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("patch", [1, 3])
def test_batched_curve_equals_step_by_step(small_cnn: LayerGraph, order: str, patch: int) -> None:
    gen = torch.Generator().manual_seed(2)
    x = torch.randn((3, 16, 16), generator=gen, dtype=torch.float64)
    hm = torch.randn((16, 16), generator=gen, dtype=torch.float64)
    predict = small_cnn.gm
    curve = flip_curve(predict, x, hm, 1, order, steps=7, patch=patch, mode="mean", chunk=3)  # type: ignore[arg-type]
    masks = step_masks(hm, order, 7, patch)  # type: ignore[arg-type]
    fill = fill_image(x, "mean")
    with torch.no_grad():
        single = [predict(apply_masks(x, m, fill))[0] for m in masks]
    assert len(curve.logits) == 8 and curve.fractions[0] == 0 and curve.fractions[-1] == 1
    assert curve.logits == pytest.approx([float(s[1]) for s in single], abs=1e-12)
    assert curve.top1 == [int(s.argmax()) for s in single]
    with torch.no_grad():
        assert curve.logits[0] == pytest.approx(float(predict(x[None])[0, 1]), abs=1e-12)


def test_curve_forwards_are_batched(small_cnn: LayerGraph) -> None:
    calls: list[int] = []

    def counting(batch: torch.Tensor) -> torch.Tensor:
        calls.append(batch.shape[0])
        return small_cnn.gm(batch)

    x = torch.randn((3, 16, 16), dtype=torch.float64)
    flip_curve(counting, x, x.sum(0), 0, "morf", steps=20, chunk=16)
    assert calls == [16, 5]
