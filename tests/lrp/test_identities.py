"""Identities every LRP implementation must satisfy, and the fast paths against the plain ones."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
import torchvision
from lrp_nets import narrow_classifier, pool_resnet, small_net

from vislrp.lrp import PRESETS, Engine, Forward, LayerGraph, LRPModel, RuleParams, Segment, build_graph, weighted


def grad_times_input(model: torch.nn.Module, x: torch.Tensor, target: int) -> torch.Tensor:
    x = x.clone().requires_grad_(True)
    model(x)[0, target].backward()
    return (x.grad * x).detach()[0]


def explain(model: torch.nn.Module, x: torch.Tensor, preset: str, include_bias: bool, target: int | None = None):
    graph = build_graph(model, tuple(x.shape[1:]))
    engine = Engine(graph)
    fwd = engine.forward(x)
    target = int(fwd.logits[0].argmax()) if target is None else target
    return graph, engine.explain(fwd, LRPModel.single(graph.n_layers, preset, include_bias=include_bias), target)


NETS = {
    "small": lambda: (small_net(0, torch.float32), torch.randn(1, 3, 8, 8)),
    "pool-resnet": lambda: (pool_resnet(0), torch.randn(1, 3, 16, 16)),
    "vgg11": lambda: (narrow_classifier(torchvision.models.vgg11(weights=None)).eval(), torch.randn(1, 3, 64, 64)),
    "resnet18": lambda: (torchvision.models.resnet18(weights=None).eval(), torch.randn(1, 3, 64, 64)),
}


@pytest.mark.parametrize("net", list(NETS))
def test_lrp0_with_bias_is_gradient_times_input(net: str) -> None:
    torch.manual_seed(0)
    model, x = NETS[net]()
    _, ex = explain(model, x, "lrp-0", include_bias=True)
    expected = grad_times_input(model, x, ex.rows[0][1])
    err = float((ex.input_relevance[0] - expected).abs().max() / expected.abs().max())
    assert err <= 1e-5, err


CONSERVING = ["lrp-0", "z-plus", "alpha-beta", "alpha1-beta0"]


@pytest.fixture(scope="module")
def vgg11_float64() -> Iterator[tuple[LayerGraph, Engine, Forward]]:
    """One float64 VGG11 (narrow classifier: conservation does not depend on its width) traced once for every
    conserving preset, freed after the module."""
    torch.manual_seed(0)
    model = narrow_classifier(torchvision.models.vgg11(weights=None)).double().eval()
    x = torch.randn(1, 3, 64, 64, dtype=torch.float64)
    graph = build_graph(model, tuple(x.shape[1:]))
    engine = Engine(graph)
    yield graph, engine, engine.forward(x)
    engine.clear()


@pytest.mark.parametrize("preset", CONSERVING)
def test_conservation_without_bias_at_every_layer(preset: str, vgg11_float64: tuple[LayerGraph, Engine, Forward]
                                                  ) -> None:
    """Bias excluded and ε = 0: every layer's relevance sums to the target logit (VGG is a chain)."""
    graph, engine, fwd = vgg11_float64
    target = int(fwd.logits[0].argmax())
    ex = engine.explain(fwd, LRPModel.single(graph.n_layers, preset, include_bias=False), target)
    logit = float(ex.start_relevance.sum())
    assert abs(ex.total() - logit) <= 1e-4 * abs(logit)
    for layer in graph.layers:
        rel = ex.layer_relevance[layer.index]
        assert rel is not None
        assert abs(float(rel.sum()) - logit) <= 1e-4 * abs(logit), (layer.index, layer.name)


@pytest.mark.parametrize("preset", ["w-square", "flat"])
def test_conservation_of_activation_free_rules(preset: str) -> None:
    """w² and flat conserve through weighted layers. (Pooling splits in proportion to activations, as in
    zennit, so relevance that these rules send to dead neurons stops there: tested on a net without pools.)"""
    model = small_net(0)
    x = torch.randn(1, 3, 8, 8, dtype=torch.float64)
    graph, ex = explain(model, x, preset, include_bias=False)
    logit = float(ex.start_relevance.sum())
    for layer in graph.layers:
        assert abs(float(ex.layer_relevance[layer.index].sum()) - logit) <= 1e-6 * abs(logit)
    assert abs(ex.total() - logit) <= 1e-6 * abs(logit)


