"""``/api/workspace`` (issue 18, point 4): the page's working set per network survives a restart, stays per network
key, and bad or oversized documents get a clear 4xx while the server keeps answering."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from vislrp.server import Settings, create_app
from vislrp.server.routes import workspace as workspace_routes
from vislrp.store.workspace import MAX_WORKSPACE_BYTES, WorkspaceStore
from vislrp.zoo import ZooModel

LOCAL = "http://127.0.0.1"
KEY = "efficientnet_lite0@default"

ROW = {"image": {"kind": "sample", "name": "chelsea"}, "class_index": 281, "label": "tabby",
       "start": "logit", "start_caption": "logit"}
CURVE = {"image_id": "abc", "class_index": 281, "label": "EpsilonGammaBox", "steps": 2, "patch": 8, "mode": "zero",
         "curves": [{"order": "morf", "aopc": 1.5, "points": [
             {"fraction": 0.0, "logit": 9.0, "top1": 281, "top1_label": "tabby"},
             {"fraction": 1.0, "logit": 1.0, "top1": 111, "top1_label": "nematode"}]}],
         "elapsed_ms": 12.0, "forward_ms": 3.0}
DOC = {
    "version": 1,
    "compare": {"columns": [{"id": 1, "name": "EpsilonGammaBox"}, {"id": 2, "name": "LRP-0"}],
                "rows": [ROW, {**ROW, "start": "contrastive:285", "start_caption": "contrastive vs “Egyptian cat”"}],
                "shared_scale": True, "compare_logit": False},
    "flip": {"image": {"kind": "sample", "name": "chelsea"}, "class_index": 281, "mode": "blur", "brush_radius": 4.5,
             "rows": [{"size": 2, "mask": "0x1,1x1,0x1,2x1",
                       "brush": {"shape": "square", "erase": True, "fill": "mean"}}],
             "curve": CURVE},
    "landscape": {"request": {"axes": [{"name": "S1.gamma1p", "start": 0, "stop": 1, "steps": 2}]},
                  "result": {"points": [], "best": None}, "labels": ["chelsea · tabby"], "base_id": 1},
    "recommendation": {"result": {"metrics": []}, "rows_key": "[]", "network": "efficientnet_lite0|default",
                       "labels": [], "sweeps": False},
}


@pytest.fixture(scope="module")
def api(zoo_model: ZooModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One app for the module's checks of bad input (each builds nothing; the restart tests make their own)."""
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("workspace"), zoo_model=zoo_model))
    with TestClient(app, base_url=LOCAL) as c:
        yield c


def put(c: TestClient, doc: object, network: str = KEY):
    return c.put("/api/workspace", params={"network": network}, json=doc)


def test_round_trip_per_network_and_across_a_restart(zoo_model: ZooModel, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, zoo_model=zoo_model)
    with TestClient(create_app(settings), base_url=LOCAL) as c:
        empty = c.get("/api/workspace", params={"network": KEY})
        assert empty.status_code == 200 and empty.json()["workspace"] is None
        r = put(c, DOC)
        assert r.status_code == 200, r.text
        assert r.json()["workspace"] == DOC and r.json()["bytes"] > 0
        other = put(c, {"compare": {"rows": [ROW]}}, network="vgg16@none")
        assert other.status_code == 200, other.text
        assert c.get("/api/workspace", params={"network": KEY}).json()["workspace"] == DOC
    with TestClient(create_app(settings), base_url=LOCAL) as c:  # a restart: same data directory
        got = c.get("/api/workspace", params={"network": KEY}).json()
        assert got["workspace"] == DOC and got["network"] == KEY and got["updated"] is not None
        vgg = c.get("/api/workspace", params={"network": "vgg16@none"}).json()["workspace"]
        assert vgg["compare"]["rows"] == [ROW] and vgg["flip"] is None  # defaults filled in, nothing of the other key
        assert c.delete("/api/workspace", params={"network": KEY}).status_code == 204
        assert c.get("/api/workspace", params={"network": KEY}).json()["workspace"] is None
        assert c.delete("/api/workspace", params={"network": KEY}).status_code == 204  # clearing twice is no error
        assert c.get("/api/workspace", params={"network": "vgg16@none"}).json()["workspace"]["compare"]["rows"] == [ROW]


@pytest.mark.parametrize("network", ["", "nonet@default", "vgg16", "vgg16@weird", "vgg16@upload:xyz"])
def test_a_bad_network_key_is_422(api: TestClient, network: str) -> None:
    for r in (api.get("/api/workspace", params={"network": network}), put(api, DOC, network),
              api.delete("/api/workspace", params={"network": network})):
        assert r.status_code == 422 and "network" in r.json()["detail"], r.text
    assert api.get("/api/workspace").status_code == 422  # no key at all


