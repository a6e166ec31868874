"""The explain path on a CUDA device gives the CPU's numbers (issue 17, item 5). Skipped where no GPU is present.

The reference is an independent run of the same network on the CPU. TF32 (the matrix units' float32 mode, on by
default for cuDNN convolutions) rounds products to about 1e-3 relative, so these comparisons turn it off: they
check the engine's device handling, not the hardware's rounding. ``vislrp bench --device cuda`` times with
torch's defaults, which is what users get.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
import torchvision
from test_lrp0_identity import _random_biases
from torch import nn

import vislrp
from vislrp.lrp import Engine, LRPModel, build_graph
from vislrp.lrp.composites import CP_LRP, DEFAULT_COMPOSITE
from vislrp.zoo import IMAGENET, load_model

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

TOLERANCE = 1e-4
"""Relative L∞ (max |a − b| / max |b|) between float32 maps computed on two devices: sums in another order."""


@pytest.fixture(autouse=True)
def _full_float32() -> Iterator[None]:
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def rel_linf(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    assert torch.isfinite(a).all() and torch.isfinite(b).all()
    return float((a - b).abs().max() / b.abs().max())


def small_vit() -> nn.Module:
    """Two blocks at 32 px; torchvision starts the head at zero (every logit 0), so it gets random weights."""
    torch.manual_seed(0)
    model = torchvision.models.VisionTransformer(image_size=32, patch_size=4, num_layers=2, num_heads=4,
                                                 hidden_dim=64, mlp_dim=128, num_classes=10).eval()
    nn.init.normal_(model.heads.head.weight, std=0.1)
    return model


def network(name: str) -> tuple[nn.Module, int]:
    """A zoo network (real weights for the offline default, random for the rest) and an input size."""
    if name == "vit":
        return small_vit(), 32
    return load_model(name, "default" if name == "efficientnet_lite0" else "none").module.eval(), 64


NETWORKS = ["vgg16", "resnet50", "efficientnet_lite0", "vit"]
CASES = [(start, torch.float64) for start in ("logit", "sglrp", "contrastive:1")] + [
    (start, torch.float32) for start in ("logit", "contrastive:1")]
"""SGLRP is compared in float64 only: its initial relevance, the softmax gradient, sums to zero, and the
heatmap is a small difference of large terms. In float32 that cancellation leaves 1e-3 relative L∞ between
any two summation orders (measured on an H200: 3.6e-3 on VGG16, 1.3e-3 on EfficientNet-Lite0), on one device
as on two."""
TOLERANCES = {torch.float32: TOLERANCE, torch.float64: 1e-8}


@pytest.mark.parametrize("name", NETWORKS)
@pytest.mark.parametrize("start,dtype", CASES, ids=[f"{s}-{str(d)[6:]}" for s, d in CASES])
def test_explain_on_cuda_matches_the_cpu(name: str, start: str, dtype: torch.dtype) -> None:
    model, size = network(name)
    model = model.to(dtype)
    design = CP_LRP if name == "vit" else DEFAULT_COMPOSITE
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(1), dtype=torch.float64).to(dtype)
    on_cpu = vislrp.explain(model, x, composite=design, start=start)
    on_gpu = vislrp.explain(model.cuda(), x.cuda(), composite=design, start=start)
    assert on_gpu.relevance.device.type == "cuda" and on_gpu.relevance.dtype == dtype
    assert on_gpu.targets == on_cpu.targets
    assert rel_linf(on_gpu.relevance, on_cpu.relevance) <= TOLERANCES[dtype]


@pytest.mark.parametrize("name", ["vgg16", "resnet50"])
def test_lrp0_is_gradient_times_input_on_cuda(name: str) -> None:
    """float64 on the GPU, random nonzero biases: LRP-0 with the bias included is the input gradient of the logit
    times the input."""
    model = _random_biases(load_model(name, "none").module, seed=0).double().cuda()
    x = torch.randn(1, 3, 64, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(2)).cuda()
    graph = build_graph(model, (3, 64, 64))
    low, high = IMAGENET.bounds()
    engine = Engine(graph, bounds=(low.cuda(), high.cuda()))
    lrp0 = LRPModel.single(graph.n_layers, "lrp-0", include_bias=True)
    fwd = engine.forward(x, cache=False)
    target = int(fwd.logits.argmax())
    rel = engine.explain(fwd, lrp0, target).input_relevance
    xg = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(graph.gm(xg)[0, target], xg)
    assert rel_linf(rel, grad * x) <= 1e-4


def test_bench_runs_on_cuda(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from vislrp.cli import main

    assert main(["bench", "--model", "resnet18", "--runs", "1", "--size", "32", "--device", "cuda", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["rows"][0]
    assert row["device"] == "cuda" and row["forward_ms"] > 0
    assert row["ratios"]["explain"] is not None and row["ratios"]["explain"] > 0
    assert all(v is None or v > 0 for v in row["ratios"].values())
