"""Commands that probe one heatmap or one layer: pixel flipping (``flip``), channel ablation (``ablate``) and
per-channel relevance (``neurons``)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .common import (
    CliError,
    Command,
    add_image_model_args,
    add_model_args,
    load_input,
    lrp_model,
    open_session,
    target,
)
from .output import label


def _flip_args(p: argparse.ArgumentParser) -> None:
    from ..analysis.flip import DEFAULT_FILL, FLIP_MODES

    add_image_model_args(p)
    p.add_argument("--curve", choices=["morf", "lerf", "random"], default="morf",
                   help="most relevant first, least relevant first, or random (fixed --seed)")
    p.add_argument("--steps", type=int, default=20, help="number of flipping steps N (N + 1 points)")
    p.add_argument("--patch", type=int, default=8, help="rank PxP patches by summed relevance; 1 ranks pixels")
    p.add_argument("--mode", choices=FLIP_MODES, default=DEFAULT_FILL,
                   help="what flipped pixels become (zero: model-input 0, the paper's choice)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random order")
    p.add_argument("--json", action="store_true", help="print the curve, its AOPC and timing as JSON")


def cmd_flip(args: argparse.Namespace) -> int:
    import time

    import torch

    from ..analysis import flip_curve

    if args.steps < 1 or args.patch < 1:
        raise CliError("--steps and --patch must be at least 1")
    session = open_session(args)
    x = load_input(session, args.image)
    fwd = session.engine.forward(x)
    cls = target(args, fwd.logits)
    model = lrp_model(args, session)
    heatmap = session.engine.explain(fwd, model, cls, keep_layers=False).heatmap(0)
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
    curve = flip_curve(predict, x, heatmap, cls, args.curve, steps=args.steps, patch=args.patch, mode=args.mode,
                       black=session.zoo.preprocess.bounds()[0], seed=args.seed)
    curve_s = time.perf_counter() - t0
    result: dict[str, Any] = {
        "curve": [{"fraction": f, "logit": v, "top1": t}
                  for f, v, t in zip(curve.fractions, curve.logits, curve.top1, strict=True)],
        "aopc": curve.aopc,
        "order": args.curve,
        "target": cls,
        "label": label(session, cls),
        "steps": args.steps,
        "patch": args.patch,
        "mode": args.mode,
        "timing": {"forward_s": forward_s, "curve_s": curve_s, "ratio": curve_s / (args.steps * forward_s)},
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"model {session.zoo.name}, LRP model {model.name!r}, target {cls} ({result['label']})")
    print(f"{args.curve.upper()} flipping, {args.steps} steps, {args.patch}x{args.patch} units, mode {args.mode}")
    print(" fraction     logit  top-1")
    for row in result["curve"]:
        print(f"  {row['fraction']:6.3f}  {row['logit']:8.3f}  {row['top1']:4d} {label(session, row['top1'])}")
    print(f"AOPC {curve.aopc:.4f}")
    print(f"time {curve_s:.2f} s = {result['timing']['ratio']:.2f} x (steps x forward of {forward_s * 1000:.0f} ms)")
    return 0


def _ablate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("image", help="image file, preprocessed .npy (3,H,W) float32, sample:NAME or digits:I")
    add_model_args(p)
    p.add_argument("--layer", type=int, required=True, help="conv layer index (see `vislrp layers`)")
    p.add_argument("--channels", required=True, help="comma-separated channel indices, e.g. 1,2,3")
    p.add_argument("--top", type=int, default=5, help="how many classes to print")
    p.add_argument("--json", action="store_true", help="print the top classes before and after as JSON")


def _channels(text: str) -> list[int]:
    """``--channels 1,2,3`` as channel indices (empty items skipped)."""
    try:
        return [int(c) for c in text.split(",") if c.strip()]
    except ValueError:
        raise CliError(f"--channels must be comma-separated integers, not {text!r}") from None


def cmd_ablate(args: argparse.Namespace) -> int:
    from ..analysis import ablate, check_channels, conv_layer

    channels = _channels(args.channels)
    if not channels:
        raise CliError("--channels needs at least one channel")
    session = open_session(args)
    layer = conv_layer(session.graph, args.layer)
    channels = check_channels(layer, channels)
    x = load_input(session, args.image)
    fwd = session.engine.forward(x)
    logits = ablate(session.graph, fwd.x[0], layer.index, channels)
    k = max(1, args.top)

    def top(values: Any) -> list[dict[str, Any]]:
        v, i = values.topk(min(k, values.numel()))
        return [{"index": int(c), "label": label(session, int(c)), "score": float(s)}
                for s, c in zip(v, i, strict=True)]

    original = fwd.logits[0]
    tops = {"original": top(original), "ablated": top(logits)}
    result = {"layer": layer.index, "layer_name": layer.name, "channels": channels, **tops}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"model {session.zoo.name}, layer {layer.index} ({layer.name}), ablated channels "
          f"{','.join(map(str, channels))} of {layer.shape[0]}")
    print(f"  {'original':40s}  ablated")
    for a, b in zip(tops["original"], tops["ablated"], strict=True):
        before = float(original[b["index"]])
        print(f"  {a['index']:4d} {a['score']:8.3f} {a['label'][:24]:24s}  {b['index']:4d} {b['score']:8.3f} "
              f"({b['score'] - before:+.3f}) {b['label'][:24]}")
    return 0


def _neurons_args(p: argparse.ArgumentParser) -> None:
    add_image_model_args(p)
    p.add_argument("--layer", type=int, required=True, help="conv layer index (see `vislrp layers`)")
    p.add_argument("--json", action="store_true", help="print one JSON object per channel (pos, neg, activation)")


def cmd_neurons(args: argparse.Namespace) -> int:
    from ..analysis import conv_layer, neuron_table

    session = open_session(args)
    layer = conv_layer(session.graph, args.layer)
    x = load_input(session, args.image)
    fwd = session.engine.forward(x)
    cls = target(args, fwd.logits)
    model = lrp_model(args, session)
    ex = session.engine.explain(fwd, model, cls)
    rows = neuron_table(session.graph, ex, layer.index)
    if args.json:
        print(json.dumps([{"channel": r.channel, "pos": r.pos, "neg": r.neg, "activation": r.activation}
                          for r in rows]))
        return 0
    print(f"model {session.zoo.name}, layer {layer.index} ({layer.name}, {tuple(layer.shape)}), "
          f"target {cls} ({label(session, cls)}), LRP model {model.name!r}")
    print(" channel        pos R        neg R   mean activation")
    for r in rows:
        print(f"  {r.channel:6d} {r.pos:12.4g} {r.neg:12.4g} {r.activation:17.4g}")
    return 0


COMMANDS = (
    Command("flip", "relevance-ordered pixel flipping curve and AOPC of a heatmap", _flip_args, cmd_flip),
    Command("ablate", "zero channels of a conv layer and compare the prediction", _ablate_args, cmd_ablate),
    Command("neurons", "per-channel relevance and activation of a conv layer", _neurons_args, cmd_neurons),
)
