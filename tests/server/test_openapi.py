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