def test_conservation_through_residual_adds_and_pools() -> None:
    model = pool_resnet(0, torch.float64)
    x = torch.randn(1, 3, 16, 16, dtype=torch.float64)
    _, ex = explain(model, x, "z-plus", include_bias=False)
    logit = float(ex.start_relevance.sum())
    assert abs(ex.total() - logit) <= 1e-6 * abs(logit)


def test_batchnorm_folding_keeps_logits() -> None:
    model = pool_resnet(1)
    x = torch.randn(2, 3, 16, 16)
    folded = build_graph(model, (3, 16, 16))
    unfolded = build_graph(model, (3, 16, 16), fold_bn=False)
    assert "BatchNorm" not in {layer.kind for layer in folded.layers}
    assert "BatchNorm" in {layer.kind for layer in unfolded.layers}
    with torch.no_grad():
        ref = model(x)
        assert torch.allclose(folded(x), ref, atol=1e-5)
        assert torch.allclose(unfolded(x), ref, atol=1e-5)


def test_callers_model_is_untouched() -> None:
    model = pool_resnet(2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    build_graph(model, (3, 16, 16))
    assert model.relu.inplace is True
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


# --------------------------------------------------------------------------- fast paths vs plain paths
@pytest.fixture(scope="module")
def resnet() -> tuple[Engine, torch.Tensor]:
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    graph = build_graph(model, (3, 64, 64))
    return Engine(graph), torch.randn(2, 3, 64, 64)


def composite(n: int) -> LRPModel:
    return LRPModel(name="mix", include_bias=True, input_rule={"kind": "zbox", "low": -2.0, "high": 2.5},
                    segments=[Segment(start=0, end=20, rule=PRESETS["gamma"].params.model_copy(
                        update={"epsilon": 0.01})),
                              Segment(start=21, end=n - 1, rule=RuleParams(epsilon=0.1))])


def close(a: torch.Tensor, b: torch.Tensor, tol: float = 1e-4) -> bool:
    """Equal up to float32 rounding of differently batched kernels, relative to the map's maximum."""
    return float((a - b).abs().max()) <= tol * float(b.abs().max())


def test_cached_forward_equals_fresh_forward(resnet: tuple[Engine, torch.Tensor]) -> None:
    engine, x = resnet
    model = composite(engine.graph.n_layers)
    first = engine.forward(x[:1])
    count = engine.forward_count
    again = engine.forward(x[:1].clone())
    assert again is first and engine.forward_count == count  # same content: no second forward
    fresh = engine.forward(x[:1], cache=False)
    a = engine.explain(first, model, 3)
    b = engine.explain(fresh, model, 3)
    assert torch.equal(a.input_relevance, b.input_relevance)


def test_weight_cache_hit_equals_miss(resnet: tuple[Engine, torch.Tensor]) -> None:
    engine, x = resnet
    model = composite(engine.graph.n_layers)
    fwd = engine.forward(x[:1])
    warm = engine.explain(fwd, model, 7).input_relevance
    engine.clear()
    cold = engine.explain(engine.forward(x[:1]), model, 7).input_relevance
    assert torch.equal(warm, cold)


def test_batched_rows_equal_one_by_one(resnet: tuple[Engine, torch.Tensor]) -> None:
    engine, x = resnet
    model = composite(engine.graph.n_layers)
    fwd = engine.forward(x)
    rows = [(0, 1), (1, 5), (0, 9), (1, 1)]
    batched = engine.explain(fwd, model, rows)
    for k, (img, cls) in enumerate(rows):
        single = engine.explain(engine.forward(x[img:img + 1]), model, cls)
        assert close(batched.input_relevance[k], single.input_relevance[0])
        for i in (5, 20, 40):
            assert close(batched.layer_relevance[i][k], single.layer_relevance[i][0])


def test_several_classes_of_one_image_in_one_pass(resnet: tuple[Engine, torch.Tensor]) -> None:
    engine, x = resnet
    model = LRPModel.single(engine.graph.n_layers, "z-plus", include_bias=True)
    fwd = engine.forward(x[:1])
    batched = engine.explain(fwd, model, [2, 4, 6])
    for k, cls in enumerate([2, 4, 6]):
        single = engine.explain(fwd, model, cls)
        assert close(batched.input_relevance[k], single.input_relevance[0])


@pytest.mark.parametrize("preset", ["epsilon", "gamma", "z-plus", "w-square", "alpha-beta"])
@pytest.mark.parametrize("include_bias", [True, False])
def test_reused_z_equals_full_computation(resnet: tuple[Engine, torch.Tensor], include_bias: bool,
                                          preset: str) -> None:
    """z taken from the forward output and from cached linear parts equals z recomputed from scratch."""
    engine, x = resnet
    n = engine.graph.n_layers
    model = LRPModel.single(n, preset, include_bias=include_bias)
    model.segments[0].rule = model.segments[0].rule.model_copy(update={"epsilon": 0.01})
    fwd = engine.forward(x[:1])
    engine.explain(fwd, LRPModel.single(n, "gamma", include_bias=include_bias), 3)  # warm the z parts
    fast = engine.explain(fwd, model, 3).input_relevance
    engine.reuse_forward = False
    try:
        slow = engine.explain(engine.forward(x[:1], cache=False), model, 3).input_relevance
    finally:
        engine.reuse_forward = True
    assert close(fast, slow)
    assert float(fast.abs().max()) > 0


@pytest.mark.parametrize("bounds", [(-2.0, 2.5), ([-1.0, -2.0, -0.5], [1.0, 3.0, 2.0]), (-2.0, 2.5)])
def test_zbox_bound_term_kept_across_images_equals_full_computation(resnet: tuple[Engine, torch.Tensor],
                                                                   bounds: tuple) -> None:
    """ZBox's low·w⁺ + high·w⁻ is kept per bounds and reused for every image (and for the same bounds again, the
    third case): each explain equals the plain path's, which computes it from scratch."""
    engine, x = resnet
    n = engine.graph.n_layers
    model = LRPModel(name="box", include_bias=True, input_rule={"kind": "zbox", "low": bounds[0], "high": bounds[1]},
                     segments=[Segment(start=0, end=n - 1, rule=RuleParams(epsilon=0.1))])
    for image in (0, 1):
        fast = engine.explain(engine.forward(x[image:image + 1]), model, 3).input_relevance
        engine.reuse_forward = False
        try:
            slow = engine.explain(engine.forward(x[image:image + 1], cache=False), model, 3).input_relevance
        finally:
            engine.reuse_forward = True
        assert close(fast, slow)


def test_slider_move_runs_no_forward_convolution(resnet: tuple[Engine, torch.Tensor],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Once a second γ value has been explained on an image, any further γ/ε value (and class) reuses every
    cached z part: moving a slider runs only the transposed pass."""
    engine, x = resnet
    n = engine.graph.n_layers
    fwd = engine.forward(x[1:], cache=False)
    engine.explain(fwd, LRPModel.single(n, "gamma", include_bias=True), 3)  # fused z, kept whole
    rule = PRESETS["gamma"].params.model_copy(update={"gamma1p": 0.4})
    engine.explain(fwd, LRPModel(name="g1", include_bias=True, segments=[Segment(start=0, end=n - 1, rule=rule)]), 3)
    calls = []
    real = weighted.apply  # every forward (z) convolution of the engine goes through apply
    monkeypatch.setattr(weighted, "apply", lambda *a, **k: calls.append(1) or real(*a, **k))
    rule = PRESETS["gamma"].params.model_copy(update={"gamma1p": 0.7, "epsilon": 0.2})
    engine.explain(fwd, LRPModel(name="g2", include_bias=True, segments=[Segment(start=0, end=n - 1, rule=rule)]), 8)
    assert calls == []


def test_repeated_explains_do_not_grow_caches(resnet: tuple[Engine, torch.Tensor]) -> None:
    engine, x = resnet
    engine.set_cache_budget(256 << 20)  # below what 30 rules' weights take (30 × 45 MB), so eviction is exercised
    fwd = engine.forward(x[:1])
    for k in range(30):
        rule = RuleParams(gamma1p=0.01 * k, epsilon=0.1)
        engine.explain(fwd, LRPModel(name="g", segments=[Segment(start=0, end=engine.graph.n_layers - 1,
                                                                  rule=rule)]), 1, keep_layers=False)
    assert engine.rules.nbytes <= engine.weight_cache_bytes
    assert len(engine._forwards) <= engine.forward_cache_size
