"""The networks the designer has loaded: pick one of the zoo's CNNs and its weights from the page.

Weights are ``default`` (the network's pretrained ones), ``none`` (random init, fixed seed) or an
uploaded state-dict file, stored under the data folder by content hash. An upload is size-capped, read
with ``torch.load(weights_only=True)`` (a file can never run code) and checked against the
architecture (strict keys and shapes) before it is kept.

Several networks stay loaded; when their memory (parameters and the traced copy; the engines' caches
are bounded by the server's memory budget) passes the budget, the least recently used ones other than
the active one are dropped. Each
network has its own namespace in the model store (the store's ``network`` column), so saved LRP
models of VGG16 never show up on EfficientNet, whose layer indices differ.

The HTTP side (the listing, weight uploads, the network-load job) is :mod:`vislrp.server.routes.networks`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from vislrp.lrp import LRPModel
from vislrp.lru import LRUCache
from vislrp.server.analysis_service import AnalysisService
from vislrp.server.errors import NetworkChoiceError
from vislrp.server.routes.info import InfoResponse
from vislrp.server.routes.networks import (
    UPLOAD_ID,
    LoadedNetworkOut,
    NetworkLoaded,
    NetworksResponse,
    WeightsFileOut,
    ZooNetworkOut,
)
from vislrp.server.service import DesignerService
from vislrp.server.upload import UploadTooLarge
from vislrp.store import ModelStore
from vislrp.store.db import BUSY_TIMEOUT_S
from vislrp.store.landscapes import LandscapeLog
from vislrp.zoo import UnknownModelError, WeightsError, ZooModel, list_models, load_model

DEFAULT_BUDGET_BYTES = 4 << 30
"""Memory the loaded networks may take together before the least recently used are dropped."""
MAX_WEIGHTS_BYTES = 1 << 30
"""Largest weights file accepted (VGG16's state dict is 528 MB)."""
_UPLOAD_ID = re.compile(rf"^{UPLOAD_ID}$")


# ---------------------------------------------------------------------------------------------- networks
def _module_bytes(module: torch.nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in [*module.parameters(), *module.buffers()])


@dataclass(eq=False)
class LoadedNetwork:
    """One loaded network: its quick-request service, its store namespace and (lazily) a job worker."""

    key: str
    weights: str
    zoo: ZooModel
    service: DesignerService
    analysis: AnalysisService
    store: ModelStore
    info: InfoResponse
    landscapes: LandscapeLog
    """Landscapes run on this network and weights, for recommendations."""
    _worker: AnalysisService | None = None
    _nbytes: int | None = None

    @property
    def name(self) -> str:
        return self.zoo.name

    @property
    def n_layers(self) -> int:
        return self.service.graph.n_layers

    @property
    def random_weights(self) -> bool:
        return self.weights == "none"

    def worker(self) -> AnalysisService:
        """The analysis service of background jobs: same network and images, its own engine and lock."""
        if self._worker is None:
            self._worker = AnalysisService(self.service.worker())
        return self._worker

    def drop_worker(self) -> None:
        """Forget the job engine (after a cancel its caches may be half filled)."""
        self._worker = None

    def nbytes(self) -> int:
        """The network's own memory: its parameters and the traced copy's (the engines' caches have their
        own bound, the server's memory budget). Measured once, so no torch call runs under a lock."""
        if self._nbytes is None:
            self._nbytes = _module_bytes(self.zoo.module) + _module_bytes(self.service.graph.gm)
        return self._nbytes


Describe = Callable[[DesignerService, ZooModel], InfoResponse]
Seed = Callable[[DesignerService], list[LRPModel]]


class NetworkManager:
    """Loaded networks in LRU order within a memory budget; one of them is active for the page."""

    def __init__(self, data_dir: Path, first: ZooModel, *, describe: Describe, seed: Seed,
                 budget_bytes: int = DEFAULT_BUDGET_BYTES, max_weights_bytes: int = MAX_WEIGHTS_BYTES,
                 store_busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.data_dir = Path(data_dir)
        self.store_busy_timeout_s = store_busy_timeout_s
        self.db_path = self.data_dir / "designer.sqlite3"
        self.weights_dir = self.data_dir / "weights"
        self.describe = describe
        self.seed = seed
        self.max_weights_bytes = max_weights_bytes
        # The active network is never dropped, whatever the budget; nbytes() is measured once per network.
        self._loaded: LRUCache[str, LoadedNetwork] = LRUCache(max_bytes=budget_bytes, size=lambda n: n.nbytes(),
                                                              keep=1, pinned=lambda key, _: key == self._active)
        self._lock = threading.Lock()
        net = self._make(first, _weights_word(first.weights))
        self._active = net.key
        self._loaded.put(net.key, net)

    @property
    def budget_bytes(self) -> int:
        """Memory the loaded networks may take together; over it, the least recently used go (at the next load)."""
        return self._loaded.max_bytes or 0

    @budget_bytes.setter
    def budget_bytes(self, value: int) -> None:
        self._loaded.max_bytes = value

    # ------------------------------------------------------------------ state
    def active(self) -> LoadedNetwork:
        with self._lock:
            return self._loaded[self._active]

    def loaded(self) -> list[LoadedNetwork]:
        with self._lock:
            return list(self._loaded.values())

    def drop_workers(self) -> None:
        """Forget every network's job engine (a cancelled job may have left its engine's caches half filled)."""
        for net in self.loaded():
            net.drop_worker()

    def _make(self, zoo: ZooModel, weights: str) -> LoadedNetwork:
        service = DesignerService(zoo)
        store = ModelStore(self.db_path, network=zoo.name, busy_timeout_s=self.store_busy_timeout_s)
        store.seed_once(self.seed(service))
        key = f"{zoo.name}@{weights}"
        return LoadedNetwork(key=key, weights=weights, zoo=zoo, service=service,
                             analysis=AnalysisService(service), store=store, info=self.describe(service, zoo),
                             landscapes=LandscapeLog(self.db_path, network=key,
                                                                     busy_timeout_s=self.store_busy_timeout_s))

    # ------------------------------------------------------------------ weights files
    def _upload_path(self, upload_id: str) -> Path:
        return self.weights_dir / f"{upload_id}.pt"

    def uploads(self) -> list[WeightsFileOut]:
        out = []
        for meta in sorted(self.weights_dir.glob("*.json")) if self.weights_dir.is_dir() else []:
            try:
                out.append(WeightsFileOut.model_validate(json.loads(meta.read_text())))
            except (OSError, ValueError):
                continue
        return out

    def add_weights(self, network: str, data: bytes, filename: str) -> WeightsFileOut:
        """Check a state-dict file against ``network``'s architecture and keep it; WeightsError if it does not fit."""
        self._check_network(network)
        if len(data) > self.max_weights_bytes:
            raise UploadTooLarge(f"{filename} is {len(data) / 2**20:.0f} MB, over the "
                                 f"{self.max_weights_bytes // 2**20} MB limit")
        upload_id = hashlib.sha256(network.encode() + b"\0" + data).hexdigest()[:16]
        self.weights_dir.mkdir(parents=True, exist_ok=True)
        path = self._upload_path(upload_id)
        partial = path.with_suffix(".part")
        partial.write_bytes(data)
        try:
            load_model(network, str(partial))  # weights_only load + strict key/shape check
        except (WeightsError, UnknownModelError):
            partial.unlink(missing_ok=True)
            raise
        partial.replace(path)
        meta = WeightsFileOut(id=upload_id, network=network, filename=Path(filename).name[:200] or "weights",
                              bytes=len(data))
        (self.weights_dir / f"{upload_id}.json").write_text(meta.model_dump_json())
        return meta

    # ------------------------------------------------------------------ loading
    def _check_network(self, network: str) -> None:
        names = [m.name for m in list_models()]
        if network not in names:
            raise NetworkChoiceError(f"unknown network {network!r}; choose one of {', '.join(names)}")

    def resolve(self, network: str, weights: str) -> tuple[str, str]:
        """The weights argument of load_model for a request's choice, and the label the page shows."""
        self._check_network(network)
        if weights in ("default", "none"):
            return weights, weights
        upload_id = weights.removeprefix("upload:")
        if not weights.startswith("upload:") or not _UPLOAD_ID.match(upload_id):
            raise NetworkChoiceError(f"weights must be 'default', 'none' or 'upload:<id>', not {weights!r}")
        meta = next((u for u in self.uploads() if u.id == upload_id), None)
        if meta is None or not self._upload_path(upload_id).is_file():
            raise NetworkChoiceError(f"no uploaded weights file {upload_id!r}: upload it again")
        if meta.network != network:
            raise NetworkChoiceError(f"weights file {meta.filename} was checked for {meta.network}, not {network}")
        return str(self._upload_path(upload_id)), weights

    def load(self, network: str, weights: str, progress: Callable[[int, int, str], None]) -> NetworkLoaded:
        """Make ``network`` with ``weights`` the active one, loading it unless it is loaded already."""
        source, label = self.resolve(network, weights)
        key = f"{network}@{label}"
        t0 = time.perf_counter()
        with self._lock:
            hit = self._loaded.get(key)
            if hit is not None:
                self._active = key
        if hit is None:
            progress(0, 3, f"building {network} ({'random weights' if label == 'none' else label + ' weights'})")
            zoo = load_model(network, source)
            zoo = dataclasses.replace(zoo, weights=label)
            progress(1, 3, "tracing the layer graph")
            net = self._make(zoo, label)
            progress(2, 3, "first forward")
            net.service.engine.forward(torch.zeros(3, zoo.input_size, zoo.input_size), cache=False)
            # The size is measured before taking the lock (the cache reads it again, measured once): a job pauses
            # at torch calls (numel included), and a paused job must never hold the lock that quick requests need
            # to find the network.
            net.nbytes()
            with self._lock:
                self._active = key
                self._loaded.put(key, net)  # drops the least recently used others while over the budget
            hit = net
            progress(3, 3, "loaded")
        return NetworkLoaded(key=key, network=network, weights=label, random_weights=label == "none",
                             n_layers=hit.n_layers, load_ms=(time.perf_counter() - t0) * 1000)

    def describe_all(self) -> NetworksResponse:
        with self._lock:
            loaded = list(self._loaded.values())
            active = self._active
        return NetworksResponse(
            zoo=[ZooNetworkOut(name=m.name, description=m.description, input_size=m.input_size) for m in list_models()],
            loaded=[LoadedNetworkOut(key=n.key, network=n.name, weights=n.weights, random_weights=n.random_weights,
                                     active=n.key == active, bytes=n.nbytes()) for n in loaded],
            active=active, budget_bytes=self.budget_bytes, max_weights_bytes=self.max_weights_bytes,
            uploads=self.uploads())


def _weights_word(weights: str) -> str:
    return weights if weights in ("default", "none") else f"file:{Path(weights).name}"


__all__ = ["DEFAULT_BUDGET_BYTES", "MAX_WEIGHTS_BYTES", "LoadedNetwork", "NetworkManager"]
