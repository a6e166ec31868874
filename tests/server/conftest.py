"""One loaded network for all server tests; each test gets a fresh app and data directory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient

from vislrp.lrp import LayerGraph, build_graph
from vislrp.server import Settings, create_app, service
from vislrp.zoo import DEFAULT_MODEL, ZooModel, load_model

LOCAL = "http://127.0.0.1"
"""Tests talk to the app as a browser on this machine would: the server refuses other Host names."""


@pytest.fixture(scope="session")
def zoo_model() -> Iterator[ZooModel]:
    zoo = load_model(DEFAULT_MODEL)
    # Every app traces this network again (0.3 s); the graph is only read once built (a server's job engine
    # already shares its service's), so the apps of this process share one trace.
    traced: dict[tuple[int, ...], LayerGraph] = {}

    def build_once(module: torch.nn.Module, input_shape: tuple[int, ...], **kwargs: object) -> LayerGraph:
        if module is not zoo.module or kwargs:
            return build_graph(module, input_shape, **kwargs)  # type: ignore[arg-type]  # passed through as given
        if input_shape not in traced:
            traced[input_shape] = build_graph(module, input_shape)
        return traced[input_shape]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(service, "build_graph", build_once)  # a memo with the same signature, undone at the end
        yield zoo


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def client(zoo_model: ZooModel, data_dir: Path, release_memory: Callable[[], None]) -> Iterator[TestClient]:
    app = create_app(Settings(data_dir=data_dir, zoo_model=zoo_model))
    with TestClient(app, base_url=LOCAL) as c:
        yield c
    # each test has its own app, networks and caches: free them now, not whenever the garbage collector runs
    del app, c
    release_memory()


@pytest.fixture
def rows(client: TestClient) -> list[dict]:
    """Two comparison rows: the chelsea and coffee samples, each with its top class."""
    out = []
    for name in ("chelsea", "coffee"):
        img = client.post("/api/images/sample", json={"name": name}).json()
        out.append({"image_id": img["image_id"], "class_index": img["topk"][0]["index"]})
    return out
