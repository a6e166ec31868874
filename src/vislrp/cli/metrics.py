"""``vislrp metrics``: the quantitative checks of docs/metrics.md on heatmaps of many images, in groups."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .common import (
    CliError,
    Command,
    add_metric_args,
    add_model_args,
    add_start_arg,
    image_specs,
    lrp_model,
    metric_options,
    n_classes,
    open_session,
    start_rule,
    target,
)
from .output import label

METRICS_GROUP = 8
"""Images explained and evaluated together by `vislrp metrics` (bounds memory for big folders)."""


def _metrics_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("image", nargs="+", help="image files, folders of images, preprocessed .npy, sample:NAME, digits:I")
    add_model_args(p)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--composite", help="a named composite (see `vislrp composites`); default: the default composite")
    g.add_argument("--config", help="LRP model JSON file")
    g.add_argument("--preset", help="one preset over all layers")
    p.add_argument("--include-bias", action="store_true", help="with --preset: include the bias")
    add_metric_args(p)
    add_start_arg(p)
    p.add_argument("--noise", type=float, default=None, help="ROAD noise σ in model-input units (default 0.01)")
    p.add_argument("--mask", help="region image for relevance-mass and pointing-game (nonzero pixels = region)")
    p.add_argument("--json", action="store_true", help="print one JSON list, one object per (image, metric)")


def _region_mask(path: str, session: Any) -> Any:
    """A region mask (H, W) bool at the model's input size: nonzero pixels of the image are the region.

    A mask of the model-input size is taken as is; any other size is resized and centre-cropped exactly
    as the photos are, so a mask drawn on the original photo lines up with the model input.
    """
    import numpy as np
    import torch

    from ..zoo import load_image

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

    from ..analysis.metrics import FLIPPING, NEEDS_REGION, MetricContext, UnknownMetricError, evaluate, parse_metrics

    try:
        names = parse_metrics(args.metric)
    except UnknownMetricError as exc:
        raise CliError(str(exc)) from None
    options = metric_options(args, **({} if args.noise is None else {"noise": args.noise}))
    needs = [n for n in names if n in NEEDS_REGION]
    if needs and not args.mask:
        raise CliError(f"{', '.join(needs)} {'needs' if len(needs) == 1 else 'need'} a region: give --mask M.png")
    specs = image_specs(args.image)
    session = open_session(args)
    model = lrp_model(args, session)
    mask = _region_mask(args.mask, session) if args.mask else None
    rule = start_rule(args, n_classes(session))
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
        targets = [target(args, logits[i:i + 1]) for i in range(len(group))]
        ctx = MetricContext(session.graph, session.engine, model, batch, targets, black=bounds[0], bounds=bounds,
                            masks=mask, start=rule)
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
            row: dict[str, Any] = {"image": group[r.image], "target": r.target, "label": label(session, r.target),
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
    print(f"model {session.zoo.name}, LRP model {model.name!r}, start rule {rule}, fill {args.fill}")
    print(f"{'image':28s} {'target':24s} {'metric':26s} {'value':>10s}  AOPC morf / lerf / random")
    for row in rows:
        value = "—" if row["value"] is None else f"{row['value']:.4f}"
        aopc = " / ".join(f"{row['aopc'][o]:.3f}" for o in ("morf", "lerf", "random")
                          if o in row.get("aopc", {}))
        tgt = f"{row['target']} {row['label']}"[:24]
        print(f"{Path(row['image']).name[:28]:28s} {tgt:24s} {row['metric']:26s} {value:>10s}  {aopc}")
        if row.get("note"):
            print(f"  note: {row['note']}")
    return 0


METRICS_HELP = ("quantitative checks of heatmaps (faithfulness, complexity, randomisation, localisation), "
                "batched over images")

COMMANDS = (
    Command("metrics", METRICS_HELP, _metrics_args, cmd_metrics),
)
