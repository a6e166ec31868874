"""The code ``vislrp export --zennit`` prints (issue 18.17): it runs as printed, in a fresh namespace, and its
composite computes vislrp's heatmap; a design for another network is refused as ``explain`` refuses it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from vislrp.designs import resolve_design
from vislrp.lrp import ConfigError, Engine, LRPModel, ZBoxRule, build_graph
from vislrp.lrp.zennit_export import zennit_code

TESTS = Path(__file__).resolve().parents[1]


def _small_net() -> torch.nn.Module:
    sys.path.insert(0, str(TESTS / "lrp"))
    try:
        from lrp_nets import small_net
    finally:
        sys.path.remove(str(TESTS / "lrp"))
    return small_net(dtype=torch.float32)


@pytest.mark.parametrize("design", ["epsilon-gamma-box", "epsilon-plus-flat", "zbox-bounds"])
def test_exported_code_runs_as_printed_and_matches_vislrp(design: str) -> None:
    """The code of ``vislrp export --zennit``, executed in a fresh namespace, builds a composite whose heatmap
    (zennit's Gradient attributor) is vislrp's heatmap of the same design on a small network."""
    from zennit.attribution import Gradient

    net = _small_net()
    graph = build_graph(net, (3, 8, 8))
    mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
    bounds = ((0 - mean) / std, (1 - mean) / std)
    if design == "zbox-bounds":  # the design's own ZBox bounds, one per channel
        model = resolve_design("epsilon-gamma-box", graph)
        model = model.model_copy(update={"input_rule": ZBoxRule(low=[-2.5, -2.0, -1.5], high=[2.0, 2.5, 3.0])})
    else:
        model = resolve_design(design, graph)
    code = zennit_code(model, graph, bounds=bounds)
    namespace: dict = {}
    exec(compile(code, "<export>", "exec"), namespace)
    composite = namespace["composite"]
    x = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    engine = Engine(graph, bounds=bounds)
    fwd = engine.forward(x)
    target = int(fwd.logits[0].argmax())
    ours = engine.explain(fwd, model, target).input_relevance[0]
    with Gradient(net, composite) as attributor:
        out, _ = attributor(x, torch.eye(5)[[target]])
        start = torch.zeros_like(out)
        start[0, target] = out[0, target]
        _, rel = attributor(x, start)
    err = float((ours - rel[0]).abs().max() / rel[0].abs().max())
    assert err <= 1e-4, err


def test_exported_code_refuses_a_design_for_another_network() -> None:
    """As ``explain`` refuses it: a design whose segments do not cover this network's layers."""

    graph = build_graph(_small_net(), (3, 8, 8))
    for n_layers in (graph.n_layers - 2, graph.n_layers + 3):
        with pytest.raises(ConfigError, match=r"not covered|past the last layer"):
            zennit_code(LRPModel.single(n_layers, "epsilon"), graph)
