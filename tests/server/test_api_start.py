"""Start rules through the HTTP API (issue 17 item 1, the designer's side): explain, compare and segment-links take a
``start``, answer which one they used, refuse a bad one with a clear 4xx, and /api/info lists the kinds.

The oracle is linearity: propagation is linear in the start vector, so with any design the map of
``contrastive:b`` is the map of the target's logit minus the map of b's logit, both asked of the API separately.
"""

from __future__ import annotations

import base64

import numpy as np
import pytest
from fastapi.testclient import TestClient

from vislrp.lrp.start import START_KINDS, START_PATTERN


def decode(h: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(h["data"]), dtype="<f4").reshape(h["shape"]).astype(np.float64)


@pytest.fixture
def ctx(client: TestClient) -> dict:
    info = client.get("/api/info").json()
    img = client.post("/api/images/sample", json={"name": "chelsea"}).json()
    top, second = img["topk"][0]["index"], img["topk"][1]["index"]
    return {"info": info, "image_id": img["image_id"], "t": top, "b": second, "model": info["default_model"]}


def explain(client: TestClient, ctx: dict, class_index: int, **extra: object) -> dict:
    r = client.post("/api/explain", json={"image_id": ctx["image_id"], "class_index": class_index,
                                          "model": ctx["model"], "intermediate": False, **extra})
    assert r.status_code == 200, r.text
    return r.json()


def close(got: np.ndarray, want: np.ndarray) -> None:
    """Equal up to float32 rounding of two separate propagations: relative L-inf ≤ 1e-4."""
    assert got.shape == want.shape
    err = np.abs(got - want).max() / np.abs(want).max()
    assert err <= 1e-4, f"relative L-inf {err:.3g}"


def test_contrastive_is_the_difference_of_two_logit_maps(client: TestClient, ctx: dict) -> None:
    t, b = ctx["t"], ctx["b"]
    plain = explain(client, ctx, t)
    assert plain["start"] == "logit"  # a request without a start explains the target's logit
    other = explain(client, ctx, b)
    contrast = explain(client, ctx, t, start=f"contrastive:{b}")
    assert contrast["start"] == f"contrastive:{b}"
    want = decode(plain["heatmap"]) - decode(other["heatmap"])
    close(decode(contrast["heatmap"]), want)
    # the two classes are nearly tied on chelsea: the difference is a map of its own, not a rescaled logit map
    assert np.abs(want).max() > 1e-3 * np.abs(decode(plain["heatmap"])).max()
    assert contrast["accounting"]["start"] == pytest.approx(plain["score"] - other["score"], rel=1e-4)


def test_compare_rows_carry_their_start_rule(client: TestClient, ctx: dict) -> None:
    t, b = ctx["t"], ctx["b"]
    rows = [{"image_id": ctx["image_id"], "class_index": t},
            {"image_id": ctx["image_id"], "class_index": t, "start": f"contrastive:{b}"},
            {"image_id": ctx["image_id"], "class_index": t, "start": "onehot"}]
    r = client.post("/api/compare", json={"rows": rows, "models": [ctx["model"]]})
    assert r.status_code == 200, r.text
    out = r.json()
    assert [row["start"] for row in out["rows"]] == ["logit", f"contrastive:{b}", "onehot"]
    cells = {c["row"]: decode(c["heatmap"]) for c in out["cells"]}
    close(cells[1], decode(explain(client, ctx, t, start=f"contrastive:{b}")["heatmap"]))
    close(cells[2], cells[0] / out["rows"][0]["score"])  # onehot is the logit map divided by z_t


def test_segment_links_follow_the_start_rule(client: TestClient, ctx: dict) -> None:
    """The explanation cache behind segment-links is keyed by the start rule too: a second rule is not served the
    first one's cached maps."""
    n = ctx["info"]["n_layers"]
    model = {"name": "links", "include_bias": True, "segments": [
        {"start": 0, "end": 6, "rule": {"epsilon": 1e-6}}, {"start": 7, "end": n - 1, "rule": {"epsilon": 1e-6}}]}
    body = {"image_id": ctx["image_id"], "class_index": ctx["t"], "model": model, "segment": 1, "x": 0.5, "y": 0.5}
    plain = client.post("/api/segment-links", json=body).json()
    contrast = client.post("/api/segment-links", json={**body, "start": f"contrastive:{ctx['b']}"}).json()
    onehot = client.post("/api/segment-links", json={**body, "start": "onehot"}).json()
    assert plain["region"]["relevance"] != pytest.approx(contrast["region"]["relevance"], rel=1e-3)
    score = explain(client, ctx, ctx["t"])["score"]
    assert onehot["region"]["relevance"] == pytest.approx(plain["region"]["relevance"] / score, rel=1e-4)


BAD_STARTS = [
    ("foo", "unknown start rule 'foo'; choose from logit, onehot, contrastive:B, sglrp, clrp"),
    ("contrastive", "contrastive needs the class to contrast with"),
    ("contrastive:x", "'x' is not a class index"),
    ("sglrp:3", "takes no argument"),
    ("SGLRP", "write the start rule as 'sglrp'"),
    ("contrastive:99999", "contrastive: class 99999 is out of range (0..999)"),
]


def test_a_bad_start_rule_is_a_422_with_a_message(client: TestClient, ctx: dict) -> None:
    for start, words in BAD_STARTS:  # one app for all cases: the suite's time is tight
        r = client.post("/api/explain", json={"image_id": ctx["image_id"], "class_index": ctx["t"],
                                              "model": ctx["model"], "start": start})
        assert r.status_code == 422 and words in r.json()["detail"], r.text
        rows = [{"image_id": ctx["image_id"], "class_index": ctx["t"], "start": start}]
        for path in ("/api/compare", "/api/jobs/compare"):  # the job is refused before it is queued
            r = client.post(path, json={"rows": rows, "models": [ctx["model"]]})
            assert r.status_code == 422 and words in r.json()["detail"], (path, r.text)
        body = {"image_id": ctx["image_id"], "class_index": ctx["t"], "model": ctx["model"], "segment": 1,
                "x": 0.5, "y": 0.5, "start": start}
        r = client.post("/api/segment-links", json=body)
        assert r.status_code == 422 and words in r.json()["detail"], r.text


def test_info_lists_the_start_kinds(client: TestClient) -> None:
    info = client.get("/api/info").json()
    kinds = info["start_kinds"]
    assert [k["name"] for k in kinds] == list(START_KINDS)
    assert [k["name"] for k in kinds if k["takes_class"]] == ["contrastive"]
    assert all(k["description"] for k in kinds)
    assert {k["name"]: k["spelling"] for k in kinds}["contrastive"] == "contrastive:B"
    assert info["default_start"] == "logit"


def test_openapi_states_the_pattern(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for name in ("ExplainRequest", "CompareStartRow", "SegmentLinksRequest"):
        assert schemas[name]["properties"]["start"]["pattern"] == START_PATTERN, name
