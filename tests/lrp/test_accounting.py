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


# ---------------------------------------------------------------------- hand-built cases (issue 18, point 5)
# Two tiny linear nets whose shares can be worked out on paper: what the bias absorbs, what ε absorbs, and
# what z⁺ loses at a neuron whose contributions are all negative (a denominator of exactly 0, so nothing
# is passed on: "dropped", never ε when ε is 0).

def _tiny(layers: list[tuple[list[list[float]], list[float]]], relu: bool = True) -> tuple[Engine, torch.Tensor]:
    mods: list[torch.nn.Module] = []
    for k, (w, b) in enumerate(layers):
        lin = torch.nn.Linear(len(w[0]), len(w), dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(w, dtype=torch.float64))
            lin.bias.copy_(torch.tensor(b, dtype=torch.float64))
        mods.append(lin)
        if relu and k < len(layers) - 1:
            mods.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*mods).eval()
    n_in = len(layers[0][0][0])
    return Engine(build_graph(net, (n_in,))), torch.ones(1, n_in, dtype=torch.float64)


def _whole(engine: Engine, rule: RuleParams, include_bias: bool) -> LRPModel:
    n = engine.graph.n_layers
    return LRPModel(name="hand", include_bias=include_bias, segments=[Segment(start=0, end=n - 1, rule=rule)])


ZPLUS = RuleParams(gamma1=0.0, gamma1p=1.0, epsilon=0.0)
"""z⁺: only the positive contributions a_i·w_ij⁺ (inputs here are ≥ 0)."""

# x = (1, 1). Hidden A = 1·1 + 1·2 = 3 (contributions +1, +2); hidden B = −1 − 1 + 5 = 3 (contributions −1, −1,
# all negative: only its bias makes it positive). Logit = A + B = 6.
HIDDEN = ([[1.0, 2.0], [-1.0, -1.0]], [0.0, 5.0])
TOP = ([[1.0, 1.0]], [0.0])


def test_zplus_without_bias_loses_to_dropped_contributions_not_to_epsilon() -> None:
    """z⁺, bias off, ε = 0: the top layer splits 6 into A 3, B 3; A passes its 3 on, B has z⁺ = 0 and drops 3.

    Before the fix the accounting called these 50 % "ε" although ε is 0 (issue 18: "ε 96 %" with z⁺)."""
    engine, x = _tiny([HIDDEN, TOP])
    ex = engine.explain(engine.forward(x), _whole(engine, ZPLUS, include_bias=False), 0)
    acc = ex.accounting()
    assert acc.start == pytest.approx(6.0)
    assert acc.final == pytest.approx(3.0)
    (seg,) = acc.absorbed
    assert seg.dropped == pytest.approx(0.5)
    assert seg.stabiliser == 0.0
    assert seg.bias == 0.0 and seg.rule == pytest.approx(0.0, abs=1e-12)
    assert seg.total == pytest.approx(0.5)


def test_zplus_with_epsilon_is_absorbed_by_epsilon() -> None:
    """Same net, ε = 1: top layer passes 6·6/7; A keeps 3/4 of its 18/7; B's 18/7 all go to ε (z⁺ + ε = ε).

    ε takes 6/7 + 9/14 + 18/7 = 57/14 of the logit 6, and nothing is counted as dropped."""
    engine, x = _tiny([HIDDEN, TOP])
    rule = ZPLUS.model_copy(update={"epsilon": 1.0})
    acc = engine.explain(engine.forward(x), _whole(engine, rule, include_bias=False), 0).accounting()
    (seg,) = acc.absorbed
    assert seg.stabiliser == pytest.approx(57 / 14 / 6)
    assert seg.dropped == 0.0
    assert acc.final == pytest.approx(27 / 14)


def test_epsilon_rule_with_bias_splits_between_bias_and_epsilon() -> None:
    """One layer, x = (1, 2)·w = (1, 1) + b = 1: z = 4. LRP-ε with ε = 1 and the bias: the denominator is
    1 + 2 + 1 + 1 = 5, so the inputs get 3·4/5, the bias 1·4/5 and ε 1·4/5: shares 0.6, 0.2, 0.2."""
    engine, _ = _tiny([([[1.0, 1.0]], [1.0])])
    x = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    rule = PRESETS["epsilon"].params.model_copy(update={"epsilon": 1.0})
    acc = engine.explain(engine.forward(x), _whole(engine, rule, include_bias=True), 0).accounting()
    (seg,) = acc.absorbed
    assert acc.start == pytest.approx(4.0)
    assert seg.bias == pytest.approx(0.2)
    assert seg.stabiliser == pytest.approx(0.2)
    assert seg.dropped == 0.0
    assert acc.final == pytest.approx(2.4)


def test_lrp0_with_bias_loses_only_to_the_bias() -> None:
    """LRP-0 with the bias on the same net: B (z = −2 + 5) passes −2/3 of its 3 to the inputs and its bias takes
    5/3 of it, 5 of the logit 6; nothing is dropped and ε takes nothing. The input keeps 3 − 2 = 1."""
    engine, x = _tiny([HIDDEN, TOP])
    rule = PRESETS["epsilon"].params.model_copy(update={"epsilon": 0.0})
    acc = engine.explain(engine.forward(x), _whole(engine, rule, include_bias=True), 0).accounting()
    (seg,) = acc.absorbed
    assert seg.bias == pytest.approx(5 / 6)
    assert seg.stabiliser == 0.0
    assert seg.dropped == pytest.approx(0.0, abs=1e-12)
    assert acc.final == pytest.approx(1.0)
