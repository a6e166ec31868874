"""Network picker: zoo list, loading as a job, switching back, per-network saved models, uploaded
weights (checked, never executed, size-capped) and the LRU memory budget."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import pytest
import torch
import torchvision
from fastapi.testclient import TestClient
from jobwait import wait

from vislrp.lrp import build_graph
from vislrp.zoo import load_sample


def load(client: TestClient, network: str, weights: str) -> dict:
    r = client.post("/api/jobs/network-load", json={"network": network, "weights": weights})
    assert r.status_code == 202, r.text
    return wait(client, r.json()["id"])


def state_bytes(module: torch.nn.Module) -> bytes:
    buf = io.BytesIO()
    torch.save(module.state_dict(), buf)
    return buf.getvalue()


def test_zoo_listed_and_switching_keeps_saved_models_apart(client: TestClient) -> None:
    nets = client.get("/api/networks").json()
    assert {"vgg16", "resnet18", "efficientnet_lite0"} <= {z["name"] for z in nets["zoo"]}
    assert [n["active"] for n in nets["loaded"]] == [True] and nets["active"].startswith("efficientnet_lite0@")
    first = client.get("/api/info").json()
    mine = client.post("/api/models", json={**first["default_model"], "name": "mine on lite0"}).json()

    job = load(client, "resnet18", "none")
    assert job["status"] == "done", job["error"]
    assert job["result"]["random_weights"] is True and job["result"]["network"] == "resnet18"
    info = client.get("/api/info").json()
    expected_layers = build_graph(torchvision.models.resnet18().eval(), (3, 224, 224)).n_layers
    assert info["network"] == "resnet18" and info["weights"] == "none" and info["n_layers"] == expected_layers
    names = {m["model"]["name"] for m in client.get("/api/models").json()}
    assert "mine on lite0" not in names and names  # resnet18 has its own seeded models
    # a model saved for the other network does not fit here
    assert client.post("/api/models", json=mine["model"]).status_code == 422

    back = load(client, "efficientnet_lite0", "default")
    assert back["status"] == "done" and back["result"]["load_ms"] < 1000  # still loaded: no rebuild
    assert client.get("/api/info").json()["n_layers"] == first["n_layers"]
    assert "mine on lite0" in {m["model"]["name"] for m in client.get("/api/models").json()}
    assert len(client.get("/api/networks").json()["loaded"]) == 2


def test_uploaded_weights_are_checked_and_used(client: TestClient, data_dir: Path) -> None:
    torch.manual_seed(5)
    reference = torchvision.models.resnet18().eval()
    r = client.post("/api/networks/weights", params={"network": "resnet18"},
                    files={"file": ("my-resnet.pt", state_bytes(reference))})
    assert r.status_code == 201, r.text
    upload = r.json()
    assert upload["network"] == "resnet18" and upload["filename"] == "my-resnet.pt"
    assert upload in client.get("/api/networks").json()["uploads"]
    job = load(client, "resnet18", f"upload:{upload['id']}")
    assert job["status"] == "done", job["error"]
    assert job["result"]["random_weights"] is False
    img = client.post("/api/images/sample", json={"name": "coffee"}).json()
    # Reference: torchvision's own module with those weights on the same preprocessed photo.
    x = client.app.state.networks.active().zoo.preprocess(load_sample("coffee"))
    with torch.no_grad():
        logits = reference(x.unsqueeze(0))[0]
    top = int(logits.argmax())
    assert img["topk"][0]["index"] == top
    assert img["topk"][0]["score"] == pytest.approx(float(logits[top]), abs=1e-3)


class _Boom:
    def __reduce__(self):  # would run on unpickling without weights_only
        return (Path.touch, (Path("/tmp/vislrp-test-weights-executed"),))


@pytest.mark.slow
def test_bad_weights_files_are_refused(client: TestClient, data_dir: Path) -> None:
    marker = Path("/tmp/vislrp-test-weights-executed")
    marker.unlink(missing_ok=True)
    # another network's real state dict (SqueezeNet 1.1, 5 MB: AlexNet's 244 MB took the worker to 4.1 GB in copies)
    other = state_bytes(torchvision.models.squeezenet1_1())
    r = client.post("/api/networks/weights", params={"network": "resnet18"}, files={"file": ("other.pt", other)})
    assert r.status_code == 422 and "do not fit" in r.json()["detail"]
    evil = pickle.dumps({"conv1.weight": _Boom()})
    r = client.post("/api/networks/weights", params={"network": "resnet18"}, files={"file": ("evil.pt", evil)})
    assert r.status_code == 422 and not marker.exists()
    r = client.post("/api/networks/weights", params={"network": "nope"}, files={"file": ("x.pt", other)})
    assert r.status_code == 422 and "unknown network" in r.json()["detail"]
    client.app.state.networks.max_weights_bytes = 1000
    r = client.post("/api/networks/weights", params={"network": "resnet18"}, files={"file": ("big.pt", other)})
    assert r.status_code == 413
    assert client.get("/api/networks").json()["uploads"] == []
    assert not list((data_dir / "weights").glob("*.pt")) if (data_dir / "weights").exists() else True
    for body in ({"network": "resnet18", "weights": "upload:0123456789abcdef"},
                 {"network": "resnet18", "weights": "/etc/passwd"},
                 {"network": "package.module:factory", "weights": "none"}):
        r = client.post("/api/jobs/network-load", json=body)
        assert r.status_code == 422, body


def test_least_recently_used_network_is_dropped_over_the_budget(client: TestClient) -> None:
    client.app.state.networks.budget_bytes = 1  # everything is over: only the active network stays
    assert load(client, "resnet18", "none")["status"] == "done"
    loaded = client.get("/api/networks").json()["loaded"]
    assert [n["key"] for n in loaded] == ["resnet18@none"] and loaded[0]["bytes"] > 11_000_000 * 4
