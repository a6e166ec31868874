"""Eq. 5 against an independent float64 reference built from dense layer matrices.

The reference never calls the engine's conv code: each conv becomes its dense Jacobian, the weight
transform is applied entry by entry on the connections the conv actually has, and the formula is
evaluated literally with einsum.
"""

from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F
from lrp_nets import small_net
from torch import nn

from vislrp.lrp import PRESETS, Engine, LRPModel, RuleParams, Segment, build_graph
from vislrp.lrp.params import PARAMS

INPUT = (3, 8, 8)


def dense(module: nn.Module, in_shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight matrix W[i, j], connection mask) of a conv/linear layer, without bias."""
    n_in = int(torch.tensor(in_shape).prod())
    eye = torch.eye(n_in, dtype=torch.float64).view(n_in, *in_shape)
    if isinstance(module, nn.Conv2d):
        def f(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
            return F.conv2d(x, w, None, module.stride, module.padding, module.dilation, module.groups)
    else:
        def f(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
            return F.linear(x, w)
    w = f(eye, module.weight.double()).reshape(n_in, -1)
    mask = f(eye, torch.ones_like(module.weight, dtype=torch.float64)).reshape(n_in, -1) != 0
    return w, mask


def stab(z: torch.Tensor, eps: float) -> torch.Tensor:
    return z + eps * torch.where(z >= 0, 1.0, -1.0).to(z)


def ref_layer(a: torch.Tensor, w: torch.Tensor, mask: torch.Tensor, b: torch.Tensor | None, r: torch.Tensor,
              p: RuleParams) -> torch.Tensor:
    """R_i = Σ_j [α A_i P_ij / stab(Σ_i A_i P_ij + b⁺_j) − β A_i N_ij / stab(Σ_i A_i N_ij + b⁻_j)] R_j."""
    A = p.theta0 + p.theta1 * a
    pos_input = (A >= 0).double()[:, None]
    w_pos, w_neg = w.clamp(min=0), w.clamp(max=0)
    # γ1p weighs positive contributions: w⁺ for A_i ≥ 0, w⁻ for A_i < 0 (zennit's z⁺ convention).
    contrib_pos = pos_input * w_pos + (1 - pos_input) * w_neg
    contrib_neg = pos_input * w_neg + (1 - pos_input) * w_pos
    base = p.gamma0 + p.gamma1 * w + p.gamma2 * w * w
    b = torch.zeros(w.shape[1], dtype=torch.float64) if b is None else b.double()
    # Generalised γ: a term with raw weights (γ1 > 0) and an amplified part is oriented per output by the sign
    # of Σ_i A_i w_ij + b_j: where it is negative, the roles of the positive and negative contributions swap;
    # where it is 0, the term passes nothing.
    plain = torch.einsum("i,ij->j", A, mask * w) + b
    out = torch.zeros_like(A)
    for coef, weight, sign in ((p.gamma1p, p.alpha, 1.0), (p.gamma1n, -p.beta, -1.0)):
        if weight == 0:
            continue
        oriented = coef != 0 and p.gamma1 != 0
        orient = torch.sign(plain) if oriented else torch.ones_like(plain)
        agree = (orient * sign > 0).double()[None, :]  # amplify positive contributions where 1, else negative
        M = mask * (base + coef * (agree * contrib_pos + (1 - agree) * contrib_neg))
        bm = p.gamma1 * b + coef * (agree[0] * b.clamp(min=0) + (1 - agree[0]) * b.clamp(max=0)) + p.gamma2 * b * b
        z = torch.einsum("i,ij->j", A, M) + bm
        rj = r * (orient != 0)
        q = torch.where(stab(z, p.epsilon) == 0, 0.0, rj / stab(z, p.epsilon))
        out = out + weight * torch.einsum("i,ij,j->i", A, M, q)
    return out


def reference(net: nn.Module, x: torch.Tensor, target: int, rules: list[RuleParams], bias: bool) -> torch.Tensor:
    """Literal Eq. 5 through SmallNet (weighted layers get rules[k]; ReLU and Flatten pass relevance)."""
    layers = [net.conv1, net.conv2, net.conv3, net.fc1, net.fc2]
    acts, shapes, biases = [], [], []
    h = x[0]
    for k, m in enumerate(layers):
        if isinstance(m, nn.Linear):
            h = h.reshape(-1)
        acts.append(h.reshape(-1))
        shapes.append(tuple(h.shape))
        h = m(h[None])[0].detach()
        bias_full = m.bias.detach().view(-1, *([1] * (h.dim() - 1))).expand(h.shape).reshape(-1)
        biases.append(bias_full)
        if k < len(layers) - 1:
            h = torch.relu(h)
    r = torch.zeros_like(h)
    r[target] = h[target]
    for k in reversed(range(len(layers))):
        w, mask = dense(layers[k], shapes[k])
        r = ref_layer(acts[k], w, mask, biases[k] if bias else None, r.reshape(-1), rules[k])
    return r.reshape(INPUT)


def random_rule(rng: random.Random) -> RuleParams:
    values = {}
    for name, spec in PARAMS.items():
        hi = min(spec.maximum, 2.0)
        values[name] = round(rng.uniform(spec.minimum, hi), 3)
    values["epsilon"] = round(rng.uniform(0.01, 1.0), 3)
    return RuleParams(**values)


def engine_relevance(net: nn.Module, x: torch.Tensor, target: int, rules: list[RuleParams], bias: bool
                     ) -> torch.Tensor:
    graph = build_graph(net, INPUT)
    weighted = [layer.index for layer in graph.layers if layer.rule == "weighted"]
    segments, start = [], 0
    for k in range(len(weighted)):
        end = weighted[k + 1] - 1 if k + 1 < len(weighted) else graph.n_layers - 1
        segments.append(Segment(start=start, end=end, rule=rules[k]))
        start = end + 1
    model = LRPModel(name="oracle", include_bias=bias, segments=segments)
    engine = Engine(graph)
    return engine.explain(engine.forward(x), model, target).input_relevance[0]


def check(rules: list[RuleParams], bias: bool, seed: int = 0) -> None:
    net = small_net(seed)
    x = torch.randn(1, *INPUT, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        target = int(net(x).argmax())
    with torch.no_grad():
        ref = reference(net, x, target, rules, bias)
    got = engine_relevance(net, x, target, rules, bias)
    scale = ref.abs().max().clamp(min=1e-12)
    err = float((got - ref).abs().max() / scale)
    assert err <= 1e-5, f"max relative error {err:.2e}"


@pytest.mark.parametrize("bias", [False, True], ids=["no-bias", "bias"])
@pytest.mark.parametrize("preset", list(PRESETS))
def test_presets_match_reference(preset: str, bias: bool) -> None:
    params = PRESETS[preset].params
    if params.epsilon == 0:
        params = params.model_copy(update={"epsilon": 1e-9})  # keep random nets away from exact 0/0
    check([params] * 5, bias)


@pytest.mark.parametrize("seed", range(12))
def test_random_parameter_mixes_match_reference(seed: int) -> None:
    rng = random.Random(seed)
    rules = [random_rule(rng) for _ in range(5)]
    assert any(r.theta0 != 0 for r in rules) and any(r.gamma0 != 0 for r in rules)
    check(rules, bias=bool(seed % 2), seed=seed)


def test_theta0_and_gamma0_nonzero_everywhere() -> None:
    rule = RuleParams(alpha=1.5, beta=0.5, epsilon=0.1, theta0=0.3, theta1=0.7, gamma0=0.2, gamma1=0.5,
                      gamma1p=0.4, gamma1n=0.3, gamma2=0.6)
    check([rule] * 5, bias=True, seed=3)