@pytest.mark.parametrize("doc, where", [
    ({"version": 2}, "version"),
    ({"compare": {"rows": [{**ROW, "class_index": -1}]}}, "class_index"),
    ({"compare": {"rows": [{**ROW, "image": {"kind": "photo", "id": "../../etc", "name": "x"}}]}}, "id"),
    ({"compare": {"rows": [ROW] * 65}}, "rows"),
    ({"flip": {**DOC["flip"], "rows": [{"size": 2, "mask": "0x1,,1x3"}]}}, "mask"),
    ({"flip": {**DOC["flip"], "rows": [{"size": 2, "mask": "AAEAAg=="}]}}, "mask"),
    ({"flip": {**DOC["flip"], "brush_radius": 0}}, "brush_radius"),
    ({"compare": {"columns": [{"id": 2**53, "name": "x"}]}}, "id"),
    ({"unknown": 1}, "unknown"),
])
def test_invalid_documents_are_422_naming_the_field(api: TestClient, doc: dict, where: str) -> None:
    put(api, DOC)
    r = put(api, doc)
    assert r.status_code == 422 and where in r.json()["detail"], r.text
    assert api.get("/api/workspace", params={"network": KEY}).json()["workspace"] == DOC  # the old one stays


def test_bad_json_deep_nesting_and_oversized_bodies_are_refused_and_the_server_stays_up(api: TestClient) -> None:
    put(api, DOC)
    headers = {"content-type": "application/json"}
    bad = api.put("/api/workspace", params={"network": KEY}, content=b'{"compare": ', headers=headers)
    assert bad.status_code in (400, 422) and bad.json()["detail"], bad.text
    deep = {"landscape": {**DOC["landscape"], "result": {"deep": functools.reduce(lambda x, _: [x], range(60), [])}}}
    r = put(api, deep)
    assert r.status_code == 422 and "nests" in r.json()["detail"], r.text
    mask = ",".join(["1x1,0x1"] * 60_000)  # 840,000 characters: a scattered mask
    huge = {**DOC, "flip": {**DOC["flip"], "rows": [{"size": 400, "mask": mask}] * 3}}
    assert len(json.dumps(huge)) > MAX_WORKSPACE_BYTES
    r = put(api, huge)
    assert r.status_code == 413 and "limit" in r.json()["detail"], r.text
    assert api.get("/api/info").status_code == 200  # still up
    assert api.get("/api/workspace", params={"network": KEY}).json()["workspace"] == DOC


def test_a_document_over_the_stores_bound_is_413(zoo_model: ZooModel, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The body may pass the request cap yet the stored JSON the store's bound (defaults filled in): 413 too."""
    monkeypatch.setattr(workspace_routes, "WorkspaceStore", functools.partial(WorkspaceStore, max_bytes=2000))
    with TestClient(create_app(Settings(data_dir=tmp_path, zoo_model=zoo_model)), base_url=LOCAL) as c:
        assert put(c, {"compare": {"rows": [ROW]}}).status_code == 200
        r = put(c, {"compare": {"rows": [ROW] * 20}})
        assert r.status_code == 413 and "at most 2,000 bytes" in r.json()["detail"], r.text
        assert c.get("/api/workspace", params={"network": KEY}).json()["workspace"]["compare"]["rows"] == [ROW]


def test_a_stored_document_that_no_longer_reads_is_no_workspace_with_a_note(zoo_model: ZooModel,
                                                                             tmp_path: Path) -> None:
    WorkspaceStore(tmp_path / "designer.sqlite3").put(KEY, 7, {"version": 7, "from": "the future"})
    with TestClient(create_app(Settings(data_dir=tmp_path, zoo_model=zoo_model)), base_url=LOCAL) as c:
        got = c.get("/api/workspace", params={"network": KEY}).json()
        assert got["workspace"] is None and "version 7" in got["note"]


def test_the_openapi_document_states_the_constraints(api: TestClient) -> None:
    doc = api.get("/openapi.json").json()
    put_op = doc["paths"]["/api/workspace"]["put"]
    assert {"400", "413", "422", "503"} <= set(put_op["responses"])
    network = next(p for p in put_op["parameters"] if p["name"] == "network")
    assert "vgg16" in network["schema"]["pattern"] and network["required"] is True
    schemas = doc["components"]["schemas"]
    assert schemas["WorkspaceFlipRow"]["properties"]["mask"]["maxLength"] == 500_000
    assert schemas["WorkspaceCompare"]["properties"]["rows"]["maxItems"] == 64
    assert schemas["WorkspaceColumn"]["properties"]["id"]["maximum"] == 2**53 - 1
    assert schemas["Workspace"]["additionalProperties"] is False
