"""The ``vislrp`` command line: everything the designer computes, scriptable."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

EXIT_USAGE = 2


class CliError(Exception):
    """A user error: printed as one line, exit status 2, no traceback."""


def _add_model_args(p: argparse.ArgumentParser) -> None:
    from .zoo import DEFAULT_MODEL

    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"zoo model name or package.module:factory (default: {DEFAULT_MODEL})")
    p.add_argument("--weights", default="default",
                   help="'default' (pretrained), 'none' (random, fixed seed) or a state-dict file")
    p.add_argument("--no-fold-bn", action="store_true", help="keep BatchNorm layers instead of folding them")


def _add_image_model_args(p: argparse.ArgumentParser) -> None:
    """Image, network, LRP model and target: what an analysis of one heatmap starts from."""
    p.add_argument("image", help="image file, preprocessed .npy (3,H,W) float32, or sample:NAME")
    _add_model_args(p)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--config", help="LRP model JSON file")
    g.add_argument("--preset", help="one preset over all layers (default: the default composite)")
    g.add_argument("--composite", help="a named composite (see `vislrp composites`), e.g. epsilon-gamma-box")
    p.add_argument("--include-bias", action="store_true", help="with --preset: include the bias")
    p.add_argument("--target", default="top", help="class index, or 'top' for the predicted class")


def _add_metric_args(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    """The metrics and their knobs, as `metrics`, `sweep`, `batch` and `recommend` take them."""
    from .analysis.flip import DEFAULT_FILL, FILL_MODES
    from .analysis.metrics import METRIC_NAMES

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


def _add_start_arg(p: argparse._ActionsContainer) -> None:
    """The start rule, as `explain`, `metrics`, `sweep` and `batch` take it: what the heatmaps explain."""
    p.add_argument("--start", default=None, metavar="RULE",
                   help="what the heatmap explains (docs/start-rules.md): logit (the target's score, default), "
                   "onehot, contrastive:B (the target rather than class B), sglrp (softmax gradient, Iwana et al. "
                   "2019) or clrp (contrastive LRP, Gu et al. 2018)")


def _start_rule(args: argparse.Namespace, n_classes: int | None = None) -> Any:
    """The parsed ``--start`` (``logit`` when absent), checked against the network's classes when given."""
    from .lrp.start import StartRuleError, parse_start

    try:
        return parse_start(getattr(args, "start", None), n_classes)
    except StartRuleError as exc:
        raise CliError(f"--start: {exc}") from None


def _n_classes(session: Any) -> int:
    """The network's number of classes (its last layer's width), to check a contrast class early."""
    return int(session.graph.layers[-1].shape[-1])


def _add_executor_args(p: argparse.ArgumentParser) -> None:
    """Where the work runs: this process, or Ray (docs/sweeps.md)."""
    p.add_argument("--executor", choices=["local", "ray"], default="local", help="local (default) or ray")
    p.add_argument("--ray-address", default=None,
                   help="join a Ray cluster ('auto', 'ray://HOST:10001'); default: start a local Ray")
    p.add_argument("--workers", type=int, default=None, help="Ray workers (default: the cluster's CPUs ÷ --cpus)")
    p.add_argument("--cpus", type=int, default=1, help="CPUs (torch threads) per Ray worker")


