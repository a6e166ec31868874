"""Brushed regions with their own fill mode: one forward of the image with each region filled its way."""

from __future__ import annotations

import pytest
import torch

from vislrp.analysis.flip import EmptyMaskError, flip
from vislrp.analysis.regions import flip_regions


def linear_predict(weight: torch.Tensor):  # type: ignore[no-untyped-def]
    return lambda batch: batch.flatten(1) @ weight


def test_each_region_takes_its_own_fill() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 8, 8, generator=g, dtype=torch.float64)
    weight = torch.randn(3 * 8 * 8, 5, generator=g, dtype=torch.float64)
    black = torch.tensor([-2.0, -1.5, -1.0], dtype=torch.float64)
    labels = torch.zeros(8, 8, dtype=torch.int64)
    labels[:3, :3] = 1  # zero
    labels[5:, 5:] = 2  # the image's own channel means
    labels[0, 7] = 3  # black
    # The reference image, filled by hand.
    ref = x.clone()
    ref[:, :3, :3] = 0.0
    ref[:, 5:, 5:] = x.mean(dim=(1, 2))[:, None, None]
    ref[:, 0, 7] = black
    want = ref.flatten() @ weight
    got = flip_regions(linear_predict(weight), x, labels, ["zero", "mean", "black"], black)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


def test_one_region_is_a_plain_flip_and_bad_labels_are_refused() -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 6, 6, generator=g, dtype=torch.float64)
    weight = torch.randn(3 * 6 * 6, 4, generator=g, dtype=torch.float64)
    labels = torch.zeros(6, 6, dtype=torch.int64)
    labels[1:4, 2:5] = 1
    predict = linear_predict(weight)
    torch.testing.assert_close(flip_regions(predict, x, labels, ["blur"]), flip(predict, x, labels != 0, "blur"))
    with pytest.raises(ValueError, match="no fill mode"):
        flip_regions(predict, x, labels * 2, ["zero"])
    with pytest.raises(EmptyMaskError):
        flip_regions(predict, x, torch.zeros(6, 6, dtype=torch.int64), ["zero"])
