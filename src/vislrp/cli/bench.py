"""``vislrp bench``: LRP's cost against a forward pass, zennit and captum (or the metrics' and a sweep's cost)."""

from __future__ import annotations

import argparse

from .common import CliError, Command


def _bench_args(p: argparse.ArgumentParser) -> None:
    from ..analysis.metrics.names import SPARSENESS, SRG

    p.add_argument("--model", nargs="+", default=["vgg16", "resnet50"],
                   help="zoo names or package.module:factory, one report each (default: vgg16 resnet50)")
    p.add_argument("--runs", type=int, default=5, help="timed runs per item; the median is reported (default 5)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="cpu (default) or cuda")
    p.add_argument("--size", type=int, default=224, help="input image size")
    p.add_argument("--metrics", action="store_true",
                   help="time the metrics suite instead: each metric ÷ one forward and ÷ Quantus's time")
    p.add_argument("--sweep", action="store_true",
                   help="time a sweep instead: cost ÷ (points × images × (re-explain + the metrics' forwards))")
    p.add_argument("--points", type=int, default=8, help="with --sweep: design points")
    p.add_argument("--images", type=int, default=4, help="with --sweep: images (sample photos)")
    p.add_argument("--metric", default=f"{SRG},{SPARSENESS}", help="with --sweep: metrics of the sweep")
    p.add_argument("--steps", type=int, default=10, help="with --sweep: flipping steps")
    p.add_argument("--json", action="store_true",
                   help="print one JSON document: {\"bench\": ..., \"rows\": [one object per model]}")


def cmd_bench(args: argparse.Namespace) -> int:
    from ..bench import run_bench, run_metrics_bench

    if args.sweep:
        from ..bench import run_sweep_bench

        if args.points < 1 or args.images < 1 or args.steps < 1:
            raise CliError("--points, --images and --steps must be at least 1")
        return run_sweep_bench(models=args.model, runs=args.runs, threads=args.threads, points=args.points,
                               images=args.images, metrics=args.metric, steps=args.steps, as_json=args.json)
    if args.metrics:
        return run_metrics_bench(models=args.model, runs=args.runs, threads=args.threads, device=args.device,
                                 size=args.size, as_json=args.json)
    return run_bench(models=args.model, runs=args.runs, threads=args.threads, device=args.device,
                     size=args.size, as_json=args.json)


COMMANDS = (
    Command("bench", "time LRP against a forward pass, zennit and captum", _bench_args, cmd_bench),
)
