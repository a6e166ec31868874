"""The committed OpenAPI snapshot (web/openapi.json) that the front-end types are generated from."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

SNAPSHOT = Path(__file__).resolve().parents[2] / "web" / "openapi.json"


def test_openapi_snapshot_is_current(client: TestClient) -> None:
    live = client.app.openapi()
    committed = json.loads(SNAPSHOT.read_text())
    assert committed == json.loads(json.dumps(live)), (
        "web/openapi.json is stale: run `cd web && npm run api` and commit the result"
    )


def test_schemas_have_no_untyped_fields(client: TestClient) -> None:
    schemas = client.app.openapi()["components"]["schemas"]

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            if "properties" in node:
                for name, prop in node["properties"].items():
                    assert prop != {} and (set(prop) - {"title", "description", "default"}), (
                        f"{where}.{name} untyped"
                    )
            for k, v in node.items():
                walk(v, f"{where}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}[{i}]")

    walk(schemas, "schemas")


def test_enums_and_info_come_from_the_registries(client: TestClient) -> None:
    from vislrp.analysis import FILL_MODES, FILLS, FLIP_MODES
    from vislrp.analysis.metrics import METRICS, REGION_FREE

    schemas = client.app.openapi()["components"]["schemas"]
    assert schemas["MetricsRequest"]["properties"]["metrics"]["items"]["enum"] == list(METRICS)
    assert schemas["LandscapeRequest"]["properties"]["metric"]["enum"] == list(REGION_FREE)
    assert schemas["MetricsRequest"]["properties"]["fill"]["enum"] == list(FILL_MODES)
    assert schemas["FlipRequest"]["properties"]["mode"]["enum"] == list(FLIP_MODES)
    info = client.get("/api/info").json()
    assert [(m["name"], m["label"], m["higher_is_better"], m["needs_region"], m["kind"]) for m in info["metrics"]] == [
        (m.name, m.label, m.higher_is_better, m.needs_region, m.kind) for m in METRICS.values()]
    assert [(f["name"], f["label"], f["per_mask"]) for f in info["fills"]] == [
        (f.name, f.label, f.per_mask) for f in FILLS.values()]
    d = info["defaults"]
    assert d["flip_mode"] in FLIP_MODES and d["fill"] in FILL_MODES and d["landscape_metric"] in REGION_FREE
    assert set(d["metrics"]) <= set(METRICS) and set(d["recommend_metrics"]) <= set(REGION_FREE)


def test_every_operation_with_a_body_documents_the_body_deadline(client: TestClient) -> None:
    """The body-deadline middleware answers 408 on every API method that carries a body (test_load.py sees it do
    so); the document must say so, with the error body every other error has."""
    paths = client.app.openapi()["paths"]
    with_body = [(p, m) for p, ops in paths.items() for m in ops if p.startswith("/api/") and m in ("post", "put",
                                                                                                   "patch", "delete")]
    assert len(with_body) >= 20
    for path, method in with_body:
        declared = paths[path][method]["responses"].get("408")
        assert declared, f"{method.upper()} {path} does not document 408"
        assert declared["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
