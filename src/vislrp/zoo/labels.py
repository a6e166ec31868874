"""ImageNet class names, available offline.

torchvision ships the 1000 category names inside its weights metadata, so reading them needs no download
(only the weight *files* are fetched from the network).
"""

from __future__ import annotations

import functools

import torchvision


@functools.cache
def _imagenet_labels() -> tuple[str, ...]:
    """Read once; a tuple so the cached value cannot be mutated by a caller."""
    categories = torchvision.models.VGG16_Weights.IMAGENET1K_V1.meta["categories"]
    return tuple(str(name) for name in categories)


def imagenet_labels() -> list[str]:
    """The 1000 ImageNet-1k class names in the standard index order (a fresh list per call)."""
    return list(_imagenet_labels())
