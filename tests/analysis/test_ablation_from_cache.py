"""Ablation forwards that start at the ablated layer from cached activations (lrp.graph.run_from).

The reference is independent of the graph code: the plain module with a forward hook that zeroes
channels, run from the image in float64.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vislrp.analysis import ablated_logits, ablation_curve
from vislrp.lrp import build_graph
from vislrp.lrp.graph import run_from


class SkipNet(nn.Module):
    """conv → relu → conv, plus a skip from the first relu around the second conv, then a head."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.conv3 = nn.Conv2d(4, 4, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.relu(self.conv1(x))
        b = self.conv3(torch.relu(self.conv2(a))) + a
        return self.fc(self.pool(b).view(x.size(0), -1))  # a size read before the ablated layer


def _hooked(net: nn.Module, module: nn.Module, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Logits with the output channels of ``module`` multiplied by each row of ``keep``, one forward per row."""
    outs = []
    for row in keep:
        handle = module.register_forward_hook(lambda _m, _i, out, row=row: out * row.view(1, -1, 1, 1).to(out))
        try:
            with torch.no_grad():
                outs.append(net(x.unsqueeze(0))[0])
        finally:
            handle.remove()
    return torch.stack(outs)


@pytest.fixture
def skip_net() -> SkipNet:
    torch.manual_seed(1)
    return SkipNet().double().eval()


@pytest.mark.parametrize("which", ["conv1", "conv2", "conv3"])
def test_cached_start_matches_a_hooked_forward(skip_net: SkipNet, which: str) -> None:
    graph = build_graph(skip_net, (3, 8, 8))
    layer = next(lay for lay in graph.layers if lay.name == which)
    x = torch.randn(3, 8, 8, dtype=torch.float64)
    keep = torch.tensor([[1, 1, 1, 1], [0, 1, 1, 1], [1, 0, 0, 1], [0, 0, 0, 0], [0, 1, 1, 1]], dtype=torch.float64)
    expected = _hooked(skip_net, getattr(skip_net, which), x, keep)
    env = graph.run(x.unsqueeze(0))
    got = ablated_logits(graph, x, layer.index, keep, env=env)
    assert torch.allclose(got, expected, atol=1e-12)
    # the row that ablates nothing is the cached forward's own output
    assert torch.equal(got[0], env[graph.output_node][0])


def test_run_from_only_reruns_what_depends_on_the_node(skip_net: SkipNet) -> None:
    graph = build_graph(skip_net, (3, 8, 8))
    conv3 = next(lay for lay in graph.layers if lay.name == "conv3")
    env = graph.run(torch.randn(1, 3, 8, 8, dtype=torch.float64))
    calls: list[str] = []
    hooks = [m.register_forward_hook(lambda m, i, o, name=name: calls.append(name))
             for name, m in graph.gm.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        run_from(graph, env, conv3.node, env[conv3.node].expand(2, -1, -1, -1))
    finally:
        for h in hooks:
            h.remove()
    assert calls == ["fc"]  # conv1, conv2 (before) and conv3 itself are not run again


def test_curve_with_cache_equals_curve_without(skip_net: SkipNet) -> None:
    graph = build_graph(skip_net, (3, 8, 8))
    x = torch.randn(3, 8, 8, dtype=torch.float64)
    env = graph.run(x.unsqueeze(0))
    rel = torch.tensor([0.3, -0.1, 2.0, 0.5])
    layer = next(lay for lay in graph.layers if lay.name == "conv2").index
    plain = ablation_curve(graph, x, layer, rel, 1, [0, 1, 2, 4], seed=3)
    cached = ablation_curve(graph, x, layer, rel, 1, [0, 1, 2, 4], seed=3, env=env, chunk=2)
    assert cached.top == pytest.approx(plain.top, abs=1e-12)
    assert cached.random == pytest.approx(plain.random, abs=1e-12)
