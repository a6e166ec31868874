"""A fuzzer for the compute routes: real images, LRP models that pass the schema, rules at the edges
of their ranges (all-zero weight transforms, β without negative weights, ε = 0, ZBox bounds of every
shape). Schemathesis cannot reach this code: it does not know an image id. Every answer must be 200
with finite numbers, or a 4xx with a message; never a 5xx. ``VISLRP_FUZZ_COMPUTE`` sets the number of
examples (``make fuzz`` raises it)."""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vislrp.lrp import PARAMS
from vislrp.server import Settings, create_app
from vislrp.zoo import ZooModel

EXAMPLES = int(os.environ.get("VISLRP_FUZZ_COMPUTE", "30"))
ROUTES = ["explain", "compare", "flip/curve", "neurons", "neurons/maps", "ablate/curve", "segment-links"]


@pytest.fixture(scope="module")
def compute(zoo_model: ZooModel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str, int]]:
    app = create_app(Settings(data_dir=Path(tmp_path_factory.mktemp("fuzz-compute")), zoo_model=zoo_model))
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as c:
        image_id = c.post("/api/images/sample", json={"name": "chelsea"}).json()["image_id"]
        yield c, image_id, c.get("/api/info").json()["n_layers"]


def param(name: str) -> st.SearchStrategy[float]:
    spec = PARAMS[name]
    edges = st.sampled_from(sorted({spec.minimum, spec.maximum, spec.default, 0.0}))
    return st.one_of(edges, st.floats(spec.minimum, spec.maximum, allow_nan=False))


rules = st.fixed_dictionaries({}, optional={name: param(name) for name in PARAMS}).filter(
    # both pairs at 0 is refused by the contract (tested elsewhere); keep the examples for the engine
    lambda r: (r.get("alpha", 1.0), r.get("beta", 0.0)) != (0, 0)
    and (r.get("theta0", 0.0), r.get("theta1", 1.0)) != (0, 0)
)
bound = st.floats(-3, 3, allow_nan=False)


@st.composite
def zbox(draw: st.DrawFn) -> dict | None:
    if draw(st.booleans()):
        return None
    shape = draw(st.sampled_from(["none", "scalar", "one", "three"]))
    if shape == "none":
        return {"kind": "zbox"}
    n = {"scalar": 1, "one": 1, "three": 3}[shape]
    lows = [draw(bound) for _ in range(n)]
    highs = [lo + draw(st.floats(0, 3, allow_nan=False)) for lo in lows]
    return {"kind": "zbox", "low": lows[0] if shape == "scalar" else lows,
            "high": highs[0] if shape == "scalar" else highs}


@st.composite
def lrp_model(draw: st.DrawFn, n_layers: int) -> dict:
    cuts = sorted(draw(st.sets(st.integers(1, n_layers - 1), max_size=3)))
    edges = [0, *cuts, n_layers]
    segments = [{"start": a, "end": b - 1, "rule": draw(rules)} for a, b in itertools.pairwise(edges)]
    return {"name": "fuzz", "include_bias": draw(st.booleans()), "input_rule": draw(zbox()), "segments": segments}


def finite(node: object) -> bool:
    if isinstance(node, float):
        return math.isfinite(node)
    if isinstance(node, dict):
        return all(finite(v) for v in node.values())
    if isinstance(node, list):
        return all(finite(v) for v in node)
    return True


@given(data=st.data())
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_compute_routes_never_fail(compute: tuple[TestClient, str, int], data: st.DataObject) -> None:
    client, image_id, n_layers = compute
    model = data.draw(lrp_model(n_layers), label="model")
    route = data.draw(st.sampled_from(ROUTES), label="route")
    cls = data.draw(st.sampled_from([0, 281, 999]), label="class")
    body: dict = {"image_id": image_id, "class_index": cls, "model": model}
    if route == "explain":
        body["intermediate"] = data.draw(st.booleans())
    elif route == "compare":
        body = {"rows": [{"image_id": image_id, "class_index": cls}], "models": [model]}
    elif route == "flip/curve":
        body |= {"steps": 3, "patch": data.draw(st.sampled_from([1, 8, 64])), "orders": ["morf", "random"],
                 "mode": data.draw(st.sampled_from(["zero", "black", "blur", "mean"]))}
    elif route == "segment-links":
        body |= {"segment": data.draw(st.integers(1, len(model["segments"]))), "grid": data.draw(st.integers(1, 32)),
                 "x": data.draw(st.floats(0, 1)), "y": data.draw(st.floats(0, 1)),
                 "top_k": data.draw(st.integers(1, 64))}
    elif route.startswith("neurons"):
        body["layer_index"] = data.draw(st.sampled_from([0, 4, n_layers - 1]))
        if route == "neurons/maps":
            body["channels"] = [0, 1]
    else:
        body |= {"layer_index": data.draw(st.sampled_from([0, 4, 30])), "ks": [0, 1, 3]}
    r = client.post(f"/api/{route}", json=body)
    assert r.status_code < 500, (route, model, r.text[:500])
    if r.status_code == 200:
        assert finite(r.json()), (route, model)
    else:
        assert 400 <= r.status_code < 500 and r.json()["detail"]
