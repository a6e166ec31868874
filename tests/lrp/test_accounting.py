"""Relevance accounting against independent values: autograd for the bias share, α − β for the rule share."""

from __future__ import annotations

import pytest
import torch
from lrp_nets import small_net

from vislrp.lrp import PRESETS, Engine, LRPModel, RuleParams, Segment, build_graph

INPUT = (3, 8, 8)


def _setup() -> tuple[torch.nn.Module, torch.Tensor, int, Engine]:
    net = small_net(0)
    x = torch.randn(1, *INPUT, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        target = int(net(x).argmax())
    return net, x, target, Engine(build_graph(net, INPUT))


def test_bias_share_of_lrp0_is_bias_times_gradient() -> None:
    """For LRP-0 with the bias, R_j / z_j = ∂f/∂z_j on a ReLU net, so layer k's bias takes Σ_j b_j ∂f/∂z_j."""
    net, x, target, engine = _setup()
    zs: list[torch.Tensor] = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: zs.append(out) or out.retain_grad())
             for m in (net.conv1, net.conv2, net.conv3, net.fc1, net.fc2)]
    out = net(x)
    out[0, target].backward()
    for h in hooks:
        h.remove()
    layers = (net.conv1, net.conv2, net.conv3, net.fc1, net.fc2)
    expected = [float((z.grad * m.bias.view(1, -1, *([1] * (z.dim() - 2)))).sum()) for z, m in zip(zs, layers,
                                                                                                  strict=True)]
    model = LRPModel.single(engine.graph.n_layers, "lrp-0", include_bias=True)
    ex = engine.explain(engine.forward(x), model, target)
    weighted = [la.index for la in engine.graph.layers if la.rule == "weighted"]
    got = [float(ex.flow[i].bias[0]) for i in weighted]
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)
    acc = ex.accounting()
    start = float(out[0, target])
    assert acc.absorbed[0].bias == pytest.approx(sum(expected) / start, rel=1e-9)
    assert acc.absorbed[0].stabiliser == pytest.approx(0.0, abs=1e-9)
    assert acc.final == pytest.approx(start - sum(expected), rel=1e-9)


def test_rule_share_is_one_minus_alpha_plus_beta_of_what_arrives() -> None:
    """α − β ≠ 1 creates (α − β − 1)·ΣR_in at every weighted layer; the accounting names it as such."""
    _net, x, target, engine = _setup()
    rule = RuleParams(alpha=1.5, beta=0.0, gamma1=0.0, gamma1p=1.0, epsilon=1e-9)  # z⁺ scaled by 1.5
    n = engine.graph.n_layers
    ex = engine.explain(engine.forward(x), LRPModel(name="a", segments=[Segment(start=0, end=n - 1, rule=rule)]),
                        target)
    for layer in engine.graph.layers:
        f = ex.flow[layer.index]
        if layer.rule == "weighted" and f is not None:
            assert float(f.rule[0]) == pytest.approx(-0.5 * float(f.incoming[0]), rel=1e-12)
    assert ex.accounting().absorbed[0].rule < 0  # relevance was created


def test_stabiliser_share_grows_with_epsilon() -> None:
    _net, x, target, engine = _setup()
    n = engine.graph.n_layers
    shares = []
    for eps in (0.0, 0.1, 1.0, 10.0):
        rule = PRESETS["epsilon"].params.model_copy(update={"epsilon": eps})
        ex = engine.explain(engine.forward(x), LRPModel(name="e", segments=[Segment(start=0, end=n - 1,
                                                                                     rule=rule)]), target)
        shares.append(ex.accounting().absorbed[0].stabiliser)
    assert shares[0] == pytest.approx(0.0, abs=1e-9)
    # on this small net most of the logit is weak evidence that any ε of 0.1 or more absorbs
    assert all(share > 0.5 for share in shares[1:])
