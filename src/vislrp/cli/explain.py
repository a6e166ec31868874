"""``vislrp explain``: one image, one design, one heatmap (and its relevance, per-layer maps, accounting)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .common import (
    CliError,
    Command,
    add_image_model_args,
    add_start_arg,
    load_input,
    lrp_model,
    open_session,
    start_rule,
    target,
)


def _explain_args(p: argparse.ArgumentParser) -> None:
    add_image_model_args(p)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--init", choices=["logit", "onehot"], default=None,
                   help="start from the target's pre-softmax score (default) or from 1 (the same as --start)")
    add_start_arg(g)
    p.add_argument("--out", help="save the input relevance as float32 (3,H,W) .npy")
    p.add_argument("--heatmap", help="save the heatmap as PNG with a legend")
    p.add_argument("--cmap", default="red-blue", help="red-blue, purple-orange, cold-hot, colorblind")
    p.add_argument("--layers-out", help="directory for one heatmap PNG per layer")
    p.add_argument("--json", action="store_true",
                   help="print the result as JSON (target, top-5, relevance sum, warnings, accounting)")


def _accounting_json(ex: Any) -> dict[str, Any]:
    """The explain's relevance accounting as the CLI's and API's JSON fields."""
    acc = ex.accounting(0)
    return {
        "conservation": [{"layer": i, "sum": v} for i, v in acc.conservation],
        "absorbed": [{"segment": a.segment, "start": a.start, "end": a.end, "bias": a.bias,
                      "stabiliser": a.stabiliser, "rule": a.rule,
                      "dropped": a.dropped, "total": a.total} for a in acc.absorbed],
    }


def cmd_explain(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from ..api import design_warnings
    from ..render import get_colormap, save_heatmap

    get_colormap(args.cmap)  # fail early on an unknown colour map
    if args.out and Path(args.out).is_dir():
        raise CliError(f"--out {args.out} is a directory; give a file name such as {Path(args.out) / 'relevance.npy'}")
    if args.init is not None:
        args.start = args.init
    session = open_session(args)
    x = load_input(session, args.image)
    fwd = session.engine.forward(x)
    cls = target(args, fwd.logits)
    start = start_rule(args, int(fwd.logits.shape[1]))
    if start.other == cls:
        raise CliError(f"--start {start}: the contrast class is the target itself (z_t − z_t = 0 explains nothing)")
    model = lrp_model(args, session)
    ex = session.engine.explain(fwd, model, cls, start=start)
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
        "target": cls,
        "label": labels[cls] if cls < len(labels) else str(cls),
        "logit": float(fwd.logits[0, cls]),
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
        print(f"target {cls} ({result['label']}), logit {result['logit']:.4f}, "
              f"relevance sum {result['relevance_sum']:.4f}")
        for w in warnings:
            print(f"warning: {w}")
        if args.heatmap:
            print(f"heatmap written to {args.heatmap}")
    return 0


COMMANDS = (
    Command("explain", "compute an LRP heatmap for one image", _explain_args, cmd_explain),
)
