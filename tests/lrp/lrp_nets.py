"""Small CNNs for exact tests: every weighted-layer variant the engine handles (stride, padding,
groups, linear), with non-trivial biases."""

from __future__ import annotations

import torch
from torch import nn


class SmallNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(6, 6, 3, stride=2, padding=1, groups=3)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(6, 4, 1)
        self.relu3 = nn.ReLU()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(4 * 4 * 4, 8)
        self.relu4 = nn.ReLU()
        self.fc2 = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu1(self.conv1(x))
        x = self.relu2(self.conv2(x))
        x = self.relu3(self.conv3(x))
        return self.fc2(self.relu4(self.fc1(self.flatten(x))))


def small_net(seed: int = 0, dtype: torch.dtype = torch.float64) -> SmallNet:
    torch.manual_seed(seed)
    net = SmallNet().to(dtype).eval()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.bias.uniform_(-0.2, 0.2)
    return net


class PoolResNet(nn.Module):
    """Max-pool, a residual add, a BatchNorm and an adaptive average pool: the fixed rules."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(8)
        self.avg = nn.AdaptiveAvgPool2d(2)
        self.fc = nn.Linear(8 * 2 * 2, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.relu(self.bn1(self.conv1(x))))
        y = self.bn2(self.conv2(x))
        x = self.relu(x + y)
        return self.fc(torch.flatten(self.avg(x), 1))


def pool_resnet(seed: int = 0, dtype: torch.dtype = torch.float32) -> PoolResNet:
    torch.manual_seed(seed)
    net = PoolResNet()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
    return net.to(dtype).eval()


def factory() -> nn.Module:
    """Import-spec target for CLI tests: ``lrp_nets:factory``."""
    return pool_resnet()


def narrow_classifier(model: nn.Module, width: int = 256) -> nn.Module:
    """A torchvision VGG or AlexNet whose hidden fully-connected layers are ``width`` wide instead of 4096.

    The classifier is 90 % of their weights (VGG16: 120 M of 138 M parameters, 0.5 GB in float32, and every
    rule's transformed copy as much again), yet no identity or parity checked on them depends on its width:
    the layer kinds, their order, the first layer's fan-in (and so its initial weight scale) and the class
    count stay. Random-weight tests use this to keep memory and time where the checks are.
    """
    classifier = model.classifier
    linears = [i for i, m in enumerate(classifier) if isinstance(m, nn.Linear)]
    first, last = linears[0], linears[-1]
    for i in linears:
        old = classifier[i]
        classifier[i] = nn.Linear(old.in_features if i == first else width,
                                  old.out_features if i == last else width)
    return model
