"""The measured table of docs/metrics.md: SRG and AOPCs of the registry's composites on the sample photos.

    python -m vislrp.analysis.metrics.report [--composite NAME ...] [--fill road] [--steps 20] [--patch 8]

prints a Markdown table (one row per composite and photo, then a summary per composite): SRG, the
MoRF/LeRF/random AOPCs, and whether MoRF beats random. Deterministic (seeded) up to float rounding.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import torch

from ...lrp.composites import COMPOSITES, DEFAULT_COMPOSITE
from ...session import open_session
from ...zoo import list_samples
from ..flip import FILL_MODES, ROAD
from .names import SRG
from .suite import ROAD_NOISE, MetricContext, MetricOptions, evaluate


def table(composites: Sequence[str], fill: str, steps: int, patch: int, seed: int = 0) -> str:
    """Markdown rows: composite, photo, target, SRG, AOPC MoRF / LeRF / random, MoRF > random."""
    session = open_session("efficientnet_lite0")
    photos = list_samples(digits=False)  # the photos: the digits are for the digits networks
    xs = torch.stack([session.load_input(f"sample:{p}") for p in photos])
    targets = [int(t) for t in session.engine.forward(xs).logits.argmax(1)]
    low, high = session.zoo.preprocess.bounds()
    options = MetricOptions(fill=fill, steps=steps, patch=patch, seed=seed, noise=ROAD_NOISE)  # type: ignore[arg-type]  # fill is a FillMode string checked by MetricOptions
    lines = ["| composite | photo | target | SRG | AOPC MoRF | AOPC LeRF | AOPC random | MoRF > random |",
             "|---|---|---|---|---|---|---|---|"]
    summary = ["| composite | SRG > 0 | MoRF > random | mean SRG | mean AOPC MoRF / LeRF / random |",
               "|---|---|---|---|---|"]
    for name in composites:
        model = COMPOSITES[name].resolve(session.graph)
        ctx = MetricContext(session.graph, session.engine, model, xs, targets, black=low, bounds=(low, high))
        results = evaluate(ctx, [SRG], options)
        srg_pos = morf_wins = 0
        srgs: list[float] = []
        aopcs: dict[str, list[float]] = {"morf": [], "lerf": [], "random": []}
        for r in results:
            assert r.aopc is not None
            a = r.aopc
            label = session.zoo.labels[r.target] if r.target < len(session.zoo.labels) else str(r.target)
            value = "—" if r.value is None else f"{r.value:.3f}"
            wins = a["morf"] > a["random"]
            srg_pos += int(r.value is not None and r.value > 0)
            morf_wins += int(wins)
            if r.value is not None:
                srgs.append(r.value)
            for o in aopcs:
                aopcs[o].append(a[o])
            lines.append(f"| {name} | {photos[r.image]} | {r.target} {label} | {value} | {a['morf']:.3f} | "
                         f"{a['lerf']:.3f} | {a['random']:.3f} | {'yes' if wins else 'no'} |")
        n = len(results)
        mean = {o: sum(v) / n for o, v in aopcs.items()}
        summary.append(f"| {name} | {srg_pos}/{n} | {morf_wins}/{n} | "
                       f"{(sum(srgs) / len(srgs)) if srgs else float('nan'):.3f} | "
                       f"{mean['morf']:.3f} / {mean['lerf']:.3f} / {mean['random']:.3f} |")
    return "\n".join([*lines, "", *summary])


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m vislrp.analysis.metrics.report", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--composite", nargs="+", default=None, help=f"default: all ({', '.join(COMPOSITES)})")
    p.add_argument("--fill", default=ROAD, choices=FILL_MODES)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--patch", type=int, default=8)
    args = p.parse_args(argv)
    names = args.composite or [DEFAULT_COMPOSITE] + [n for n in COMPOSITES if n != DEFAULT_COMPOSITE]
    unknown = [n for n in names if n not in COMPOSITES]
    if unknown:
        print(f"unknown composite {unknown[0]!r}; known: {', '.join(COMPOSITES)}", file=sys.stderr)
        return 2
    torch.set_num_threads(2)
    print(table(names, args.fill, args.steps, args.patch))
    return 0


if __name__ == "__main__":
    sys.exit(main())
