"""The propagation's last line: relevance that passes RESCALE_LIMIT is rescaled by a power of two, and non-finite
relevance is dropped, each with a note; checked against the same explanation at an ordinary scale (relevance is
linear in the relevance it starts from)."""

from __future__ import annotations

import torch
from lrp_nets import small_net

from vislrp.lrp import Engine, LRPModel, build_graph
from vislrp.lrp.numerics import RESCALE_LIMIT


def _setup() -> tuple[Engine, LRPModel, torch.Tensor, int]:
    net = small_net(0, torch.float64)
    graph = build_graph(net, (3, 8, 8))
    engine = Engine(graph)
    torch.manual_seed(1)
    fwd = engine.forward(torch.randn(1, 3, 8, 8, dtype=torch.float64))
    return engine, LRPModel.single(graph.n_layers, "epsilon", include_bias=True), fwd.x, graph.n_layers - 1


def test_relevance_past_the_limit_is_rescaled_by_a_power_of_two() -> None:
    engine, model, x, top = _setup()
    fwd = engine.forward(x)
    shape = (1, *fwd.env[engine.graph.layers[top].node].shape[1:])
    start = torch.rand(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(2)) + 0.5
    plain = engine.explain_from(fwd, model, top, start)
    assert plain.notes == []
    huge = engine.explain_from(fwd, model, top, start * 1e30)
    assert len(huge.notes) == 1 and "scaled by 2^-" in huge.notes[0].message
    exponent = int(huge.notes[0].message.split("2^-")[1].split()[0])
    # the map keeps its shape, scaled by exactly 1e30 · 2^-exponent, and ends below the limit
    expected = plain.input_relevance * (1e30 * 2.0 ** -exponent)
    assert torch.allclose(huge.input_relevance, expected, rtol=1e-12, atol=0)
    assert float(huge.input_relevance.abs().max()) <= RESCALE_LIMIT
    assert exponent >= 21  # a margin of 2^20 below the limit


def test_non_finite_relevance_is_dropped_with_a_note() -> None:
    engine, model, x, top = _setup()
    fwd = engine.forward(x)
    shape = (2, *fwd.env[engine.graph.layers[top].node].shape[1:])
    start = torch.ones(shape, dtype=torch.float64)
    start[1, 0] = float("inf")  # the second row only
    ex = engine.explain_from(fwd, model, top, start)
    assert [note.row for note in ex.notes] == [1]
    assert "non-finite relevance was dropped" in ex.notes[0].message
    assert bool(torch.isfinite(ex.input_relevance).all())
    # the first row is untouched: the same as on its own
    alone = engine.explain_from(fwd, model, top, start[:1])
    assert torch.equal(ex.input_relevance[0], alone.input_relevance[0])
