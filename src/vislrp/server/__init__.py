"""The designer: a FastAPI app serving a typed JSON API and the browser front end."""

from __future__ import annotations

import os
import pathlib
import socket

from vislrp.server.app import Settings, create_app
from vislrp.server.guards import LOOPBACK_HOSTS
from vislrp.server.memory import DEFAULT_MEMORY_BUDGET


def default_data_dir() -> pathlib.Path:
    """``$VISLRP_DATA`` or ``~/.local/share/vislrp``."""
    env = os.environ.get("VISLRP_DATA")
    return pathlib.Path(env).expanduser() if env else pathlib.Path.home() / ".local" / "share" / "vislrp"


def served_hosts(host: str, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The Host names the server answers to: loopback names, the bind name, ``extra``; for a wildcard
    bind also this machine's names. IP literals always pass (see :mod:`vislrp.server.guards`)."""
    names = [*LOOPBACK_HOSTS, *extra]
    if host in ("0.0.0.0", "::", ""):
        names += [socket.gethostname(), socket.getfqdn()]
    else:
        names.append(host)
    return tuple(dict.fromkeys(n.lower() for n in names if n))


def _check_port(host: str, port: int) -> None:
    """Fail with one clear line before loading anything when the address cannot be listened on."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise RuntimeError(f"cannot resolve --host {host!r}: {exc.strerror}") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError as exc:
            raise RuntimeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def serve(model: str, weights: str, host: str, port: int, data_dir: pathlib.Path, sample: str | None, *,
          memory_budget: int = DEFAULT_MEMORY_BUDGET, allow_hosts: tuple[str, ...] = ()) -> None:
    """Load ``model``, open the store under ``data_dir`` and serve the designer until interrupted."""
    import uvicorn

    from vislrp.zoo import list_samples, sample_available

    _check_port(host, port)
    if sample is not None and not sample_available(sample):
        print(f"vislrp: sample {sample!r} is not available here; opening with {list_samples()[:1]}", flush=True)
    data_dir = pathlib.Path(data_dir).expanduser()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RuntimeError(f"cannot create the data directory {data_dir}: {exc.strerror or exc}") from None
    app = create_app(Settings(data_dir=data_dir, model=model, weights=weights, sample=sample,
                              memory_budget=memory_budget, allowed_hosts=served_hosts(host, allow_hosts)))
    print(f"vislrp designer: http://{host}:{port}/  (API docs at /docs, data in {data_dir})", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


__all__ = ["Settings", "create_app", "default_data_dir", "serve", "served_hosts"]
