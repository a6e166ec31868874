"""The offline default: EfficientNet-Lite0 with real ImageNet weights, traced and explained."""

from __future__ import annotations

import pytest
import torch

from vislrp.lrp import PRESETS, LRPModel
from vislrp.session import Session, open_session

CATS = set(range(281, 288))


@pytest.fixture(scope="module")
def session() -> Session:
    return open_session("efficientnet_lite0")


def test_graph_matches_original_model(session: Session) -> None:
    x = session.load_input("sample:chelsea")
    with torch.no_grad():
        ref = session.zoo.module(x[None])
    fwd = session.engine.forward(x)
    assert torch.allclose(fwd.logits, ref, atol=1e-4)
    kinds = {layer.kind for layer in session.graph.layers}
    assert {"Conv", "ReLU", "Add", "AvgPool", "Linear"} <= kinds and "BatchNorm" not in kinds
    # the shared ReLU6 module is one layer per call
    assert sum(layer.name.startswith("_swish") for layer in session.graph.layers) == 2
    assert session.graph.layers[0].pad is not None  # TF-style same padding attached to the stem conv


@pytest.mark.parametrize("sample", ["chelsea", "coffee"])
def test_default_composite_explains_sensibly(session: Session, sample: str) -> None:
    x = session.load_input(f"sample:{sample}")
    fwd = session.engine.forward(x)
    top = [i for i, _ in fwd.topk(5)]
    if sample == "chelsea":
        assert CATS & set(top)
    ex = session.engine.explain(fwd, session.default_lrp_model(), top[0])
    assert torch.isfinite(ex.input_relevance).all()
    assert ex.warnings() == []
    hm = ex.heatmap()
    assert float(hm.clamp(min=0).sum()) > 2 * float((-hm).clamp(min=0).sum())  # mostly positive evidence


def test_relevance_is_concentrated_not_diffuse(session: Session) -> None:
    """Chelsea's heatmap picks out features (eyes, nose, whiskers): the top 10% of pixels hold at least three
    times their share of positive relevance (measured: about 40%)."""
    fwd = session.engine.forward(session.load_input("sample:chelsea"))
    ex = session.engine.explain(fwd, session.default_lrp_model(), fwd.topk(1)[0][0])
    hm = ex.heatmap().clamp(min=0).flatten()
    top = hm.topk(hm.numel() // 10).values.sum()
    assert float(top) > 0.3 * float(hm.sum())


@pytest.mark.parametrize("preset", ["epsilon", "z-plus", "alpha-beta", "w-square", "flat"])
def test_presets_with_bias_have_no_nan(session: Session, preset: str) -> None:
    fwd = session.engine.forward(session.load_input("sample:coffee"))
    model = LRPModel.single(session.graph.n_layers, preset, include_bias=True)
    ex = session.engine.explain(fwd, model, fwd.topk(1)[0][0])
    assert torch.isfinite(ex.input_relevance).all(), PRESETS[preset].label
