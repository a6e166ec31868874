"""The LRP model's neuron filter: relevance kept in (or removed from) some channels of one layer."""

from __future__ import annotations

import pytest
import torch
from lrp_nets import pool_resnet

from vislrp.lrp import ConfigError, Engine, LRPModel, NeuronFilter, build_graph, parse_model

INPUT = (3, 8, 8)


@pytest.fixture(scope="module")
def setup() -> tuple[Engine, torch.Tensor, int]:
    net = pool_resnet(0, torch.float64)
    graph = build_graph(net, INPUT)
    x = torch.randn(1, *INPUT, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    engine = Engine(graph)
    conv = next(la.index for la in graph.layers if la.kind == "Conv" and la.index > 0)
    return engine, x, conv


def _model(engine: Engine, flt: NeuronFilter | None) -> LRPModel:
    base = LRPModel.single(engine.graph.n_layers, "epsilon", include_bias=True)
    return base.model_copy(update={"neuron_filter": flt})


def test_keep_equals_explain_from_the_masked_layer(setup: tuple[Engine, torch.Tensor, int]) -> None:
    """Independent route: the full explanation's relevance at the layer, masked, propagated with explain_from."""
    engine, x, layer = setup
    fwd = engine.forward(x)
    full = engine.explain(fwd, _model(engine, None), 1)
    mask = torch.zeros(8, dtype=torch.float64)
    mask[[1, 5]] = 1
    masked = full.layer_relevance[layer] * mask.view(1, -1, 1, 1)
    ref = engine.explain_from(fwd, _model(engine, None), layer, masked)
    got = engine.explain(fwd, _model(engine, NeuronFilter(layer=layer, channels=[5, 1])), 1)
    assert torch.allclose(got.input_relevance, ref.input_relevance, rtol=1e-12, atol=1e-14)
    assert float(got.input_relevance.abs().max()) > 0


def test_keep_and_exclude_add_up_to_the_whole(setup: tuple[Engine, torch.Tensor, int]) -> None:
    engine, x, layer = setup
    fwd = engine.forward(x)
    full = engine.explain(fwd, _model(engine, None), 2).input_relevance
    keep = engine.explain(fwd, _model(engine, NeuronFilter(layer=layer, channels=[0, 3], mode="keep")), 2)
    drop = engine.explain(fwd, _model(engine, NeuronFilter(layer=layer, channels=[0, 3], mode="exclude")), 2)
    assert torch.allclose(keep.input_relevance + drop.input_relevance, full, rtol=1e-10, atol=1e-13)
    acc = keep.accounting()
    assert acc.start - sum(a.total for a in acc.absorbed) * acc.start == pytest.approx(acc.final, rel=1e-9)


def test_bad_filters_are_clear_errors(setup: tuple[Engine, torch.Tensor, int]) -> None:
    engine, x, layer = setup
    fwd = engine.forward(x)
    with pytest.raises(ConfigError, match="has 8 channels"):
        engine.explain(fwd, _model(engine, NeuronFilter(layer=layer, channels=[8])), 1)
    with pytest.raises(ConfigError, match="past the last layer"):
        engine.explain(fwd, _model(engine, NeuronFilter(layer=999, channels=[0])), 1)
    with pytest.raises(ConfigError, match="channels"):
        parse_model({"name": "a", "neuron_filter": {"layer": 1, "channels": []}, "segments": [{"start": 0, "end": 1}]})
