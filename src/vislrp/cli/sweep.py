"""Commands over many designs or many images (docs/sweeps.md): ``sweep`` a design space, ``batch`` one design over
a folder, ``recommend`` the best designs per metric. They share the metric flags, the executor and a progress bar."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .common import (
    CliError,
    Command,
    add_executor_args,
    add_metric_args,
    add_model_args,
    add_start_arg,
    image_specs,
    lrp_model,
    metric_options,
    n_classes,
    open_session,
    start_rule,
)
from .output import format_params, progress_bar


def _need_sweep(command: str) -> None:
    """The sweep package's imports (pandas for the tables), as a one-line error when missing."""
    try:
        import vislrp.sweep  # noqa: F401
    except ImportError as exc:
        raise CliError(f"{command} needs {exc.name}: pip install {exc.name}") from None


def _metric_args(args: argparse.Namespace) -> tuple[list[str], Any]:
    """Metric names and options of `sweep`/`batch`/`recommend`, validated (one-line errors)."""
    from ..analysis.metrics import NEEDS_REGION, UnknownMetricError, parse_metrics

    try:
        names = parse_metrics(args.metric) if args.metric or args.command == "sweep" else []
    except UnknownMetricError as exc:
        raise CliError(str(exc)) from None
    if set(names) & NEEDS_REGION:
        raise CliError(f"{', '.join(sorted(set(names) & NEEDS_REGION))}: region metrics are not available in "
                       f"{args.command} (they need a mask per image)")
    options = metric_options(args)
    if args.target != "top" and not args.target.isdigit():
        raise CliError(f"--target must be a class index or 'top', not {args.target!r}")
    return names, options


def _sweep_common(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """Metric names, metric options and executor of `sweep`/`batch`, validated (one-line errors)."""
    from ..sweep import get_executor

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


# ---------------------------------------------------------------------- sweep
def _sweep_args(p: argparse.ArgumentParser) -> None:
    add_model_args(p)
    p.add_argument("--base", default=None, help="base design: a composite name or an LRP model JSON file "
                   "(default: the default composite)")
    p.add_argument("--vary", action="append", default=[], metavar="AXIS=VALUES",
                   help="S2.gamma1p=0:1:11 (a:b:n), S3.epsilon=0,0.1 (list), B1=10:30:5 (boundary), "
                   "include_bias=true,false, zbox=on,off, composite=NAME,NAME; repeatable")
    p.add_argument("--random", type=int, default=None, metavar="N",
                   help="N random points instead of the grid (drawn with --seed)")
    p.add_argument("--images", nargs="+", required=True,
                   help="image files, folders, .npy inputs, sample:NAME or digits:I")
    add_metric_args(p)
    add_start_arg(p)
    p.add_argument("--out", required=True, help="result table, .csv or .parquet; rows already there are skipped")
    add_executor_args(p)
    p.add_argument("--json", action="store_true", help="print the points and the best point per metric as JSON")


def _sweep_base(text: str | None) -> Any:
    """``--base`` as the sweep space takes it: a composite name as is (resolved per point), or a loaded LRP model."""
    from ..lrp import load_model_file
    from ..lrp.composites import COMPOSITES, DEFAULT_COMPOSITE

    base_text = text or DEFAULT_COMPOSITE
    if base_text in COMPOSITES:
        return base_text
    if base_text.endswith(".json") or Path(base_text).is_file():
        return load_model_file(base_text)
    raise CliError(f"--base {base_text!r} is neither a composite ({', '.join(COMPOSITES)}) nor a JSON file")


def cmd_sweep(args: argparse.Namespace) -> int:
    _need_sweep("sweep")
    from ..sweep import Space, load_inputs, parse_axis, run_sweep, summary_path
    from ..sweep.table import check_path

    if not args.vary:
        raise CliError("give at least one --vary AXIS=VALUES, e.g. --vary S2.gamma1p=0:1:11")
    axes = tuple(parse_axis(v) for v in args.vary)
    if len({a.name for a in axes}) != len(axes):
        raise CliError("an axis is given twice in --vary")
    names, options, executor = _sweep_common(args)
    space = Space(_sweep_base(args.base), axes)
    points = space.random(args.random, args.seed) if args.random is not None else space.grid()
    check_path(Path(args.out))
    session = open_session(args)
    space.check(session.graph, points)
    start = start_rule(args, n_classes(session))
    inputs = load_inputs(session, image_specs(args.images), args.target)
    bar, progress = progress_bar("sweep", args.json)
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
        print(f"  best {metric}: {best['mean']:.4g} at {format_params(best['params'])}")
    return 0


# ---------------------------------------------------------------------- batch
def _batch_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("image", nargs="+", help="image files, folders, .npy inputs, sample:NAME or digits:I")
    add_model_args(p)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--composite", help="a named composite (default: the default composite)")
    g.add_argument("--config", help="LRP model JSON file")
    add_metric_args(p, required=False)
    add_start_arg(p)
    p.add_argument("--cmap", default="red-blue", help="heatmap colour map")
    p.add_argument("--out", required=True, help="output folder (per image .npy and .png, results.csv)")
    add_executor_args(p)
    p.add_argument("--json", action="store_true", help="print the table rows as JSON")


def cmd_batch(args: argparse.Namespace) -> int:
    _need_sweep("batch")
    from ..render import get_colormap
    from ..sweep import load_inputs, run_batch

    get_colormap(args.cmap)
    names, options, executor = _sweep_common(args)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CliError(f"--out {out} is a file; batch writes a folder")
    specs = image_specs(args.image)
    session = open_session(args)
    design = lrp_model(args, session)
    start = start_rule(args, n_classes(session))
    inputs = load_inputs(session, specs, args.target)
    bar, progress = progress_bar("batch", args.json)
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


# ---------------------------------------------------------------------- recommend
def _recommend_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--images", nargs="+", required=True,
                   help="image files, folders, .npy inputs, sample:NAME or digits:I")
    add_model_args(p)
    add_metric_args(p)
    p.add_argument("--from-sweep", action="append", default=[], metavar="TABLE",
                   help="a `vislrp sweep` table (or its .summary.json): its best points become candidates; repeatable")
    p.add_argument("--top", type=int, default=3, help="designs per metric (default 3)")
    p.add_argument("--out", default=None, help="folder: each recommended design as LRP-model JSON (--config, "
                   "or import into the designer)")
    p.add_argument("--json", action="store_true", help="print the rankings as JSON")


def cmd_recommend(args: argparse.Namespace) -> int:
    _need_sweep("recommend")
    from ..sweep import load_inputs, summary_path
    from ..sweep.recommend import composite_candidates, recommend, sweep_candidates

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
    session = open_session(args)
    cands = composite_candidates(session.graph)
    for path in summaries:
        cands += sweep_candidates(path, session.graph, args.top)
    inputs = load_inputs(session, image_specs(args.images), args.target)
    bar, progress = progress_bar("recommend", args.json, unit="design")
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


COMMANDS = (
    Command("sweep", "evaluate a grid or random sample of LRP designs on images with metrics (docs/sweeps.md)",
            _sweep_args, cmd_sweep),
    Command("batch", "one design on many images: relevance .npy, heatmap .png, one table", _batch_args, cmd_batch),
    Command("recommend", "rank the composites and the best points of earlier sweeps per metric on images, with a "
            "reason each (docs/sweeps.md)", _recommend_args, cmd_recommend),
)
