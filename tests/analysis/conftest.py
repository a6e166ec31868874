"""Tiny networks whose flips and ablations can be computed by hand."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vislrp.lrp import LayerGraph, build_graph


class TwoChannelNet(nn.Module):
    """1x1 conv 1 → 2 channels (weights 1 and 2), global mean, linear [[1, 1], [1, -1]]: logits by hand."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 1, bias=False)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(2, 2, bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor([1.0, 2.0]).view(2, 1, 1, 1))
            self.fc.weight.copy_(torch.tensor([[1.0, 1.0], [1.0, -1.0]]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.flatten(self.pool(self.conv(x))))


class SharedConvNet(nn.Module):
    """One 1x1 conv module called twice: two layers, so ablating one call must leave the other alone."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 1, bias=False)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(2, 1, bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor([[1.0, 1.0], [0.0, 2.0]]).view(2, 2, 1, 1))
            self.fc.weight.fill_(1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.flatten(self.pool(self.conv(self.conv(x)))))


class SmallCNN(nn.Module):
    """Plain conv/ReLU/pool/linear stack with biases, for curves and conditional heatmaps."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 6, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(6 * 8 * 8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu2(self.conv2(self.relu1(self.conv1(x))))
        return self.fc(self.flatten(self.pool(x)))


@pytest.fixture
def two_channel() -> LayerGraph:
    return build_graph(TwoChannelNet(), (1, 2, 2))


@pytest.fixture
def shared_conv() -> LayerGraph:
    return build_graph(SharedConvNet(), (2, 2, 2))


@pytest.fixture
def small_cnn() -> LayerGraph:
    torch.manual_seed(0)
    net = SmallCNN().double().eval()
    return build_graph(net, (3, 16, 16))
