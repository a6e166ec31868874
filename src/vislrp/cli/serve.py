"""Commands about the web designer: ``serve`` starts it, ``doctor`` reports on what it would run with (versions,
device, the data directory ``serve`` uses, store health, memory budget)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .common import CliError, Command, add_model_args, default_data_dir


def _serve_args(p: argparse.ArgumentParser) -> None:
    add_model_args(p)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; see docs/security.md)")
    p.add_argument("--port", type=int, default=8000, help="TCP port to listen on (default 8000)")
    p.add_argument("--data", default=default_data_dir(), help="directory for the model store and uploads")
    p.add_argument("--sample", default=None,
                   help="sample loaded at start (default: the network's own, a digit for the digits networks, else "
                        "the default photo)")
    p.add_argument("--memory-budget", default="2G",
                   help="memory all caches may take together, beyond the network itself (e.g. 2G, 512M)")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="also answer requests for this Host name (repeatable; IP addresses always work)")


def cmd_serve(args: argparse.Namespace) -> int:
    from ..server import serve
    from ..server.memory import MIN_MEMORY_BUDGET, parse_size

    if not 1 <= args.port <= 65535:
        raise CliError(f"--port {args.port} is not a TCP port (1-65535)")
    try:
        budget = parse_size(args.memory_budget)
    except ValueError as exc:
        raise CliError(f"--memory-budget: {exc}") from None
    if budget < MIN_MEMORY_BUDGET:
        raise CliError(f"--memory-budget {args.memory_budget} is below the minimum of {MIN_MEMORY_BUDGET >> 20}M")
    serve(model=args.model, weights=args.weights, host=args.host, port=args.port, data_dir=Path(args.data),
          sample=args.sample, memory_budget=budget, allow_hosts=tuple(args.allow_host))
    return 0


def _doctor_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default=default_data_dir(), help="the data directory `vislrp serve` uses")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def cmd_doctor(args: argparse.Namespace) -> int:
    from ..doctor import format_report, report

    r = report(Path(args.data))
    print(json.dumps(r, indent=1) if args.json else format_report(r))
    return 0


COMMANDS = (
    Command("serve", "start the web designer", _serve_args, cmd_serve),
    Command("doctor", "versions, device, data directory, store health, memory budget", _doctor_args, cmd_doctor),
)
