"""The designer: a FastAPI app serving a typed JSON API and the browser front end."""

from __future__ import annotations

import os
import pathlib

from vislrp.server.app import Settings, create_app


def default_data_dir() -> pathlib.Path:
    """``$VISLRP_DATA`` or ``~/.local/share/vislrp``."""
    env = os.environ.get("VISLRP_DATA")
    return pathlib.Path(env).expanduser() if env else pathlib.Path.home() / ".local" / "share" / "vislrp"


def serve(model: str, weights: str, host: str, port: int, data_dir: pathlib.Path, sample: str) -> None:
    """Load ``model``, open the store under ``data_dir`` and serve the designer until interrupted."""
    import uvicorn

    from vislrp.zoo import list_samples

    if sample not in list_samples():
        print(f"vislrp: sample {sample!r} is not available here; opening with {list_samples()[:1]}", flush=True)
    data_dir = pathlib.Path(data_dir).expanduser()
    data_dir.mkdir(parents=True, exist_ok=True)
    app = create_app(Settings(data_dir=data_dir, model=model, weights=weights, sample=sample))
    print(f"vislrp designer: http://{host}:{port}/  (API docs at /docs, data in {data_dir})", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


__all__ = ["Settings", "create_app", "default_data_dir", "serve"]
