"""What several commands share: the command record, the user-error type, argument groups and input checks.

Heavy modules (torch, the engine, the zoo) are imported inside the functions, so ``vislrp --help`` and the
commands that need none of them start fast.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXIT_USAGE = 2


class CliError(Exception):
    """A user error: printed as one line, exit status 2, no traceback."""


@dataclass(frozen=True)
class Command:
    """One sub-command: its name and help line in ``vislrp --help``, its options, and what runs it."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def default_data_dir() -> str:
    """The designer's data directory: $VISLRP_DATA, else ~/.local/share/vislrp (``serve`` and ``doctor`` agree)."""
    return os.environ.get("VISLRP_DATA", str(Path.home() / ".local/share/vislrp"))


# ---------------------------------------------------------------------- argument groups
def add_model_args(p: argparse.ArgumentParser) -> None:
    """The network: a zoo name or a factory, its weights, and whether BatchNorm is folded."""
    from ..zoo import DEFAULT_MODEL

    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"zoo model name or package.module:factory (default: {DEFAULT_MODEL})")
    p.add_argument("--weights", default="default",
                   help="'default' (pretrained), 'none' (random, fixed seed) or a state-dict file")
    p.add_argument("--no-fold-bn", action="store_true", help="keep BatchNorm layers instead of folding them")


def add_image_model_args(p: argparse.ArgumentParser) -> None:
    """Image, network, LRP model and target: what an analysis of one heatmap starts from."""
    p.add_argument("image", help="image file, preprocessed .npy (3,H,W) float32, sample:NAME, or digits:I "
                   "(test digit I of 0..359, for digits_cnn / digits_vit)")
    add_model_args(p)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--config", help="LRP model JSON file")
    g.add_argument("--preset", help="one preset over all layers (default: the default composite)")
    g.add_argument("--composite", help="a named composite (see `vislrp composites`), e.g. epsilon-gamma-box")
    p.add_argument("--include-bias", action="store_true", help="with --preset: include the bias")
    p.add_argument("--target", default="top", help="class index, or 'top' for the predicted class")


