"""Start rules against values computed without them: autograd, linearity, and a CLRP worked out by hand.

With LRP-0 (bias included, ε = 0) propagation is x ⊙ Jᵀ(R_start / z) for any start vector R_start, so the
gradient gives each rule's heatmap; for any other design, propagation is still linear in the start vector, so
``contrastive:b`` is explain(t) − explain(b). The networks are small, random and float64 (lrp_nets).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from lrp_nets import pool_resnet, small_net
from torch import nn

import vislrp
from vislrp.lrp import Engine, LRPModel, StartRule, StartRuleError, build_graph, parse_start
from vislrp.lrp.composites import get_composite

NETS: dict[str, Callable[[], tuple[nn.Module, torch.Tensor]]] = {
    # conv (strided, grouped) + linear with biases; max-pool, residual add, folded BatchNorm, average pool
    "small": lambda: (small_net(0, torch.float64), torch.randn(2, 3, 8, 8, dtype=torch.float64,
                                                               generator=torch.Generator().manual_seed(1))),
    "pool-resnet": lambda: (pool_resnet(0, torch.float64), torch.randn(2, 3, 16, 16, dtype=torch.float64,
                                                                       generator=torch.Generator().manual_seed(2))),
}


def engine_for(model: nn.Module, x: torch.Tensor) -> Engine:
    return Engine(build_graph(model, tuple(x.shape[1:])), bounds=(torch.tensor(-3.0), torch.tensor(3.0)))


def lrp0(engine: Engine) -> LRPModel:
    return LRPModel.single(engine.graph.n_layers, "lrp-0", include_bias=True)


def input_gradient_times_input(model: nn.Module, x: torch.Tensor, weights: Callable[[torch.Tensor], torch.Tensor]
                               ) -> torch.Tensor:
    """x ⊙ ∇_x Σ_n c_n(z) z_n per image, with the coefficients c (rows, classes) held constant (detached)."""
    xg = x.clone().requires_grad_(True)
    z = model(xg)
    (weights(z.detach()) * z).sum().backward()
    assert xg.grad is not None
    return (xg.grad * x).detach()


def close(a: torch.Tensor, b: torch.Tensor, tol: float = 1e-9) -> None:
    err = float((a - b).abs().max() / b.abs().max())
    assert err <= tol, f"relative L∞ {err:.2e}"


@pytest.mark.parametrize("net", list(NETS))
def test_contrastive_with_lrp0_is_gradient_of_the_logit_difference(net: str) -> None:
    model, x = NETS[net]()
    engine = engine_for(model, x)
    fwd = engine.forward(x)
    n = fwd.logits.shape[1]
    for t, b in [(0, 1), (n - 1, 2), (2, 0)]:
        ex = engine.explain(fwd, lrp0(engine), [(0, t), (1, t)], start=f"contrastive:{b}")

        def diff(z: torch.Tensor, t: int = t, b: int = b) -> torch.Tensor:
            c = torch.zeros_like(z)
            c[:, t], c[:, b] = 1.0, -1.0
            return c

        close(ex.input_relevance, input_gradient_times_input(model, x, diff))
        assert ex.start_relevance[0, t] == fwd.logits[0, t] and ex.start_relevance[0, b] == -fwd.logits[0, b]


@pytest.mark.parametrize("net", list(NETS))
def test_sglrp_with_lrp0_is_gradient_through_softmax_gradient_over_z(net: str) -> None:
    """x ⊙ Jᵀ(g / z): g = ∂p_t/∂z by autograd through softmax (not the closed form the code uses)."""
    model, x = NETS[net]()
    engine = engine_for(model, x)
    fwd = engine.forward(x)
    targets = [int(c) for c in fwd.logits.argmax(1)]
    ex = engine.explain(fwd, lrp0(engine), list(enumerate(targets)), start="sglrp")

    def g_over_z(z: torch.Tensor) -> torch.Tensor:
        zz = z.clone().requires_grad_(True)
        p = torch.softmax(zz, dim=1)
        (g,) = torch.autograd.grad(p[torch.arange(len(targets)), targets].sum(), zz)
        return g / z

    close(ex.input_relevance, input_gradient_times_input(model, x, g_over_z))
    assert abs(float(ex.start_relevance.sum())) < 1e-12  # the softmax gradient sums to 0
    assert ex.warnings() == []  # a start summing to 0 is no reason to report an explosion


@pytest.mark.parametrize("net", list(NETS))
def test_contrastive_is_linear_for_any_design(net: str) -> None:
    model, x = NETS[net]()
    engine = engine_for(model, x)
    fwd = engine.forward(x)
    design = get_composite("epsilon-gamma-box").resolve(engine.graph)
    both = engine.explain(fwd, design, [(0, 1), (0, 3)])
    contrast = engine.explain(fwd, design, [(0, 1)], start="contrastive:3")
    close(contrast.input_relevance[0], both.input_relevance[0] - both.input_relevance[1])
    for i, rel in enumerate(contrast.layer_relevance):
        ref = both.layer_relevance[i]
        assert rel is not None and ref is not None
        assert float((rel[0] - (ref[0] - ref[1])).abs().max()) <= 1e-9 * float(ref.abs().max()), i


def test_contrastive_is_linear_on_the_default_network() -> None:
    """EfficientNet-Lite0 with its real weights and the default composite, where gradient × input is no oracle
    (ReLU6 takes the pass rule): tiger cat (282) rather than tabby (281) is the difference of the two heatmaps
    (float32). Chelsea at 64×64 (the network pools adaptively) keeps the test fast."""
    from vislrp.session import Session
    from vislrp.zoo import DEFAULT_MODEL, load_model

    zoo = load_model(DEFAULT_MODEL, "default")
    graph = build_graph(zoo.module, (3, 64, 64))
    session = Session(zoo, graph, Engine(graph, bounds=zoo.preprocess.bounds()))
    x = nn.functional.interpolate(session.load_input("sample:chelsea")[None], size=(64, 64), mode="area")
    fwd = session.engine.forward(x)
    design = session.default_lrp_model()
    both = session.engine.explain(fwd, design, [282, 281], keep_layers=False)
    contrast = session.engine.explain(fwd, design, 282, start="contrastive:281", keep_layers=False)
    close(contrast.input_relevance[0], both.input_relevance[0] - both.input_relevance[1], 1e-5)


class TwoLayer(nn.Module):
    """x (2) → Linear → ReLU → Linear → 3 classes, no biases: small enough to propagate by hand."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(2, 2, bias=False)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(2, 3, bias=False)
        with torch.no_grad():
            self.fc1.weight.copy_(torch.tensor([[1.0, 0.0], [1.0, 1.0]]))
            self.fc2.weight.copy_(torch.tensor([[1.0, 1.0], [2.0, -1.0], [0.0, 1.0]]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.relu(self.fc1(x)))


def test_clrp_on_a_hand_computed_two_layer_example() -> None:
    """x = (1, 2): h = relu(W1 x) = (1, 3), z = W2 h = (4, −1, 3); target 0, LRP-0.

    Target pass, start (4, 0, 0): at fc2 R/z = (1, 0, 0), R_h = h ⊙ W2ᵀ(1, 0, 0) = (1, 3); at fc1
    R_h / (W1 x) = (1, 1), R_x = x ⊙ W1ᵀ(1, 1) = (2, 2).
    Dual pass, z_t = 4 spread over classes 1 and 2 in proportion to |z| = (1, 3): start (0, 1, 3); at fc2
    R/z = (0, −1, 1), R_h = h ⊙ W2ᵀ(0, −1, 1) = (1·(−2), 3·2) = (−2, 6); at fc1 R_h / (1, 3) = (−2, 2),
    R_x = x ⊙ W1ᵀ(−2, 2) = (1·0, 2·2) = (0, 4).
    CLRP = max(0, (2, 2) − (0, 4)) = (2, 0); the hidden layer keeps the signed difference (1, 3) − (−2, 6).
    """
    model = TwoLayer().double().eval()
    x = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    engine = Engine(build_graph(model, (2,)))
    fwd = engine.forward(x)
    assert fwd.logits.tolist() == [[4.0, -1.0, 3.0]]
    ex = engine.explain(fwd, LRPModel.single(engine.graph.n_layers, "lrp-0"), 0, start="clrp")
    assert ex.input_relevance.tolist() == [[2.0, 0.0]]
    assert ex.start_relevance.tolist() == [[4.0, -1.0, -3.0]]
    relu = next(la.index for la in engine.graph.layers if la.kind == "ReLU")
    hidden = ex.layer_relevance[relu]
    assert hidden is not None and hidden.tolist() == [[3.0, -3.0]]
    assert ex.rows == [(0, 0)]


def test_clrp_is_the_clamped_difference_of_its_two_passes() -> None:
    """On a conv net and a batch: CLRP = max(0, logit map − map of the dual start), the dual start built here."""
    model, x = NETS["pool-resnet"]()
    engine = engine_for(model, x)
    fwd = engine.forward(x)
    design = get_composite("epsilon-plus-flat").resolve(engine.graph)
    rows = [(0, 1), (1, 2)]
    ex = engine.explain(fwd, design, rows, start="clrp")
    target = engine.explain(fwd, design, rows)
    dual_start = torch.zeros(len(rows), fwd.logits.shape[1], dtype=fwd.logits.dtype)
    for k, (i, t) in enumerate(rows):
        w = fwd.logits[i].abs()
        w[t] = 0
        dual_start[k] = fwd.logits[i, t] * w / w.sum()
    dual = engine.explain_from(fwd, design, engine.graph.n_layers - 1, dual_start, [i for i, _ in rows])
    close(ex.input_relevance, (target.input_relevance - dual.input_relevance).clamp(min=0))
    assert float(ex.input_relevance.min()) >= 0


def test_api_takes_the_start_rule() -> None:
    model, x = NETS["small"]()
    engine = engine_for(model, x)
    fwd = engine.forward(x)
    ref = engine.explain(fwd, lrp0(engine), [(0, 2), (1, 2)], start="sglrp").input_relevance
    res = vislrp.explain(model, x, 2, lrp0(engine), start="sglrp")
    close(res.relevance, ref)
    with pytest.raises(StartRuleError, match="out of range"):
        vislrp.explain(model, x, 2, lrp0(engine), start="contrastive:5")


def test_logit_and_onehot_are_the_old_init() -> None:
    model, x = NETS["small"]()
    engine = engine_for(model, x)
    fwd = engine.forward(x)
    for init in ("logit", "onehot"):
        old = engine.explain(fwd, lrp0(engine), 3, init=init)  # type: ignore[arg-type]
        assert torch.equal(engine.explain(fwd, lrp0(engine), 3, start=init).input_relevance, old.input_relevance)
    onehot = engine.explain(fwd, lrp0(engine), 3, start="onehot").input_relevance
    close(engine.explain(fwd, lrp0(engine), 3).input_relevance, onehot * fwd.logits[0, 3])


@pytest.mark.parametrize(("text", "message"), [
    ("softmax", "unknown start rule"),
    ("contrastive", "needs the class"),
    ("contrastive:", "needs the class"),
    ("contrastive:tabby", "not a class index"),
    ("contrastive:-3", "negative"),
    ("sglrp:3", "takes no argument"),
    ("logit:1", "takes no argument"),
])
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(StartRuleError, match=message):
        parse_start(text)


def test_parse_round_trip_and_range() -> None:
    for text in ("logit", "onehot", "contrastive:281", "sglrp", "clrp"):
        assert str(parse_start(text)) == text
    assert parse_start(" CLRP ") == StartRule("clrp") and parse_start(None) == StartRule("logit")
    assert parse_start("contrastive:999", 1000).other == 999
    with pytest.raises(StartRuleError, match=r"out of range \(0..999\)"):
        parse_start("contrastive:1000", 1000)
    with pytest.raises(StartRuleError):
        StartRule("contrastive")
    model, x = NETS["small"]()
    engine = engine_for(model, x)
    with pytest.raises(StartRuleError, match=r"class 5 is out of range \(0..4\)"):
        engine.explain(engine.forward(x), lrp0(engine), 1, start="contrastive:5")
