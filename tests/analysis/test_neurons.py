"""The neuron table and per-channel maps; conditional heatmaps of all channels add up to the layer's."""

from __future__ import annotations

import pytest
import torch

from vislrp.analysis import channel_maps, neuron_table
from vislrp.lrp import Engine, LayerGraph, LRPModel


def test_neuron_table_hand_computed(two_channel: LayerGraph) -> None:
    engine = Engine(two_channel)
    x = torch.tensor([[[1.0, 3.0], [-1.0, 1.0]]])
    fwd = engine.forward(x)
    ex = engine.explain(fwd, LRPModel.single(two_channel.n_layers, "lrp-0"), 0)
    rows = neuron_table(two_channel, ex, 0)
    assert [r.channel for r in rows] == [0, 1]
    assert [r.activation for r in rows] == pytest.approx([1.0, 2.0])  # mean of x, of 2x
    pos, neg = ex.channel_scores(0)
    assert [r.pos for r in rows] == pytest.approx(pos.tolist()) and [r.neg for r in rows] == pytest.approx(neg.tolist())
    assert rows[0].neg < 0 < rows[0].pos  # the -1 pixel contributes negatively


@pytest.mark.parametrize("layer", [0, 2])
@pytest.mark.parametrize("preset", ["epsilon", "z-plus", "alpha2-beta1"])
def test_conditional_heatmaps_sum_to_layer_heatmap(small_cnn: LayerGraph, layer: int, preset: str) -> None:
    engine = Engine(small_cnn)
    x = torch.randn((3, 16, 16), generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    fwd = engine.forward(x)
    model = LRPModel.single(small_cnn.n_layers, preset, include_bias=True)
    ex = engine.explain(fwd, model, 2)
    n = small_cnn.layers[layer].shape[0]
    maps = channel_maps(engine, ex, model, layer, range(n), chunk=4)
    assert maps.conditional.shape == (n, 16, 16)
    # Everything reaching the input passes this layer (no skip connection), so the sum is the heatmap.
    assert torch.allclose(maps.conditional.sum(0), ex.heatmap(0), atol=1e-10)
    assert torch.allclose(maps.relevance.sum(0), ex.layer_relevance[layer][0].sum(0), atol=1e-12)
    assert torch.equal(maps.activation, fwd.env[small_cnn.layers[layer].node][0])
    one = channel_maps(engine, ex, model, layer, [1])
    assert torch.allclose(one.conditional[0], maps.conditional[1], atol=1e-12)


@pytest.mark.slow
def test_conditional_heatmaps_sum_on_default_model() -> None:
    from vislrp.session import open_session

    s = open_session("efficientnet_lite0")
    fwd = s.engine.forward(s.load_input("sample:chelsea"))
    model = s.default_lrp_model()
    ex = s.engine.explain(fwd, model, fwd.topk(1)[0][0])
    layer = 4  # _blocks.0._project_conv: no residual skips past it, so all relevance flows through it
    maps = channel_maps(s.engine, ex, model, layer, range(s.graph.layers[layer].shape[0]))
    scale = float(ex.heatmap(0).abs().max())
    assert float((maps.conditional.sum(0) - ex.heatmap(0)).abs().max()) <= 1e-4 * scale
