"""Parity with zennit (a test dependency only) where the rules coincide, bias included.

VGG16 (hidden classifier layers 256 wide, see ``narrow_classifier``) and ResNet18 with random weights.
ResNet18's BatchNorm is folded into its convs once, before
either library sees the network, so both run the very same float32 forward: near-zero residual sums
make the proportional split sensitive to rounding-level forward differences (two independent BN folds
differ by ~1e-7), which would hide what this test is about, the rules. Every stabiliser is 1e-6 on both
sides (zennit's default): our segment ε, which also stabilises pooling and residual adds, is 1e-6.
"""

from __future__ import annotations

import pytest
import torch
import torchvision
from lrp_nets import narrow_classifier
from zennit.attribution import Gradient
from zennit.composites import LayerMapComposite, SpecialFirstLayerMapComposite, layer_map_base
from zennit.rules import AlphaBeta, Epsilon, Flat, WSquare, ZBox, ZPlus
from zennit.torchvision import ResNetCanonizer
from zennit.types import Convolution, Linear

from vislrp.lrp import PRESETS, Engine, LRPModel, Segment, ZBoxRule, build_graph
from vislrp.lrp.canonizers import fold_batchnorm_modules

SIZE = 64
EPS = 1e-6
LOW, HIGH = -2.2, 2.7

CASES = {
    "epsilon": (lambda: Epsilon(EPS), "epsilon"),
    "z-plus": (lambda: ZPlus(EPS), "z-plus"),
    "alpha2-beta1": (lambda: AlphaBeta(2.0, 1.0, EPS), "alpha2-beta1"),
    "w-square": (lambda: WSquare(EPS), "w-square"),
    "flat": (lambda: Flat(EPS), "flat"),
}


@pytest.fixture(scope="module", params=["vgg16", "resnet18"])
def network(request: pytest.FixtureRequest) -> tuple[str, torch.nn.Module, torch.Tensor]:
    torch.manual_seed(0)
    model = getattr(torchvision.models, request.param)(weights=None).eval()
    if request.param == "vgg16":
        narrow_classifier(model)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):  # non-trivial statistics, so folding matters
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) and m.bias is not None:
                m.bias.uniform_(-0.05, 0.05)
        fold_batchnorm_modules(model)
    x = torch.randn(1, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1))
    return request.param, model, x


def zennit_relevance(name: str, model: torch.nn.Module, x: torch.Tensor, target: int, rule, zbox: bool
                     ) -> torch.Tensor:
    canonizers = [ResNetCanonizer()] if name.startswith("resnet") else []
    layer_map = [*layer_map_base(EPS), (Convolution, rule()), (Linear, rule())]
    if zbox:
        composite = SpecialFirstLayerMapComposite(layer_map, [(Convolution, ZBox(LOW, HIGH, EPS))],
                                                  canonizers=canonizers)
    else:
        composite = LayerMapComposite(layer_map, canonizers=canonizers)
    with Gradient(model, composite) as attributor:
        out, _ = attributor(x, torch.eye(1000)[[target]])
        onehot = torch.zeros_like(out)
        onehot[0, target] = out[0, target]
        _, rel = attributor(x, onehot)
    return rel[0]


def ours(model: torch.nn.Module, x: torch.Tensor, target: int, preset: str, zbox: bool) -> torch.Tensor:
    graph = build_graph(model, (3, SIZE, SIZE))
    rule = PRESETS[preset].params.model_copy(update={"epsilon": EPS})
    lrp = LRPModel(name=preset, include_bias=True, segments=[Segment(start=0, end=graph.n_layers - 1, rule=rule)],
                   input_rule=ZBoxRule(low=LOW, high=HIGH) if zbox else None)
    engine = Engine(graph)
    return engine.explain(engine.forward(x), lrp, target).input_relevance[0]


@pytest.mark.parametrize("zbox", [False, True], ids=["plain", "zbox-first"])
@pytest.mark.parametrize("case", list(CASES))
def test_matches_zennit(network: tuple[str, torch.nn.Module, torch.Tensor], case: str, zbox: bool) -> None:
    name, model, x = network
    with torch.no_grad():
        target = int(model(x).argmax())
    rule, preset = CASES[case]
    expected = zennit_relevance(name, model, x, target, rule, zbox)
    got = ours(model, x, target, preset, zbox)
    rel = float((got - expected).abs().max() / expected.abs().max())
    print(f"{name} {case} {'zbox' if zbox else 'plain'}: relative L-inf {rel:.2e}")
    assert rel <= 1e-4
