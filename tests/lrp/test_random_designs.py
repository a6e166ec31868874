"""Property test: no in-range LRP model crashes or yields NaN/inf, on every network of the zoo.

Hypothesis draws 1–5 segments with random boundaries, every parameter anywhere in its range (the edges
included, where empty terms and zero denominators live), bias on/off and ZBox on/off. The networks have
random weights (VGG16 and AlexNet with narrower hidden classifier layers, see NARROWED) and the smallest input
that still gives every layer an output (32×32; AlexNet's pooling needs
64×64), except the default network, which runs with its real weights on a real photo, downsampled to
64×64: finiteness depends on the weights and the rules, not on the number of pixels, and fewer pixels make
the 200 examples per network several times cheaper.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Iterator

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lrp_nets import narrow_classifier

from vislrp.lrp import Engine, LRPModel, RuleParams, Segment, ZBoxRule, build_graph
from vislrp.lrp.params import PARAMS
from vislrp.session import Session
from vislrp.zoo import DEFAULT_MODEL, list_models, load_model, load_sample

EXAMPLES = int(os.environ.get("VISLRP_DESIGN_EXAMPLES", "200"))
"""Examples per network (the issue asks for at least 200 in CI; set lower for a quick local run)."""


SMALLEST_INPUT = {"alexnet": 64}
"""Input sides other than 32 px: the smallest at which every layer of the network has an output."""

NARROWED = {"vgg16", "alexnet"}
"""Networks drawn with 256-wide hidden classifier layers (``narrow_classifier``): their 4096-wide ones are 90 % of
the weights, and every example transforms them anew (VGG16: 0.5 GB per copy), while finiteness depends on the
layer kinds, the rules and the weights' scale, which the first layer's unchanged fan-in keeps."""

COVERED_ELSEWHERE = {"vit_b_16", "vit_b_32"}
"""torchvision's ViT-B takes 224 px only, where 200 designs would take many minutes. Their layers are the module
types of ``digits_vit`` (torchvision's own VisionTransformer, drawn here at 32 px with every attention and
LayerNorm rule), and vit_b_16's relevance is checked against LXT at 224 px in test_transformers.py."""


def _value(name: str) -> st.SearchStrategy[float]:
    spec = PARAMS[name]
    edges = st.sampled_from([spec.minimum, spec.maximum, spec.default, 1.0 if spec.maximum >= 1 else spec.maximum])
    return st.one_of(edges, st.floats(spec.minimum, spec.maximum, allow_nan=False, allow_infinity=False))


@st.composite
def rules(draw: st.DrawFn) -> RuleParams:
    values = {name: draw(_value(name)) for name in PARAMS}
    if not (values["alpha"] or values["beta"]):  # the contract refuses a rule with no term at all
        values["alpha"] = 1.0
    if not (values["theta0"] or values["theta1"]):
        values["theta1"] = 1.0
    return RuleParams(**values)


@st.composite
def designs(draw: st.DrawFn, n_layers: int) -> LRPModel:
    k = draw(st.integers(1, min(5, n_layers)))
    cuts = sorted(draw(st.sets(st.integers(1, n_layers - 1), min_size=k - 1, max_size=k - 1))) if k > 1 else []
    bounds = [0, *cuts, n_layers]
    segments = [Segment(start=a, end=b - 1, rule=draw(rules()), attention=draw(st.sampled_from(["cp", "attnlrp"])),
                        layernorm=draw(st.sampled_from(["constant-std", "identity"])))
                for a, b in itertools.pairwise(bounds)]
    return LRPModel(name="random", include_bias=draw(st.booleans()),
                    input_rule=ZBoxRule() if draw(st.booleans()) else None, segments=segments)


@pytest.fixture(scope="module", params=[info.name for info in list_models() if info.name not in COVERED_ELSEWHERE])
def session(request: pytest.FixtureRequest, release_memory: Callable[[], None]
            ) -> Iterator[tuple[Session, torch.Tensor]]:
    name = request.param
    if name == DEFAULT_MODEL:
        zoo = load_model(name)
        photo = zoo.preprocess(load_sample("chelsea"))[None]
        x = torch.nn.functional.interpolate(photo, size=(64, 64), mode="area")[0]
    else:
        zoo = load_model(name, "none")
        if name in NARROWED:
            torch.manual_seed(0)
            narrow_classifier(zoo.module)
        side = SMALLEST_INPUT.get(name, 32)
        x = torch.randn(3, side, side, generator=torch.Generator().manual_seed(0))
    graph = build_graph(zoo.module, tuple(x.shape))
    s = Session(zoo, graph, Engine(graph, bounds=zoo.preprocess.bounds()))
    yield s, x
    # the next network loads in the same process: give this one's memory back first
    s.engine.clear()
    del s, x
    release_memory()


def test_random_designs_stay_finite(session: tuple[Session, torch.Tensor]) -> None:
    s, x = session
    # every example transforms the weights anew: a bound keeps a long pytest process from piling them up
    s.engine.set_cache_budget(1 << 30)
    fwd = s.engine.forward(x)
    target = int(fwd.logits[0].argmax())

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(designs(s.graph.n_layers))
    def check(design: LRPModel) -> None:
        ex = s.engine.explain(fwd, design, target)
        assert bool(torch.isfinite(ex.input_relevance).all()), "input relevance is not finite"
        for index, rel in enumerate(ex.layer_relevance):
            assert rel is None or bool(torch.isfinite(rel).all()), f"layer {index} relevance is not finite"
        acc = ex.accounting()
        assert math.isfinite(acc.final) and all(math.isfinite(v) for _, v in acc.conservation)
        for w in ex.warnings():
            assert "layer" in w  # every warning names where it happened

    check()
