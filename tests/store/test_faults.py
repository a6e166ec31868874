"""The store under faults, with real server processes (issue 12, "invariants under faults").

- ``kill -9`` of the server during bursts of saves and imports loses no acknowledged model, and the
  store reads and passes SQLite's integrity check after every restart.
- Two servers on one data directory (started together, saving the same names, importing at once)
  seed once, keep names unique and answer no 5xx.
- A read-only data directory stops ``vislrp serve`` with one line naming it (exit 2); a full disk makes
  saves answer 503 with a message while reads keep working. Both run inside a private mount namespace
  (``unshare``), where a read-only bind mount and a tiny tmpfs bind even root; skipped where that is
  not allowed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from vislrp.lrp import LRPModel
from vislrp.server.testing import free_port
from vislrp.store import ModelStore

HERE = Path(__file__).resolve().parent
NETWORK = "tinynet:tiny"  # tests/store/tinynet.py; starts in seconds
N_LAYERS = 5
pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))}


def serve_argv(data: Path, port: int) -> list[str]:
    return [sys.executable, "-m", "vislrp.cli", "serve", "--model", NETWORK, "--weights", "none",
            "--port", str(port), "--data", str(data)]


class Server:
    """``vislrp serve`` in a subprocess, optionally wrapped (e.g. in ``unshare``)."""

    def __init__(self, data: Path, wrap: list[str] | None = None, setup: str = "") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = serve_argv(data, self.port)
        if wrap is not None:
            argv = [*wrap, "sh", "-c", f"{setup} && exec \"$0\" \"$@\"", *argv]
        self.proc = subprocess.Popen(argv, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def ready(self, timeout: float = 120) -> Server:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}: {self.proc.stderr.read()}")
            try:
                if httpx.get(f"{self.url}/api/info", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not start")

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill9()


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for s in started:
        s.stop()


def a_model(name: str) -> dict:
    return LRPModel.single(N_LAYERS, "epsilon", name=name).model_dump(mode="json")


def integrity(data: Path) -> str:
    with sqlite3.connect(data / "designer.sqlite3") as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


def stored_names(url: str) -> list[str]:
    r = httpx.get(f"{url}/api/models", timeout=30)
    assert r.status_code == 200, r.text
    return [m["model"]["name"] for m in r.json()]


def burst(url: str, tag: str, acked: list[str], stop: threading.Event, statuses: list[int]) -> None:
    """Save models one after another (and import pairs) until ``stop``; record what was acknowledged."""
    with httpx.Client(base_url=url, timeout=30) as client:
        i = 0
        while not stop.is_set():
            try:
                if i % 3 == 2:
                    pair = [a_model(f"{tag}-imp-{i}-a"), a_model(f"{tag}-imp-{i}-b")]
                    r = client.post("/api/models/import", json={"content": json.dumps(pair)})
                    if r.status_code == 201:
                        acked.extend(m["model"]["name"] for m in r.json())
                else:
                    r = client.post("/api/models", json=a_model(f"{tag}-{i}"))
                    if r.status_code == 201:
                        acked.append(r.json()["model"]["name"])
                statuses.append(r.status_code)
            except httpx.HTTPError:
                return  # the server is gone
            i += 1


def test_kill_9_during_saves_loses_no_acknowledged_model(tmp_path: Path, servers: list[Server]) -> None:
    acked: list[str] = []
    statuses: list[int] = []
    for round_ in range(3):
        server = Server(tmp_path)
        servers.append(server)
        server.ready()
        stop = threading.Event()
        writers = [threading.Thread(target=burst, args=(server.url, f"r{round_}w{k}", acked, stop, statuses))
                   for k in range(3)]
        for w in writers:
            w.start()
        time.sleep(1.5 + 0.5 * round_)
        server.kill9()  # mid-burst: the writers are blocked in requests
        stop.set()
        for w in writers:
            w.join(timeout=30)
        assert integrity(tmp_path) == "ok"
    final = Server(tmp_path)
    servers.append(final)
    names = stored_names(final.ready().url)
    assert len(acked) > 30, "the bursts saved too little to mean anything"
    assert set(acked) <= set(names), sorted(set(acked) - set(names))[:5]
    assert len(names) == len(set(names))
    assert all(s < 500 for s in statuses)


def test_two_servers_on_one_data_directory(tmp_path: Path, servers: list[Server]) -> None:
    a, b = Server(tmp_path), Server(tmp_path)  # started together: both try to create and seed the store
    servers.extend([a, b])
    a.ready(), b.ready()
    seeded = stored_names(a.url)
    statuses: list[int] = []
    acked: list[str] = []
    lock = threading.Lock()

    def hammer(url: str, k: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            for i in range(25):
                same = client.post("/api/models", json=a_model(f"shared-{i}"))  # both servers, same names
                imported = client.post("/api/models/import", json={"content": json.dumps(a_model("clash"))})
                with lock:
                    statuses.extend([same.status_code, imported.status_code])
                    if same.status_code == 201:
                        acked.append(same.json()["model"]["name"])
                    if imported.status_code == 201:
                        acked.append(imported.json()[0]["model"]["name"])

    threads = [threading.Thread(target=hammer, args=(s.url, k)) for k, s in enumerate([a, b, a, b])]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert all(s in (201, 409) for s in statuses), sorted(set(statuses))
    names_a, names_b = stored_names(a.url), stored_names(b.url)
    assert sorted(names_a) == sorted(names_b)
    assert len(names_a) == len(set(names_a)) == len(seeded) + len(acked)
    assert sum(n.startswith("shared-") for n in names_a) == 25  # each name once, whoever won
    assert sum(n.startswith("clash") for n in names_a) == 100  # every import got its own free name
    assert set(seeded) <= set(names_a) and len(seeded) == len(set(seeded))
    assert integrity(tmp_path) == "ok"


# ---------------------------------------------------------------------- read-only and full disks
def _namespace() -> list[str] | None:
    """An ``unshare`` prefix that may mount here (root: a mount namespace; others: also a user one)."""
    if shutil.which("unshare") is None:
        return None
    for prefix in (["unshare", "--mount"], ["unshare", "--mount", "--user", "--map-root-user"]):
        probe = subprocess.run([*prefix, "sh", "-c", "mount -t tmpfs tmpfs /mnt"], capture_output=True)
        if probe.returncode == 0:
            return prefix
    return None


NAMESPACE = _namespace()
needs_mounts = pytest.mark.skipif(NAMESPACE is None, reason="cannot create a mount namespace here")


@needs_mounts
def test_read_only_data_directory_is_one_clear_line_at_start(tmp_path: Path) -> None:
    store_dir, mount = tmp_path / "data", tmp_path / "ro"
    mount.mkdir()
    ModelStore(store_dir / "designer.sqlite3", network=NETWORK).create(LRPModel.single(N_LAYERS, name="kept"))
    setup = f"mount --bind {store_dir} {mount} && mount -o remount,bind,ro {mount}"
    server = Server(mount, wrap=NAMESPACE, setup=setup)
    out, err = server.proc.communicate(timeout=120)
    assert server.proc.returncode == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "not writable" in lines[0] and str(mount) in lines[0], err
    assert [m.model.name for m in ModelStore(store_dir / "designer.sqlite3", network=NETWORK).list()] == ["kept"]


@needs_mounts
def test_full_disk_answers_503_and_reads_keep_working(tmp_path: Path, servers: list[Server]) -> None:
    mount = tmp_path / "small"
    mount.mkdir()
    server = Server(mount, wrap=NAMESPACE, setup=f"mount -t tmpfs -o size=256k tmpfs {mount}")
    servers.append(server)
    server.ready()
    acked, refused = [], []
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for i in range(3000):
            r = client.post("/api/models", json=a_model(f"fill-{i:04d}-" + "x" * 180))
            if r.status_code == 201:
                acked.append(r.json()["model"]["name"])
                continue
            refused.append(r)
            if len(refused) == 3:
                break
        assert refused, "the 256 kB disk never filled up"
        assert all(r.status_code == 503 and "disk is full" in r.json()["detail"] for r in refused), refused[0].text
        assert client.get("/api/info").status_code == 200
        names = [m["model"]["name"] for m in client.get("/api/models").json()]
    assert set(acked) <= set(names)