def add_metric_args(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    """The metrics and their knobs, as `metrics`, `sweep`, `batch` and `recommend` take them."""
    from ..analysis.flip import DEFAULT_FILL, FILL_MODES
    from ..analysis.metrics import METRIC_NAMES

    p.add_argument("--target", default="top", help="class index for every image, or 'top' (each image's top class)")
    p.add_argument("--metric", required=required, default="" if not required else None,
                   help=f"comma-separated metric names: {', '.join(METRIC_NAMES)} (see docs/metrics.md)"
                   + ("" if required else " (optional)"))
    p.add_argument("--fill", default=DEFAULT_FILL, help=f"what removed pixels become: {', '.join(FILL_MODES)}")
    p.add_argument("--steps", type=int, default=None,
                   help="flipping steps N (default 20; region-perturbation: 100 regions)")
    p.add_argument("--patch", type=int, default=None,
                   help="unit size P (PxP) ranked by summed relevance (default 8; faithfulness-correlation: 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of random orders, subsets, classes and ROAD noise")


def add_start_arg(p: argparse._ActionsContainer) -> None:
    """The start rule, as `explain`, `metrics`, `sweep` and `batch` take it: what the heatmaps explain."""
    p.add_argument("--start", default=None, metavar="RULE",
                   help="what the heatmap explains (docs/start-rules.md): logit (the target's score, default), "
                   "onehot, contrastive:B (the target rather than class B), sglrp (softmax gradient, Iwana et al. "
                   "2019) or clrp (contrastive LRP, Gu et al. 2018)")


def add_executor_args(p: argparse.ArgumentParser) -> None:
    """Where the work runs: this process, or Ray (docs/sweeps.md)."""
    p.add_argument("--executor", choices=["local", "ray"], default="local", help="local (default) or ray")
    p.add_argument("--ray-address", default=None,
                   help="join a Ray cluster ('auto', 'ray://HOST:10001'); default: start a local Ray")
    p.add_argument("--workers", type=int, default=None, help="Ray workers (default: the cluster's CPUs ÷ --cpus)")
    p.add_argument("--cpus", type=int, default=1, help="CPUs (torch threads) per Ray worker")


# ---------------------------------------------------------------------- network, design, inputs
def open_session(args: argparse.Namespace) -> Any:
    """The network of ``--model``/``--weights``/``--no-fold-bn``, traced once for the command."""
    from ..session import open_session as open_

    return open_(args.model, args.weights, fold_bn=not args.no_fold_bn)


def lrp_model(args: argparse.Namespace, session: Any) -> Any:
    """The design the flags name (``--config``, ``--preset``, ``--composite`` or the default composite), resolved
    by :mod:`vislrp.designs` like every other front end does; commands without a flag leave it out."""
    from ..designs import design_from_choices

    return design_from_choices(session.graph, config=args.config, preset=getattr(args, "preset", None),
                               composite=getattr(args, "composite", None),
                               include_bias=getattr(args, "include_bias", False))


def start_rule(args: argparse.Namespace, n_classes: int | None = None) -> Any:
    """The parsed ``--start`` (``logit`` when absent), checked against the network's classes when given."""
    from ..lrp.start import StartRuleError, parse_start

    try:
        return parse_start(getattr(args, "start", None), n_classes)
    except StartRuleError as exc:
        raise CliError(f"--start: {exc}") from None


def n_classes(session: Any) -> int:
    """The network's number of classes (its last layer's width), to check a contrast class early."""
    return int(session.graph.layers[-1].shape[-1])


def target(args: argparse.Namespace, logits: Any) -> int:
    """``--target`` as a class index of ``logits`` (``top``: the predicted class), range-checked."""
    if args.target == "top":
        return int(logits[0].argmax())
    try:
        value = int(args.target)
    except ValueError:
        raise CliError(f"--target must be a class index or 'top', not {args.target!r}") from None
    if not 0 <= value < logits.shape[1]:
        raise CliError(f"--target {value} is out of range (0..{logits.shape[1] - 1})")
    return value


def load_input(session: Any, spec: str) -> Any:
    """``session.load_input``, with a preprocessed ``.npy`` checked first: real numbers, the network's input size.

    Only the array's header is read here (memory-mapped); a wrong array would otherwise fail deep inside
    the network with a torch message, or be cast silently (complex values lose their imaginary part).
    """
    import numpy as np

    path = Path(str(spec))
    if path.suffix.lower() == ".npy" and path.is_file():
        try:
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise CliError(f"cannot read array {path}: {exc}") from None
        want = tuple(session.graph.input_shape)
        shape = tuple(arr.shape[1:]) if arr.ndim == 4 and arr.shape[0] == 1 else tuple(arr.shape)
        if arr.dtype.kind not in "fiu":
            raise CliError(f"array {path} holds {arr.dtype} values; a model input must be real numbers (float32)")
        if shape != want:
            raise CliError(f"array {path} has shape {tuple(arr.shape)}; a preprocessed input for {session.zoo.name} "
                           f"is {want} (image files are resized and cropped, arrays are taken as they are)")
    return session.load_input(spec)


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".npy")


def image_specs(items: Sequence[str]) -> list[str]:
    """Expand folders (their image files, sorted); keep files, sample:NAME and digits:I as given."""
    specs: list[str] = []
    for item in items:
        path = Path(item)
        if not item.startswith(("sample:", "digits:")) and path.is_dir():
            found = sorted(str(f) for f in path.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise CliError(f"folder {item} holds no image files ({', '.join(IMAGE_SUFFIXES)})")
            specs += found
        else:
            specs.append(item)
    return specs


# ---------------------------------------------------------------------- metric options
def _fill_message(args: argparse.Namespace) -> str:
    from ..analysis.flip import FILL_MODES

    return f"--fill must be one of {', '.join(FILL_MODES)}, not {args.fill!r}"


_FLAG_MESSAGES: dict[str, Callable[[argparse.Namespace], str]] = {
    "fill": _fill_message,
    "steps": lambda args: "--steps and --patch must be at least 1",
    "patch": lambda args: "--steps and --patch must be at least 1",
    "noise": lambda args: "--noise must be non-negative",
}
"""The CLI's wording of a :meth:`MetricOptions.check` error, by the option its message names (its first words)."""


def metric_options(args: argparse.Namespace, **extra: Any) -> Any:
    """``MetricOptions`` of ``--fill``/``--steps``/``--patch``/``--seed`` (and ``extra``), checked by
    :meth:`MetricOptions.check`, the one check the server's requests pass too; its error names the flag.

    A check the CLI has no wording for yet is passed on in the check's own words.
    """
    from ..analysis.metrics import MetricOptions

    options = MetricOptions(fill=args.fill, steps=args.steps, patch=args.patch, seed=args.seed, **extra)
    try:
        options.check()
    except ValueError as exc:
        field = next((f for f in str(exc).split()[:2] if f in _FLAG_MESSAGES), None)
        raise CliError(_FLAG_MESSAGES[field](args) if field else str(exc)) from None
    return options
