"""The neuron view's routes on a vision transformer's attention heads (issue 16 item 5): the layer
``….self_attention.heads`` (the A·v product, output (heads, tokens, head dim)) has heads as its units.

Checked against values computed without the server's analysis code: a head's relevance against the engine's
layer relevance, and an ablated head against torchvision's own ``VisionTransformer`` with that head's columns of
``out_proj`` zeroed (zeroing a head's output is exactly that, and it never touches the graph the engine traced).
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from vislrp.lrp import LRPModel
from vislrp.server import Settings, create_app
from vislrp.zoo import ZooModel, load_model, load_sample
from vislrp.zoo.models import DIGITS_VIT_ARGS, make_digits_vit

LOCAL = "http://127.0.0.1"
HEADS = 19
"""``encoder.layers.encoder_layer_0.self_attention.heads`` in digits_vit's layer list."""
N_HEADS = DIGITS_VIT_ARGS["num_heads"]
HEAD_DIM = DIGITS_VIT_ARGS["hidden_dim"] // N_HEADS
SAMPLE = "digits:3"


def vit_weights(path: Path) -> Path:
    """digits_vit at its seeded random init with a random classification head (torchvision initialises the head
    to zero, so every logit and all relevance would be 0), saved as a state-dict file."""
    torch.manual_seed(0)
    module = make_digits_vit(**DIGITS_VIT_ARGS)
    with torch.no_grad():
        head = module.heads.head
        head.weight.copy_(torch.randn(head.weight.shape, generator=torch.Generator().manual_seed(0)))
    torch.save(module.state_dict(), path)
    return path


@pytest.fixture(scope="module")
def vit(tmp_path_factory: pytest.TempPathFactory) -> ZooModel:
    return load_model("digits_vit", weights=str(vit_weights(tmp_path_factory.mktemp("w") / "digits_vit.pt")))


@pytest.fixture(scope="module")
def reference(vit: ZooModel) -> torch.nn.Module:
    """A copy of the torchvision module taken before the server traces (and rewrites) the network."""
    return copy.deepcopy(vit.module)


@pytest.fixture(scope="module")
def client(vit: ZooModel, reference: torch.nn.Module, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("data"), zoo_model=vit, sample=SAMPLE))
    with TestClient(app, base_url=LOCAL) as c:
        yield c


@pytest.fixture(scope="module")
def ctx(client: TestClient) -> dict:
    info = client.get("/api/info").json()
    img = client.post("/api/images/sample", json={"name": SAMPLE}).json()
    return {"image_id": img["image_id"], "class_index": img["topk"][0]["index"], "model": info["default_model"],
            "info": info}


def decode(h: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(h["data"]), dtype="<f4").reshape(h["shape"])


def ablated_reference(vit: ZooModel, module: torch.nn.Module, heads: list[int], block: int = 0) -> torch.Tensor:
    """Logits of the sample with ``heads`` of encoder block ``block`` zeroed, by torchvision's module itself."""
    m = copy.deepcopy(module)
    attn = m.encoder.layers[block].self_attention
    with torch.no_grad():
        for h in heads:
            attn.out_proj.weight[:, h * HEAD_DIM:(h + 1) * HEAD_DIM] = 0
        return m(vit.preprocess(load_sample(SAMPLE)).unsqueeze(0))[0]


def body(ctx: dict, **extra: object) -> dict:
    return {**{k: ctx[k] for k in ("image_id", "class_index", "model")}, **extra}


def test_the_heads_layer_is_where_the_test_expects_it(ctx: dict) -> None:
    layer = ctx["info"]["layers"][HEADS]
    assert layer["name"] == "encoder.layers.encoder_layer_0.self_attention.heads"
    assert (layer["kind"], layer["shape"], layer["block"]) == ("MatMul", [N_HEADS, 65, HEAD_DIM], 0)


def test_neurons_list_one_row_per_head_with_the_engines_relevance(client: TestClient, ctx: dict) -> None:
    r = client.post("/api/neurons", json=body(ctx, layer_index=HEADS))
    assert r.status_code == 200, r.text
    rows = r.json()["neurons"]
    assert [n["channel"] for n in rows] == list(range(N_HEADS))
    # The engine's relevance at the layer, split by head (axis 0), from a plain explain with that layer kept.
    service = client.app.state.networks.active().service
    entry = service.image(ctx["image_id"])
    ex = service.engine.explain(service.engine.forward(entry.x), LRPModel.model_validate(ctx["model"]),
                                ctx["class_index"], keep_layers=True)
    rel = ex.layer_relevance[HEADS][0].double()
    for h, row in enumerate(rows):
        assert row["pos"] == pytest.approx(float(rel[h].clamp(min=0).sum()), rel=1e-5, abs=1e-6)
        assert row["neg"] == pytest.approx(float(rel[h].clamp(max=0).sum()), rel=1e-5, abs=1e-6)
    assert any(abs(row["pos"]) + abs(row["neg"]) > 1e-3 for row in rows)


