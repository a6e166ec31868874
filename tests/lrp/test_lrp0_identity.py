"""LRP-0 with the bias included is gradient × input, exactly, on full-size VGG16 and ResNet50.

With ε = 0 the quotient R_j / z_j of LRP-0 is the gradient of the target at neuron j, finite however small z_j
is. So the guarded division may drop only quotients that are not finite (z_j = 0): a relative floor on the
denominators (1e-7 × the layer's largest) cut real gradient paths, 1e-2 relative L∞ on a random VGG16.

Random weights, random nonzero biases (BatchNorm statistics on ResNet50, folded into the convs), 64×64 inputs.
Whether a random network has a denominator under such a floor is chance, so each test also plants some: the bias
of every channel of one early conv is set so that its output at one position is positive but far below the
layer's largest (checked before the comparison). The reference is autograd through the same traced network.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import torch
import torchvision
from torch import nn

from vislrp.lrp import Engine, LayerGraph, LRPModel, build_graph
from vislrp.lrp.numerics import safe_divide

SIZE = 64
TOLERANCE = {torch.float64: 1e-4, torch.float32: 1e-3}
PLANT_LAYER = {"vgg16": "features.0", "resnet50": "layer1.0.conv1"}
"""A conv followed by a ReLU and then another conv (no max-pool that would hide a tiny activation)."""
TINY = {torch.float64: 1e-10, torch.float32: 3e-8}
"""Planted denominators, relative to the layer's largest |z|: under the old floor of 1e-7 (float32 rounds them to
multiples of about 1.5e-8 of the largest here, so 1e-8 would often round to 0)."""


def _random_biases(model: nn.Module, seed: int) -> nn.Module:
    """Nonzero biases everywhere: torchvision initialises them to 0, where LRP-0 and the gradient agree trivially."""
    g = torch.Generator().manual_seed(seed)

    def uniform(t: torch.Tensor, low: float, high: float) -> torch.Tensor:
        return torch.rand(t.shape, generator=g) * (high - low) + low

    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d | nn.Linear) and m.bias is not None:
                m.bias.copy_(uniform(m.bias, -0.1, 0.1))
            elif isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(uniform(m.running_mean, -0.5, 0.5))
                m.running_var.copy_(uniform(m.running_var, 0.5, 2.0))
                m.weight.copy_(uniform(m.weight, 0.5, 1.5))
                m.bias.copy_(uniform(m.bias, -0.3, 0.3))
    return model.eval()


def _plant_tiny_denominators(graph: LayerGraph, name: str, x: torch.Tensor, tiny: float) -> int:
    """Shift each channel's bias of layer ``name`` so that its output at one position is ``tiny`` × the layer's
    largest |z|; returns how many channels ended up with 0 < z ≤ 1e-7 × max (float32 rounding may spoil a few).

    The layer's input does not depend on its own bias, so z is recomputed from the layer alone (the same module
    call as in the engine's forward pass, hence the same numbers).
    """
    layer = next(la for la in graph.layers if la.name == name)
    conv = layer.module
    assert isinstance(conv, nn.Conv2d) and conv.bias is not None and layer.pad is None
    inp = graph.run(x)[layer.inputs[0]]
    with torch.no_grad():
        h, w = conv(inp).shape[2:]
        for _ in range(3):  # a second and third pass correct the rounding of the first
            z = conv(inp)[0]
            conv.bias += tiny * z.abs().max() - z[:, h // 2, w // 2]
        z = conv(inp)[0]
    at = z[:, h // 2, w // 2]
    return int(((at > 0) & (at <= 1e-7 * z.abs().max())).sum())


def _convert(module: nn.Module, dtype: torch.dtype) -> None:
    """``module.to(dtype)`` with fresh parameter tensors: the engine caches derived kernels on the weight tensors.

    float32 → float64 → float32 is exact, so the order of the tests does not matter.
    """
    previous = torch.__future__.get_overwrite_module_params_on_conversion()
    torch.__future__.set_overwrite_module_params_on_conversion(True)
    try:
        module.to(dtype)
    finally:
        torch.__future__.set_overwrite_module_params_on_conversion(previous)


@pytest.fixture(scope="module", params=["vgg16", "resnet50"])
def network(request: pytest.FixtureRequest, release_memory: Callable[[], None]) -> Iterator[tuple[str, LayerGraph]]:
    """The traced network (BatchNorm folded); each test moves it to its dtype and plants its own denominators."""
    torch.manual_seed(0)
    graph = build_graph(_random_biases(getattr(torchvision.models, request.param)(weights=None), seed=0),
                        (3, SIZE, SIZE))
    for p in graph.gm.parameters():
        p.requires_grad_(False)  # the reference needs the input gradient only
    yield request.param, graph
    del graph
    release_memory()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_lrp0_with_bias_equals_gradient_times_input(network: tuple[str, LayerGraph], dtype: torch.dtype) -> None:
    name, graph = network
    _convert(graph.gm, dtype)
    x = torch.randn(1, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1), dtype=torch.float64).to(dtype)
    planted = _plant_tiny_denominators(graph, PLANT_LAYER[name], x, TINY[dtype])
    assert planted >= 32, f"only {planted} of 64 channels got a tiny positive denominator"

    engine = Engine(graph)
    fwd = engine.forward(x)
    target = int(fwd.logits[0].argmax())
    ex = engine.explain(fwd, LRPModel.single(graph.n_layers, "lrp-0", include_bias=True), target)

    xg = x.clone().requires_grad_(True)
    graph.gm(xg)[0, target].backward()
    assert xg.grad is not None
    expected = (xg.grad * x)[0]
    err = float((ex.input_relevance[0] - expected).abs().max() / expected.abs().max())
    assert err <= TOLERANCE[dtype], f"LRP-0 vs gradient × input: {err:.2e} relative L∞"


def test_only_non_finite_quotients_are_dropped() -> None:
    """With ε = 0: a denominator 1e-12 of its row's largest keeps its exact quotient; 0 (and 0/0) and an overflow
    pass nothing."""
    num = torch.tensor([[1.0, 2.0, 0.0, 3.0, 1e300]], dtype=torch.float64)
    den = torch.tensor([[1e12, 1.0, 0.0, 0.0, 1e-300]], dtype=torch.float64)
    out = safe_divide(num, den / 1e12, 0.0)
    assert out.tolist() == [[1.0, 2e12, 0.0, 0.0, 0.0]]
    assert safe_divide(num, den, 0.1)[0, 2] == 0.0  # ε > 0: stab(0) = ε
