"""A network small enough that a designer server starts in a few seconds (for the fault tests)."""

from __future__ import annotations

from torch import nn


def tiny() -> nn.Module:
    """Conv, ReLU, average pool, linear: 10 classes on a 224 px input."""
    return nn.Sequential(
        nn.Conv2d(3, 4, kernel_size=8, stride=8),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 10),
    )