def test_head_maps_are_on_the_patch_grid(client: TestClient, ctx: dict) -> None:
    """A head's relevance and activation on the 8×8 patch grid (the class token, token 0, left out); its
    conditional heatmap is its relevance alone propagated to the input."""
    r = client.post("/api/neurons/maps", json=body(ctx, layer_index=HEADS, channels=[0, 2]))
    assert r.status_code == 200, r.text
    maps = r.json()["maps"]
    assert [m["channel"] for m in maps] == [0, 2]
    service = client.app.state.networks.active().service
    engine = service.engine
    fwd = engine.forward(service.image(ctx["image_id"]).x)
    model = LRPModel.model_validate(ctx["model"])
    rel = engine.explain(fwd, model, ctx["class_index"], keep_layers=True).layer_relevance[HEADS][0]
    out = fwd.env[service.graph.layers[HEADS].node][0]
    for m in maps:
        h = m["channel"]
        np.testing.assert_allclose(decode(m["relevance"]), rel[h, 1:].sum(-1).reshape(8, 8).numpy(), rtol=1e-4,
                                   atol=1e-6)
        np.testing.assert_allclose(decode(m["activation"]), out[h, 1:].mean(-1).reshape(8, 8).numpy(), rtol=1e-4,
                                   atol=1e-6)
        alone = torch.zeros_like(rel)
        alone[h] = rel[h]
        conditional = engine.explain_from(fwd, model, HEADS, alone.unsqueeze(0)).input_relevance[0].sum(0)
        np.testing.assert_allclose(decode(m["conditional"]), conditional.numpy(), rtol=1e-4, atol=1e-6)
        assert m["conditional"]["shape"] == [32, 32]


def test_ablating_a_head_equals_zeroing_its_columns_of_out_proj(client: TestClient, ctx: dict, vit: ZooModel,
                                                                  reference: torch.nn.Module) -> None:
    for heads in ([0], [1, 3], list(range(N_HEADS))):
        r = client.post("/api/ablate", json={"image_id": ctx["image_id"], "class_index": ctx["class_index"],
                                             "layer_index": HEADS, "channels": heads})
        assert r.status_code == 200, r.text
        out = r.json()
        expected = ablated_reference(vit, reference, heads)
        assert out["score"] == pytest.approx(float(expected[ctx["class_index"]]), abs=1e-4)
        assert out["score"] != pytest.approx(out["original_score"], abs=1e-3)


def test_ablation_curve_over_heads(client: TestClient, ctx: dict, vit: ZooModel, reference: torch.nn.Module) -> None:
    r = client.post("/api/ablate/curve", json=body(ctx, layer_index=HEADS))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["ks"] == list(range(N_HEADS + 1))
    everything = float(ablated_reference(vit, reference, list(range(N_HEADS)))[ctx["class_index"]])
    assert out["top"][-1] == pytest.approx(everything, abs=1e-4)
    assert out["random"][-1] == pytest.approx(everything, abs=1e-4)


def test_a_neuron_filter_on_heads_keeps_and_excludes(client: TestClient, ctx: dict) -> None:
    def heatmap(mode: str) -> np.ndarray:
        model = {**ctx["model"], "neuron_filter": {"layer": HEADS, "channels": [1], "mode": mode}}
        r = client.post("/api/explain", json={"image_id": ctx["image_id"], "class_index": ctx["class_index"],
                                              "model": model, "intermediate": False})
        assert r.status_code == 200, r.text
        return decode(r.json()["heatmap"]).astype(np.float64)

    plain = client.post("/api/explain", json={"image_id": ctx["image_id"], "class_index": ctx["class_index"],
                                              "model": ctx["model"], "intermediate": False}).json()["heatmap"]
    np.testing.assert_allclose(heatmap("keep") + heatmap("exclude"), decode(plain), atol=1e-5)


def test_other_attention_layers_are_refused_naming_the_heads_layers(client: TestClient, ctx: dict) -> None:
    for layer in (HEADS - 2, HEADS - 1, HEADS + 1):  # the scores product, the softmax, the heads' transpose
        r = client.post("/api/neurons", json=body(ctx, layer_index=layer))
        assert r.status_code == 422
        assert "attention heads layers: 19, 45, 71" in r.json()["detail"]


@pytest.mark.parametrize("asked,expected", [(None, "digits:0"), ("digits:42", "digits:42"), ("digits:400", "chelsea")])
def test_digits_networks_open_on_a_digit(tmp_path: Path, asked: str | None, expected: str) -> None:
    """With no sample asked for, a digits network opens on its own sample (a digit, not a photo squeezed to
    32 px); any of the 360 test digits can be asked for; one out of range falls back to the first listed."""
    app = create_app(Settings(data_dir=tmp_path, zoo_model=load_model("digits_vit"), sample=asked))
    with TestClient(app, base_url=LOCAL) as client:
        assert client.get("/api/info").json()["default_sample"] == expected