def build_parser() -> argparse.ArgumentParser:
    from .analysis.flip import DEFAULT_FILL, FLIP_MODES
    from .analysis.metrics.names import SPARSENESS, SRG

    parser = argparse.ArgumentParser(prog="vislrp", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("models", help="list the model zoo")

    p = sub.add_parser("presets", help="list the rule presets of the paper's Table 1")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("composites", help="list the named composites (rules by layer kind)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("export", help="print a design as code for another library (zennit)")
    _add_model_args(p)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--config", help="LRP model JSON file")
    g.add_argument("--composite", help="a named composite (default: the default composite)")
    p.add_argument("--zennit", action="store_true", required=True, help="print a zennit composite as Python code")

    p = sub.add_parser("layers", help="list the layers of a model (the indices segments refer to)")
    _add_model_args(p)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("explain", help="compute an LRP heatmap for one image")
    _add_image_model_args(p)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--init", choices=["logit", "onehot"], default=None,
                   help="start from the target's pre-softmax score (default) or from 1 (the same as --start)")
    _add_start_arg(g)
    p.add_argument("--out", help="save the input relevance as float32 (3,H,W) .npy")
    p.add_argument("--heatmap", help="save the heatmap as PNG with a legend")
    p.add_argument("--cmap", default="red-blue", help="red-blue, purple-orange, cold-hot, colorblind")
    p.add_argument("--layers-out", help="directory for one heatmap PNG per layer")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("flip", help="relevance-ordered pixel flipping curve and AOPC of a heatmap")
    _add_image_model_args(p)
    p.add_argument("--curve", choices=["morf", "lerf", "random"], default="morf",
                   help="most relevant first, least relevant first, or random (fixed --seed)")
    p.add_argument("--steps", type=int, default=20, help="number of flipping steps N (N + 1 points)")
    p.add_argument("--patch", type=int, default=8, help="rank PxP patches by summed relevance; 1 ranks pixels")
    p.add_argument("--mode", choices=FLIP_MODES, default=DEFAULT_FILL,
                   help="what flipped pixels become (zero: model-input 0, the paper's choice)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random order")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("ablate", help="zero channels of a conv layer and compare the prediction")
    p.add_argument("image", help="image file, preprocessed .npy (3,H,W) float32, or sample:NAME")
    _add_model_args(p)
    p.add_argument("--layer", type=int, required=True, help="conv layer index (see `vislrp layers`)")
    p.add_argument("--channels", required=True, help="comma-separated channel indices, e.g. 1,2,3")
    p.add_argument("--top", type=int, default=5, help="how many classes to print")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("neurons", help="per-channel relevance and activation of a conv layer")
    _add_image_model_args(p)
    p.add_argument("--layer", type=int, required=True, help="conv layer index (see `vislrp layers`)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("metrics", help="quantitative checks of heatmaps (faithfulness, complexity, randomisation, "
                       "localisation), batched over images")
    p.add_argument("image", nargs="+", help="image files, folders of images, preprocessed .npy, or sample:NAME")
    _add_model_args(p)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--composite", help="a named composite (see `vislrp composites`); default: the default composite")
    g.add_argument("--config", help="LRP model JSON file")
    g.add_argument("--preset", help="one preset over all layers")
    p.add_argument("--include-bias", action="store_true", help="with --preset: include the bias")
    _add_metric_args(p)
    _add_start_arg(p)
    p.add_argument("--noise", type=float, default=None, help="ROAD noise σ in model-input units (default 0.01)")
    p.add_argument("--mask", help="region image for relevance-mass and pointing-game (nonzero pixels = region)")
    p.add_argument("--json", action="store_true", help="print one JSON list, one object per (image, metric)")

    p = sub.add_parser("sweep", help="evaluate a grid or random sample of LRP designs on images with metrics "
                       "(docs/sweeps.md)")
    _add_model_args(p)
    p.add_argument("--base", default=None, help="base design: a composite name or an LRP model JSON file "
                   "(default: the default composite)")
    p.add_argument("--vary", action="append", default=[], metavar="AXIS=VALUES",
                   help="S2.gamma1p=0:1:11 (a:b:n), S3.epsilon=0,0.1 (list), B1=10:30:5 (boundary), "
                   "include_bias=true,false, zbox=on,off, composite=NAME,NAME; repeatable")
    p.add_argument("--random", type=int, default=None, metavar="N",
                   help="N random points instead of the grid (drawn with --seed)")
    p.add_argument("--images", nargs="+", required=True, help="image files, folders, .npy inputs or sample:NAME")
    _add_metric_args(p)
    _add_start_arg(p)
    p.add_argument("--out", required=True, help="result table, .csv or .parquet; rows already there are skipped")
    _add_executor_args(p)
    p.add_argument("--json", action="store_true", help="print the points and the best point per metric as JSON")

    p = sub.add_parser("batch", help="one design on many images: relevance .npy, heatmap .png, one table")
    p.add_argument("image", nargs="+", help="image files, folders, .npy inputs or sample:NAME")
    _add_model_args(p)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--composite", help="a named composite (default: the default composite)")
    g.add_argument("--config", help="LRP model JSON file")
    _add_metric_args(p, required=False)
    _add_start_arg(p)
    p.add_argument("--cmap", default="red-blue", help="heatmap colour map")
    p.add_argument("--out", required=True, help="output folder (per image .npy and .png, results.csv)")
    _add_executor_args(p)
    p.add_argument("--json", action="store_true", help="print the table rows as JSON")

    p = sub.add_parser("recommend", help="rank the composites and the best points of earlier sweeps per metric "
                       "on images, with a reason each (docs/sweeps.md)")
    p.add_argument("--images", nargs="+", required=True, help="image files, folders, .npy inputs or sample:NAME")
    _add_model_args(p)
    _add_metric_args(p)
    p.add_argument("--from-sweep", action="append", default=[], metavar="TABLE",
                   help="a `vislrp sweep` table (or its .summary.json): its best points become candidates; repeatable")
    p.add_argument("--top", type=int, default=3, help="designs per metric (default 3)")
    p.add_argument("--out", default=None, help="folder: each recommended design as LRP-model JSON (--config, "
                   "or import into the designer)")
    p.add_argument("--json", action="store_true", help="print the rankings as JSON")

    p = sub.add_parser("serve", help="start the web designer")
    _add_model_args(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--data", default=os.environ.get("VISLRP_DATA", str(Path.home() / ".local/share/vislrp")),
                   help="directory for the model store and uploads")
    p.add_argument("--sample", default=None, help="sample photo loaded at start")
    p.add_argument("--memory-budget", default="2G",
                   help="memory all caches may take together, beyond the network itself (e.g. 2G, 512M)")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="also answer requests for this Host name (repeatable; IP addresses always work)")

    p = sub.add_parser("doctor", help="versions, device, data directory, store health, memory budget")
    p.add_argument("--data", default=os.environ.get("VISLRP_DATA", str(Path.home() / ".local/share/vislrp")),
                   help="the data directory `vislrp serve` uses")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("bench", help="time LRP against a forward pass, zennit and captum")
    p.add_argument("--model", nargs="+", default=["vgg16", "resnet50"])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--size", type=int, default=224, help="input image size")
    p.add_argument("--metrics", action="store_true",
                   help="time the metrics suite instead: each metric ÷ one forward and ÷ Quantus's time")
    p.add_argument("--sweep", action="store_true",
                   help="time a sweep instead: cost ÷ (points × images × (re-explain + the metrics' forwards))")
    p.add_argument("--points", type=int, default=8, help="with --sweep: design points")
    p.add_argument("--images", type=int, default=4, help="with --sweep: images (sample photos)")
    p.add_argument("--metric", default=f"{SRG},{SPARSENESS}", help="with --sweep: metrics of the sweep")
    p.add_argument("--steps", type=int, default=10, help="with --sweep: flipping steps")
    p.add_argument("--json", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(COMMANDS[args.command](args) or 0)
    except CliError as exc:
        print(f"vislrp {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, RuntimeError, OSError) as exc:
        # Known user errors (bad config, unknown model, unreadable image, missing weights) are ValueError
        # or RuntimeError subclasses with a message that names the problem.
        print(f"vislrp {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE


def _one_line(exc: BaseException) -> str:
    """The first line of an error's message: the CLI prints one line per error, never library pages."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# ---------------------------------------------------------------------- commands
def cmd_models(args: argparse.Namespace) -> int:
    from .zoo import DEFAULT_MODEL, list_models

    for info in list_models():
        mark = " (default)" if info.name == DEFAULT_MODEL else ""
        print(f"{info.name:20s} {info.description}{mark}")
    print("any FX-traceable CNN: --model package.module:factory --weights FILE")
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    from .lrp import PRESETS

    if args.json:
        print(json.dumps([{"name": p.name, "label": p.label, "reference": p.reference,
                           "rule": p.params.model_dump(), "latex": p.latex} for p in PRESETS.values()], indent=2))
        return 0
    for p in PRESETS.values():
        params = " ".join(f"{k}={v:g}" for k, v in p.params.model_dump().items())
        print(f"{p.name:13s} {p.label:10s} {params}")
    return 0


def cmd_composites(args: argparse.Namespace) -> int:
    from .lrp.composites import COMPOSITES, DEFAULT_COMPOSITE

    rows = [{"name": c.name, "label": c.label, "description": c.description, "zennit": c.zennit,
             "default": c.name == DEFAULT_COMPOSITE} for c in COMPOSITES.values()]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    for row in rows:
        mark = " (default)" if row["default"] else ""
        print(f"{row['name']:28s} {row['description']}{mark}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .lrp import load_model_file
    from .lrp.composites import DEFAULT_COMPOSITE, get_composite
    from .lrp.zennit_export import zennit_code
    from .session import open_session

    session = open_session(args.model, args.weights, fold_bn=not args.no_fold_bn)
    design = (load_model_file(args.config) if args.config
              else get_composite(args.composite or DEFAULT_COMPOSITE).resolve(session.graph))
    print(zennit_code(design, session.graph), end="")
    return 0


def cmd_layers(args: argparse.Namespace) -> int:
    from .session import open_session

    session = open_session(args.model, args.weights, fold_bn=not args.no_fold_bn)
    table = session.graph.table()
    if args.json:
        print(json.dumps(table))
        return 0
    for row in table:
        print(f"{row['index']:4d}  {row['kind']:10s} {row['name']:40s} {tuple(row['shape'])}")
    return 0


def _accounting_json(ex: Any) -> dict[str, Any]:
    """The explain's relevance accounting as the CLI's and API's JSON fields."""
    acc = ex.accounting(0)
    return {
        "conservation": [{"layer": i, "sum": v} for i, v in acc.conservation],
        "absorbed": [{"segment": a.segment, "start": a.start, "end": a.end, "bias": a.bias,
                      "stabiliser": a.stabiliser, "rule": a.rule, "total": a.total} for a in acc.absorbed],
    }


def cmd_explain(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from .api import design_warnings
    from .render import get_colormap, save_heatmap
    from .session import open_session

    get_colormap(args.cmap)  # fail early on an unknown colour map
    if args.out and Path(args.out).is_dir():
        raise CliError(f"--out {args.out} is a directory; give a file name such as {Path(args.out) / 'relevance.npy'}")
    if args.init is not None:
        args.start = args.init
    session = open_session(args.model, args.weights, fold_bn=not args.no_fold_bn)
    x = _load_input(session, args.image)
    fwd = session.engine.forward(x)
    target = _target(args, fwd.logits)
    start = _start_rule(args, int(fwd.logits.shape[1]))
    if start.other == target:
        raise CliError(f"--start {start}: the contrast class is the target itself (z_t − z_t = 0 explains nothing)")
    model = _lrp_model(args, session)
    ex = session.engine.explain(fwd, model, target, start=start)
    rel = ex.input_relevance[0].detach().cpu().float()
    if args.out:
        with open(args.out, "wb") as handle:  # exactly this path: np.save(name) would append ".npy"
            np.save(handle, rel.numpy().astype(np.float32))
    if args.heatmap:
        Path(args.heatmap).parent.mkdir(parents=True, exist_ok=True)
        save_heatmap(args.heatmap, ex.heatmap(0).cpu().numpy(), args.cmap)
    if args.layers_out:
        out_dir = Path(args.layers_out)
        out_dir.mkdir(parents=True, exist_ok=True)
        for layer in session.graph.layers:
            hm = ex.layer_heatmap(layer.index)
            if hm is None:
                continue
            values = hm.cpu().numpy()
            if values.ndim == 1:
                values = values[None, :].repeat(16, 0)
            save_heatmap(out_dir / f"{layer.index:03d}-{layer.kind}-{layer.name}.png", values, args.cmap)
    labels = session.zoo.labels
    topk = [{"index": i, "label": labels[i] if i < len(labels) else str(i), "score": s} for i, s in fwd.topk(5)]
    warnings = design_warnings(model) + ex.warnings()
    result: dict[str, Any] = {
        "target": target,
        "label": labels[target] if target < len(labels) else str(target),
        "logit": float(fwd.logits[0, target]),
        "topk": topk,
        "relevance_sum": float(rel.sum(dtype=torch.float64)),
        "lrp_model": model.name,
        "start": str(start),
        "warnings": warnings,
        **_accounting_json(ex),
    }
    if args.json:
        print(json.dumps(result, allow_nan=False))
    else:
        print(f"model {session.zoo.name}, LRP model {model.name!r}, start rule {start}")
        for row in topk:
            print(f"  {row['index']:4d} {row['score']:9.3f}  {row['label']}")
        print(f"target {target} ({result['label']}), logit {result['logit']:.4f}, "
              f"relevance sum {result['relevance_sum']:.4f}")
        for w in warnings:
            print(f"warning: {w}")
        if args.heatmap:
            print(f"heatmap written to {args.heatmap}")
    return 0


def _target(args: argparse.Namespace, logits: Any) -> int:
    if args.target == "top":
        return int(logits[0].argmax())
    try:
        target = int(args.target)
    except ValueError:
        raise CliError(f"--target must be a class index or 'top', not {args.target!r}") from None
    if not 0 <= target < logits.shape[1]:
        raise CliError(f"--target {target} is out of range (0..{logits.shape[1] - 1})")
    return target


def _load_input(session: Any, spec: str) -> Any:
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


def _lrp_model(args: argparse.Namespace, session: Any) -> Any:
    from .lrp import LRPModel, load_model_file

    if args.config:
        return load_model_file(args.config)
    if args.preset:
        return LRPModel.single(session.graph.n_layers, args.preset, include_bias=args.include_bias)
    if getattr(args, "composite", None):
        from .lrp.composites import get_composite

        return get_composite(args.composite).resolve(session.graph)
    return session.default_lrp_model()


def _label(session: Any, index: int) -> str:
    labels = session.zoo.labels
    return labels[index] if 0 <= index < len(labels) else str(index)


def cmd_flip(args: argparse.Namespace) -> int:
    import time

    import torch

    from .analysis import flip_curve
    from .session import open_session

    if args.steps < 1 or args.patch < 1:
        raise CliError("--steps and --patch must be at least 1")
    session = open_session(args.model, args.weights, fold_bn=not args.no_fold_bn)
    x = _load_input(session, args.image)
    fwd = session.engine.forward(x)
    target = _target(args, fwd.logits)
    model = _lrp_model(args, session)
    heatmap = session.engine.explain(fwd, model, target, keep_layers=False).heatmap(0)
    predict = session.graph.gm
    x = fwd.x[0]
    with torch.no_grad():  # one warm-up, then the best of three plain batch-1 forwards
        times = []
        for _ in range(4):
            t0 = time.perf_counter()
            predict(x.unsqueeze(0))
            times.append(time.perf_counter() - t0)
    forward_s = min(times[1:])
    t0 = time.perf_counter()
    curve = flip_curve(predict, x, heatmap, target, args.curve, steps=args.steps, patch=args.patch, mode=args.mode,
                       black=session.zoo.preprocess.bounds()[0], seed=args.seed)
    curve_s = time.perf_counter() - t0
    result: dict[str, Any] = {
        "curve": [{"fraction": f, "logit": v, "top1": t}
                  for f, v, t in zip(curve.fractions, curve.logits, curve.top1, strict=True)],
        "aopc": curve.aopc,
        "order": args.curve,
        "target": target,
        "label": _label(session, target),
        "steps": args.steps,
        "patch": args.patch,
        "mode": args.mode,
        "timing": {"forward_s": forward_s, "curve_s": curve_s, "ratio": curve_s / (args.steps * forward_s)},
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"model {session.zoo.name}, LRP model {model.name!r}, target {target} ({result['label']})")
    print(f"{args.curve.upper()} flipping, {args.steps} steps, {args.patch}x{args.patch} units, mode {args.mode}")
    print(" fraction     logit  top-1")
    for row in result["curve"]:
        print(f"  {row['fraction']:6.3f}  {row['logit']:8.3f}  {row['top1']:4d} {_label(session, row['top1'])}")
    print(f"AOPC {curve.aopc:.4f}")
    print(f"time {curve_s:.2f} s = {result['timing']['ratio']:.2f} x (steps x forward of {forward_s * 1000:.0f} ms)")
    return 0


def _channels(text: str) -> list[int]:
    try:
        return [int(c) for c in text.split(",") if c.strip()]
    except ValueError:
        raise CliError(f"--channels must be comma-separated integers, not {text!r}") from None


def cmd_ablate(args: argparse.Namespace) -> int:
    from .analysis import ablate, check_channels, conv_layer
    from .session import open_session

    channels = _channels(args.channels)
    if not channels:
        raise CliError("--channels needs at least one channel")
    session = open_session(args.model, args.weights, fold_bn=not args.no_fold_bn)
    layer = conv_layer(session.graph, args.layer)
    channels = check_channels(layer, channels)
    x = _load_input(session, args.image)
    fwd = session.engine.forward(x)
    logits = ablate(session.graph, fwd.x[0], layer.index, channels)
    k = max(1, args.top)

    def top(values: Any) -> list[dict[str, Any]]:
        v, i = values.topk(min(k, values.numel()))
        return [{"index": int(c), "label": _label(session, int(c)), "score": float(s)}
                for s, c in zip(v, i, strict=True)]

    original = fwd.logits[0]
    result = {"layer": layer.index, "layer_name": layer.name, "channels": channels,
              "original": top(original), "ablated": top(logits)}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"model {session.zoo.name}, layer {layer.index} ({layer.name}), ablated channels "
          f"{','.join(map(str, channels))} of {layer.shape[0]}")
    print(f"  {'original':40s}  ablated")
    for a, b in zip(result["original"], result["ablated"], strict=True):
        before = float(original[b["index"]])
        print(f"  {a['index']:4d} {a['score']:8.3f} {a['label'][:24]:24s}  {b['index']:4d} {b['score']:8.3f} "
              f"({b['score'] - before:+.3f}) {b['label'][:24]}")
    return 0


def cmd_neurons(args: argparse.Namespace) -> int:
    from .analysis import conv_layer, neuron_table
    from .session import open_session

    session = open_session(args.model, args.weights, fold_bn=not args.no_fold_bn)
    layer = conv_layer(session.graph, args.layer)
    x = _load_input(session, args.image)
    fwd = session.engine.forward(x)
    target = _target(args, fwd.logits)
    model = _lrp_model(args, session)
    ex = session.engine.explain(fwd, model, target)
    rows = neuron_table(session.graph, ex, layer.index)
    if args.json:
        print(json.dumps([{"channel": r.channel, "pos": r.pos, "neg": r.neg, "activation": r.activation}
                          for r in rows]))
        return 0
    print(f"model {session.zoo.name}, layer {layer.index} ({layer.name}, {tuple(layer.shape)}), "
          f"target {target} ({_label(session, target)}), LRP model {model.name!r}")
    print(" channel        pos R        neg R   mean activation")
    for r in rows:
        print(f"  {r.channel:6d} {r.pos:12.4g} {r.neg:12.4g} {r.activation:17.4g}")
    return 0


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".npy")
METRICS_GROUP = 8
"""Images explained and evaluated together by `vislrp metrics` (bounds memory for big folders)."""


def _image_specs(items: Sequence[str]) -> list[str]:
    """Expand folders (their image files, sorted); keep files and sample:NAME as given."""
    specs: list[str] = []
    for item in items:
        path = Path(item)
        if not item.startswith("sample:") and path.is_dir():
            found = sorted(str(f) for f in path.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise CliError(f"folder {item} holds no image files ({', '.join(IMAGE_SUFFIXES)})")
            specs += found
        else:
            specs.append(item)
    return specs


def _region_mask(path: str, session: Any) -> Any:
    """A region mask (H, W) bool at the model's input size: nonzero pixels of the image are the region.

    A mask of the model-input size is taken as is; any other size is resized and centre-cropped exactly
    as the photos are, so a mask drawn on the original photo lines up with the model input.
    """
    import numpy as np
    import torch

    from .zoo import load_image

    image = load_image(Path(path))
    h, w = session.graph.input_shape[1:]
    if image.size != (w, h):
        image = session.zoo.preprocess.crop_image(image)
    if image.size != (w, h):
        raise CliError(f"--mask {path} is {image.size[0]}x{image.size[1]}; the model input is {w}x{h}")
    mask = np.asarray(image.convert("L")) > 0
    if not mask.any():
        raise CliError(f"--mask {path} selects no pixel (the region is the nonzero pixels)")
    return torch.from_numpy(mask)


def cmd_metrics(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from .analysis import FILL_MODES
    from .analysis.metrics import (
        FLIPPING,
        NEEDS_REGION,
        ROAD_NOISE,
        MetricContext,
        MetricOptions,
        UnknownMetricError,
        evaluate,
        parse_metrics,
    )
    from .session import open_session

    try:
        names = parse_metrics(args.metric)
    except UnknownMetricError as exc:
        raise CliError(str(exc)) from None
    if args.fill not in FILL_MODES:
        raise CliError(f"--fill must be one of {', '.join(FILL_MODES)}, not {args.fill!r}")
    if (args.steps is not None and args.steps < 1) or (args.patch is not None and args.patch < 1):
        raise CliError("--steps and --patch must be at least 1")
    if args.noise is not None and args.noise < 0:
        raise CliError("--noise must be non-negative")
    needs = [n for n in names if n in NEEDS_REGION]
    if needs and not args.mask:
        raise CliError(f"{', '.join(needs)} {'needs' if len(needs) == 1 else 'need'} a region: give --mask M.png")
    specs = _image_specs(args.image)
    session = open_session(args.model, args.weights, fold_bn=not args.no_fold_bn)
    if args.composite:
        from .lrp.composites import get_composite

        model = get_composite(args.composite).resolve(session.graph)
    else:
        model = _lrp_model(args, session)
    mask = _region_mask(args.mask, session) if args.mask else None
    start_rule = _start_rule(args, _n_classes(session))
    options = MetricOptions(fill=args.fill, steps=args.steps, patch=args.patch, seed=args.seed,
                            noise=ROAD_NOISE if args.noise is None else args.noise)
    bounds = session.zoo.preprocess.bounds()
    bar = tqdm(total=len(specs) * len(names), desc="metrics", unit="metric", file=sys.stderr, disable=args.json,
               delay=1, leave=False)
    rows: list[dict[str, Any]] = []
    for start in range(0, len(specs), METRICS_GROUP):
        group = specs[start:start + METRICS_GROUP]
        xs = [session.load_input(spec) for spec in group]
        if any(x.shape != xs[0].shape for x in xs):
            raise CliError("the images have different sizes after preprocessing: " +
                           ", ".join(f"{spec} {tuple(x.shape)}" for spec, x in zip(group, xs, strict=True)))
        batch = torch.stack(xs)
        logits = session.engine.forward(batch).logits
        targets = [_target(args, logits[i:i + 1]) for i in range(len(group))]
        ctx = MetricContext(session.graph, session.engine, model, batch, targets, black=bounds[0], bounds=bounds,
                            masks=mask, start=start_rule)
        done_metrics: set[str] = set()

        def progress(name: str, done: int, total: int, group: list[str] = group, seen: set[str] = done_metrics) -> None:
            bar.set_postfix_str(f"{name} {done}/{total}")
            if done == total and name not in seen:
                seen.add(name)
                bar.update(len(group))

        results = evaluate(ctx, names, options, progress)
        for r in results:
            if r.metric not in done_metrics:  # metrics without inner progress
                done_metrics.add(r.metric)
                bar.update(len(group))
            row: dict[str, Any] = {"image": group[r.image], "target": r.target, "label": _label(session, r.target),
                                   "metric": r.metric, "value": r.value}
            if r.metric in FLIPPING:
                row["aopc"] = {o: r.aopc[o] for o in ("morf", "lerf", "random") if r.aopc and o in r.aopc}
                row["curves"] = {o: r.curves[o] for o in ("morf", "lerf", "random") if r.curves and o in r.curves}
            if r.detail:
                row["detail"] = r.detail
            if r.note:
                row["note"] = r.note
            rows.append(row)
    bar.close()
    if args.json:
        print(json.dumps(rows))
        return 0
    print(f"model {session.zoo.name}, LRP model {model.name!r}, start rule {start_rule}, fill {args.fill}")
    print(f"{'image':28s} {'target':24s} {'metric':26s} {'value':>10s}  AOPC morf / lerf / random")
    for row in rows:
        value = "—" if row["value"] is None else f"{row['value']:.4f}"
        aopc = " / ".join(f"{row['aopc'][o]:.3f}" for o in ("morf", "lerf", "random")
                          if o in row.get("aopc", {}))
        target = f"{row['target']} {row['label']}"[:24]
        print(f"{Path(row['image']).name[:28]:28s} {target:24s} {row['metric']:26s} {value:>10s}  {aopc}")
        if row.get("note"):
            print(f"  note: {row['note']}")
    return 0


def _need_sweep(command: str) -> None:
    """The sweep package's imports (pandas for the tables), as a one-line error when missing."""
    try:
        import vislrp.sweep  # noqa: F401
    except ImportError as exc:
        raise CliError(f"{command} needs {exc.name}: pip install {exc.name}") from None


def _metric_args(args: argparse.Namespace) -> tuple[list[str], Any]:
    """Metric names and options of `sweep`/`batch`/`recommend`, validated (one-line errors)."""
    from .analysis import FILL_MODES
    from .analysis.metrics import NEEDS_REGION, MetricOptions, UnknownMetricError, parse_metrics

    try:
        names = parse_metrics(args.metric) if args.metric or args.command == "sweep" else []
    except UnknownMetricError as exc:
        raise CliError(str(exc)) from None
    if set(names) & NEEDS_REGION:
        raise CliError(f"{', '.join(sorted(set(names) & NEEDS_REGION))}: region metrics are not available in "
                       f"{args.command} (they need a mask per image)")
    if args.fill not in FILL_MODES:
        raise CliError(f"--fill must be one of {', '.join(FILL_MODES)}, not {args.fill!r}")
    if (args.steps is not None and args.steps < 1) or (args.patch is not None and args.patch < 1):
        raise CliError("--steps and --patch must be at least 1")
    if args.target != "top" and not args.target.isdigit():
        raise CliError(f"--target must be a class index or 'top', not {args.target!r}")
    return names, MetricOptions(fill=args.fill, steps=args.steps, patch=args.patch, seed=args.seed)


def _sweep_common(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """Metric names, metric options and executor of `sweep`/`batch`, validated (one-line errors)."""
    from .sweep import get_executor

    names, options = _metric_args(args)
    if (args.workers is not None and args.workers < 1) or args.cpus < 1:
        raise CliError("--workers and --cpus must be at least 1")
    if args.executor == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            raise CliError("--executor ray needs Ray: pip install 'vislrp[ray]'") from None
    elif args.ray_address or args.workers:
        raise CliError("--ray-address and --workers need --executor ray")
    executor = get_executor(args.executor, workers=args.workers, cpus=args.cpus, address=args.ray_address)
    return names, options, executor


def _progress_bar(desc: str, quiet: bool, unit: str = "row") -> tuple[Any, Any]:
    """A tqdm bar on stderr (units done, rate, ETA) and the ``progress(done, total)`` callback that feeds it."""
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


def cmd_sweep(args: argparse.Namespace) -> int:
    _need_sweep("sweep")
    from .lrp import load_model_file
    from .lrp.composites import COMPOSITES, DEFAULT_COMPOSITE
    from .session import open_session
    from .sweep import Space, load_inputs, parse_axis, run_sweep, summary_path

    if not args.vary:
        raise CliError("give at least one --vary AXIS=VALUES, e.g. --vary S2.gamma1p=0:1:11")
    axes = tuple(parse_axis(v) for v in args.vary)
    if len({a.name for a in axes}) != len(axes):
        raise CliError("an axis is given twice in --vary")
    names, options, executor = _sweep_common(args)
    base_text = args.base or DEFAULT_COMPOSITE
    if base_text in COMPOSITES:
        base: Any = base_text
    elif base_text.endswith(".json") or Path(base_text).is_file():
        base = load_model_file(base_text)
    else:
        raise CliError(f"--base {base_text!r} is neither a composite ({', '.join(COMPOSITES)}) nor a JSON file")
    space = Space(base, axes)
    points = space.random(args.random, args.seed) if args.random is not None else space.grid()
    from .sweep.table import check_path

    check_path(Path(args.out))
    session = open_session(args.model, args.weights, fold_bn=not args.no_fold_bn)
    space.check(session.graph, points)
    start = _start_rule(args, _n_classes(session))
    inputs = load_inputs(session, _image_specs(args.images), args.target)
    bar, progress = _progress_bar("sweep", args.json)
    try:
        result = run_sweep(session, space, points, inputs, names, Path(args.out), options=options,
                           executor=executor, progress=progress, start=start)
    finally:
        bar.close()
    if args.json:
        print(json.dumps(result, allow_nan=False))
        return 0
    base_name = space.base if isinstance(space.base, str) else space.base.name
    print(f"{len(points)} points x {len(inputs.specs)} images on {session.zoo.name}, base {base_name}: "
          f"{len(result['points'])} rows in {args.out}, summary in {summary_path(Path(args.out))}")
    for metric, best in result["best"].items():
        if best is None:
            print(f"  best {metric}: — (undefined on every row)")
            continue
        params = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in best["params"].items())
        print(f"  best {metric}: {best['mean']:.4g} at {params}")
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    _need_sweep("batch")
    from .lrp import load_model_file
    from .lrp.composites import DEFAULT_COMPOSITE, get_composite
    from .render import get_colormap
    from .session import open_session
    from .sweep import load_inputs, run_batch

    get_colormap(args.cmap)
    names, options, executor = _sweep_common(args)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CliError(f"--out {out} is a file; batch writes a folder")
    specs = _image_specs(args.image)
    session = open_session(args.model, args.weights, fold_bn=not args.no_fold_bn)
    design = (load_model_file(args.config) if args.config
              else get_composite(args.composite or DEFAULT_COMPOSITE).resolve(session.graph))
    design.check_layers(session.graph.n_layers)
    start = _start_rule(args, _n_classes(session))
    inputs = load_inputs(session, specs, args.target)
    bar, progress = _progress_bar("batch", args.json)
    try:
        rows = run_batch(session, design, inputs, names, out, options=options, executor=executor, cmap=args.cmap,
                         progress=progress, start=start)
    finally:
        bar.close()
    if args.json:
        print(json.dumps(rows, default=str))
        return 0
    print(f"{len(rows)} images on {session.zoo.name}, LRP model {design.name!r}: {out / 'results.csv'}")
    for row in rows:
        metrics = "  ".join(f"{m} {row[m]:.4g}" for m in names if isinstance(row.get(m), float) and row[m] == row[m])
        print(f"  {Path(str(row['image'])).name[:28]:28s} {row['target']:5d} {str(row['label'])[:20]:20s} {metrics}")
    return 0


def cmd_recommend(args: argparse.Namespace) -> int:
    _need_sweep("recommend")
    from .session import open_session
    from .sweep import load_inputs, summary_path
    from .sweep.recommend import composite_candidates, recommend, sweep_candidates

    names, options = _metric_args(args)
    if args.top < 1:
        raise CliError("--top must be at least 1")
    out = Path(args.out) if args.out else None
    if out is not None and out.exists() and not out.is_dir():
        raise CliError(f"--out {out} is a file; recommend writes a folder of LRP-model JSON files")
    summaries = [Path(t) if t.endswith(".summary.json") else summary_path(Path(t)) for t in args.from_sweep]
    for path in summaries:
        if not path.is_file():
            raise CliError(f"no sweep summary at {path} (give the table `vislrp sweep --out` wrote, or its summary)")
    session = open_session(args.model, args.weights, fold_bn=not args.no_fold_bn)
    cands = composite_candidates(session.graph)
    for path in summaries:
        cands += sweep_candidates(path, session.graph, args.top)
    inputs = load_inputs(session, _image_specs(args.images), args.target)
    bar, progress = _progress_bar("recommend", args.json, unit="design")
    try:
        scored, rankings = recommend(session, cands, inputs.xs, inputs.targets, names, args.top, options, progress)
    finally:
        bar.close()
    files: dict[tuple[str, int], str] = {}
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for r in rankings:
            for p in r.picks:
                path = out / f"{r.metric}-{p.rank}.json"
                path.write_text(p.candidate.model.model_dump_json(indent=1))
                files[(r.metric, p.rank)] = str(path)
    if args.json:
        print(json.dumps({
            "candidates": len(scored), "images": inputs.specs, "targets": inputs.targets,
            "metrics": [{"metric": r.metric, "higher_is_better": r.higher_is_better, "designs": [
                {"rank": p.rank, "name": p.candidate.model.name, "source": p.candidate.source,
                 "origin": p.candidate.origin, "means": {m: p.candidate.mean(m) for m in names},
                 "values": p.candidate.values, "wins": p.wins, "reason": p.reason,
                 "model": p.candidate.model.model_dump(mode="json"), "file": files.get((r.metric, p.rank))}
                for p in r.picks]} for r in rankings]}, allow_nan=False))
        return 0
    print(f"{len(scored)} designs ({sum(c.source == 'sweep' for c in scored)} from sweeps) on "
          f"{len(inputs.specs)} images, {session.zoo.name}")
    for r in rankings:
        print(f"\n{r.label} ({'higher' if r.higher_is_better else 'lower'} is better)")
        for p in r.picks:
            means = "  ".join(f"{m} {v:.4g}" for m in names if (v := p.candidate.mean(m)) is not None)
            print(f"  {p.rank}. {p.candidate.model.name}  [{p.candidate.source}: {p.candidate.origin}]  {means}")
            print(f"     {p.reason}" + (f"  -> {files[(r.metric, p.rank)]}" if (r.metric, p.rank) in files else ""))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .server import serve
    from .server.memory import MIN_MEMORY_BUDGET, parse_size
    from .zoo import DEFAULT_SAMPLE

    if not 1 <= args.port <= 65535:
        raise CliError(f"--port {args.port} is not a TCP port (1-65535)")
    try:
        budget = parse_size(args.memory_budget)
    except ValueError as exc:
        raise CliError(f"--memory-budget: {exc}") from None
    if budget < MIN_MEMORY_BUDGET:
        raise CliError(f"--memory-budget {args.memory_budget} is below the minimum of {MIN_MEMORY_BUDGET >> 20}M")
    serve(model=args.model, weights=args.weights, host=args.host, port=args.port, data_dir=Path(args.data),
          sample=args.sample or DEFAULT_SAMPLE, memory_budget=budget, allow_hosts=tuple(args.allow_host))
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import format_report, report

    r = report(Path(args.data))
    print(json.dumps(r, indent=1) if args.json else format_report(r))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run_bench, run_metrics_bench

    if args.sweep:
        from .bench import run_sweep_bench

        if args.points < 1 or args.images < 1 or args.steps < 1:
            raise CliError("--points, --images and --steps must be at least 1")
        return run_sweep_bench(models=args.model, runs=args.runs, threads=args.threads, points=args.points,
                               images=args.images, metrics=args.metric, steps=args.steps, as_json=args.json)
    if args.metrics:
        return run_metrics_bench(models=args.model, runs=args.runs, threads=args.threads, device=args.device,
                                 size=args.size, as_json=args.json)

    return run_bench(models=args.model, runs=args.runs, threads=args.threads, device=args.device,
                     size=args.size, as_json=args.json)


COMMANDS = {
    "composites": cmd_composites,
    "export": cmd_export,
    "models": cmd_models,
    "presets": cmd_presets,
    "layers": cmd_layers,
    "explain": cmd_explain,
    "flip": cmd_flip,
    "ablate": cmd_ablate,
    "neurons": cmd_neurons,
    "serve": cmd_serve,
    "doctor": cmd_doctor,
    "bench": cmd_bench,
    "metrics": cmd_metrics,
    "sweep": cmd_sweep,
    "recommend": cmd_recommend,
    "batch": cmd_batch,
}

if __name__ == "__main__":
    sys.exit(main())
