"""POST /api/segment-links: one region of a segment's map propagated alone to the next map, against a float64
oracle of the one layer between the two maps (LRP-ε on the original conv + BatchNorm, by the gradient identity)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

GAMMA = {"gamma1p": 0.25, "epsilon": 1e-6}
EPS = 0.01


def three_segments(n_layers: int) -> dict:
    """Segments [0..6] γ, [7] ε = 0.01 (the one layer between the maps of segments 1 and 2), [8..] γ."""
    return {"name": "links", "include_bias": True, "segments": [
        {"start": 0, "end": 6, "rule": GAMMA},
        {"start": 7, "end": 7, "rule": {"epsilon": EPS}},
        {"start": 8, "end": n_layers - 1, "rule": GAMMA}]}


@pytest.fixture
def ctx(client: TestClient) -> dict:
    info = client.get("/api/info").json()
    img = client.post("/api/images/sample", json={"name": "chelsea"}).json()
    return {"image_id": img["image_id"], "class_index": img["topk"][0]["index"],
            "model": three_segments(info["n_layers"]), "info": info}


def oracle_shares(client: TestClient, ctx: dict, zoo_model, rows: slice, cols: slice) -> tuple[np.ndarray, float]:
    """(8, 8) shares of layer 6's map cells (14×14 px each) in the region's relevance, computed in float64."""
    from vislrp.lrp import LRPModel

    service = client.app.state.networks.active().service
    x = service.image(ctx["image_id"]).x
    model = LRPModel.model_validate(ctx["model"])
    with service.lock:
        ex = service.engine.explain(service.engine.forward(x), model, ctx["class_index"])
    r7 = ex.layer_relevance[7][0].double()
    region = torch.zeros_like(r7)
    region[:, rows, cols] = r7[:, rows, cols]

    net = copy.deepcopy(zoo_model.module).double().eval()
    seen: dict[str, torch.Tensor] = {}
    block = net._blocks[1]
    hook = block._depthwise_conv.register_forward_hook(lambda m, i, o: seen.setdefault("a", i[0].detach()))
    with torch.no_grad():
        net(x[None].double())
    hook.remove()
    a = seen["a"].clone().requires_grad_(True)
    z = block._bn1(block._depthwise_conv(a))
    c = (region[None] / (z + EPS * torch.where(z >= 0, 1.0, -1.0))).detach()
    (grad,) = torch.autograd.grad((z * c).sum(), a)
    low = (a * grad).detach()[0].sum(0).numpy()  # (112, 112)
    sums = low.reshape(8, 14, 8, 14).sum(axis=(1, 3))
    total = float(region.sum())
    return sums / total, float(sums.sum()) / total


def test_links_match_a_float64_oracle_of_the_layer_between(client: TestClient, ctx: dict, zoo_model) -> None:
    body = {k: ctx[k] for k in ("image_id", "class_index", "model")}
    r = client.post("/api/segment-links", json={**body, "segment": 2, "x": 0.55, "y": 0.3, "grid": 8, "top_k": 64})
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["from_layer"], out["to_layer"], out["grid_from"], out["grid_to"]) == (7, 6, [8, 8], [8, 8])
    # 56 px in 8 cells: 7 px each; y = 0.3 → row 2 (px 14..20), x = 0.55 → col 4 (px 28..34)
    assert (out["region"]["row"], out["region"]["col"]) == (2, 4)
    assert out["region"]["top"] == pytest.approx(0.25) and out["region"]["right"] == pytest.approx(5 / 8)
    shares, reached = oracle_shares(client, ctx, zoo_model, slice(14, 21), slice(28, 35))
    assert out["reached"] == pytest.approx(reached, abs=1e-4)
    got = {(s["row"], s["col"]): s["share"] for s in out["sources"]}
    want = {(i, j): shares[i, j] for i in range(8) for j in range(8) if shares[i, j] > 1e-6}
    assert set(got) >= {k for k, v in want.items() if v > 1e-4}
    for k, v in got.items():
        assert v == pytest.approx(shares[k], abs=1e-4), k
    positive = sorted(want, key=lambda k: -want[k])
    assert [(s["row"], s["col"]) for s in out["sources"]] == positive
    # the 3x3 stride-2 kernel (padding right and below) spills the region's rows 14..20 onto input rows 28..42
    # and its columns 28..34 onto 56..70: cells (2..3, 4..5) all receive some, of either sign
    assert {(i, j) for i in range(8) for j in range(8) if abs(shares[i, j]) > 1e-4} == {(2, 4), (2, 5), (3, 4), (3, 5)}
    top5 = client.post("/api/segment-links", json={**body, "segment": 2, "x": 0.55, "y": 0.3, "grid": 8}).json()
    assert [(s["row"], s["col"]) for s in top5["sources"]] == [(s["row"], s["col"]) for s in out["sources"][:5]]


def test_links_bad_input_is_a_clear_422(client: TestClient, ctx: dict) -> None:
    body = {k: ctx[k] for k in ("image_id", "class_index", "model")}
    for extra, words in (({"segment": 0}, "segment"), ({"segment": 3}, "does not exist"), ({"x": 1.5}, "x"),
                         ({"grid": 0}, "grid")):
        r = client.post("/api/segment-links", json={**body, "segment": 2, "x": 0.5, "y": 0.5, **extra})
        assert r.status_code == 422 and words in r.json()["detail"], r.text
    # the default composite's second segment starts after the flatten: its map is a vector
    r = client.post("/api/segment-links", json={**body, "model": ctx["info"]["default_model"], "segment": 1,
                                                "x": 0.5, "y": 0.5})
    assert r.status_code == 422 and "spatial" in r.json()["detail"], r.text
    r = client.post("/api/segment-links", json={**body, "image_id": "nope", "segment": 2, "x": 0.5, "y": 0.5})
    assert r.status_code == 404


def test_whole_map_region_to_the_input_carries_the_explain_totals(client: TestClient, ctx: dict) -> None:
    """grid = 1: the region is all of layer 6's map, and all input relevance passes through layer 6, so the one
    source cell (the whole input) holds /api/explain's heatmap total and the region the layer's ΣR."""
    n = ctx["info"]["n_layers"]
    model = {"name": "two", "include_bias": True, "input_rule": {"kind": "zbox"},
             "segments": [{"start": 0, "end": 6, "rule": GAMMA}, {"start": 7, "end": n - 1, "rule": GAMMA}]}
    body = {"image_id": ctx["image_id"], "class_index": ctx["class_index"], "model": model}
    ex = client.post("/api/explain", json=body).json()
    layer6 = next(m for m in ex["intermediate"] if m["segment"] == 1)
    assert layer6["layer_index"] == 6
    for x, y in ((0.0, 0.0), (1.0, 1.0), (0.3, 0.7)):
        out = client.post("/api/segment-links", json={**body, "segment": 1, "x": x, "y": y, "grid": 1}).json()
        assert (out["to_layer"], out["grid_from"], out["grid_to"]) == (-1, [1, 1], [1, 1])
        assert out["region"]["relevance"] == pytest.approx(layer6["heatmap"]["total"] * 96, rel=1e-4)
        (cell,) = out["sources"]
        assert (cell["top"], cell["left"], cell["bottom"], cell["right"]) == (0, 0, 1, 1)
        assert cell["relevance"] == pytest.approx(ex["heatmap"]["total"], rel=1e-4)
        assert cell["share"] == pytest.approx(ex["heatmap"]["total"] / out["region"]["relevance"], rel=1e-4)
    fine = client.post("/api/segment-links", json={**body, "segment": 1, "x": 1, "y": 1, "grid": 32, "top_k": 64})
    assert fine.status_code == 200 and fine.json()["grid_to"] == [32, 32]
    assert all(0.96 <= c["bottom"] <= 1 for c in [fine.json()["region"]])
