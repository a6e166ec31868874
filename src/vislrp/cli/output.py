"""How the commands print: one-line errors, class labels, progress bars on stderr, design parameters."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any


def one_line(exc: BaseException) -> str:
    """The first line of an error's message: the CLI prints one line per error, never library pages."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def label(session: Any, index: int) -> str:
    """The class name of ``index`` in the network's label list, or the index itself where there is none."""
    labels = session.zoo.labels
    return labels[index] if 0 <= index < len(labels) else str(index)


def progress_bar(desc: str, quiet: bool, unit: str = "row") -> tuple[Any, Callable[[int, int], None]]:
    """A tqdm bar on stderr (units done, rate, ETA) and the ``progress(done, total)`` callback that feeds it.

    Stderr, so a command's stdout stays the table or JSON a script reads.
    """
    from tqdm import tqdm

    bar = tqdm(desc=desc, unit=unit, file=sys.stderr, disable=quiet, dynamic_ncols=True, delay=0.5)

    def progress(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
            bar.refresh()
        bar.update(done - bar.n)
        if done == total:
            bar.refresh()  # the last state is always shown, however fast or slow the rows were

    return bar, progress


def format_params(params: Mapping[str, Any]) -> str:
    """A design point's parameters as ``k=v`` pairs, floats in their shortest form (``S2.gamma1p=0.25``)."""
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())
