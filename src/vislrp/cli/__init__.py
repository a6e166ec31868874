"""The ``vislrp`` command line: everything the designer computes, scriptable."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from . import analysis, bench, explain, info, metrics, serve, sweep
from .common import EXIT_USAGE, CliError, Command
from .output import one_line

__all__ = ["COMMANDS", "EXIT_USAGE", "CliError", "build_parser", "main"]

GROUPS = (info, explain, analysis, metrics, sweep, serve, bench)
"""The command groups, in the order ``vislrp --help`` lists their commands."""

_RECORDS: tuple[Command, ...] = tuple(c for group in GROUPS for c in group.COMMANDS)

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {c.name: c.run for c in _RECORDS}
"""What runs each command, by name: every group registers its own."""


def build_parser() -> argparse.ArgumentParser:
    """One sub-parser per command, each filled by its group module."""
    parser = argparse.ArgumentParser(prog="vislrp", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for command in _RECORDS:
        command.add_arguments(sub.add_parser(command.name, help=command.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; user errors (CliError, and the ValueError/RuntimeError/OSError of bad configs, unknown
    models, unreadable images, missing weights) become one line on stderr and exit status 2."""
    args = build_parser().parse_args(argv)
    try:
        return int(COMMANDS[args.command](args) or 0)
    except (CliError, ValueError, RuntimeError, OSError) as exc:
        print(f"vislrp {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
