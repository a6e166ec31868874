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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vislrp", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("models", help="list the model zoo")

    p = sub.add_parser("presets", help="list the rule presets of the paper's Table 1")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("layers", help="list the layers of a model (the indices segments refer to)")
    _add_model_args(p)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("explain", help="compute an LRP heatmap for one image")
    p.add_argument("image", help="image file, preprocessed .npy (3,H,W) float32, or sample:NAME")
    _add_model_args(p)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--config", help="LRP model JSON file")
    g.add_argument("--preset", help="one preset over all layers (default: the model's default composite)")
    p.add_argument("--include-bias", action="store_true", help="with --preset: include the bias")
    p.add_argument("--target", default="top", help="class index, or 'top' for the predicted class")
    p.add_argument("--init", choices=["logit", "onehot"], default="logit",
                   help="start from the target's pre-softmax score (default) or from 1")
    p.add_argument("--out", help="save the input relevance as float32 (3,H,W) .npy")
    p.add_argument("--heatmap", help="save the heatmap as PNG with a legend")
    p.add_argument("--cmap", default="red-blue", help="red-blue, purple-orange, cold-hot, colorblind")
    p.add_argument("--layers-out", help="directory for one heatmap PNG per layer")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("serve", help="start the web designer")
    _add_model_args(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--data", default=os.environ.get("VISLRP_DATA", str(Path.home() / ".local/share/vislrp")),
                   help="directory for the model store and uploads")
    p.add_argument("--sample", default=None, help="sample photo loaded at start")

    p = sub.add_parser("bench", help="time LRP against a forward pass, zennit and captum")
    p.add_argument("--model", nargs="+", default=["vgg16", "resnet50"])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--size", type=int, default=224, help="input image size")
    p.add_argument("--json", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(COMMANDS[args.command](args) or 0)
    except CliError as exc:
        print(f"vislrp {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, RuntimeError, OSError) as exc:
        # Known user errors (bad config, unknown model, unreadable image, missing weights) are ValueError
        # or RuntimeError subclasses with a message that names the problem.
        print(f"vislrp {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


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


def cmd_explain(args: argparse.Namespace) -> int:
    import numpy as np

    from .lrp import LRPModel, load_model_file
    from .render import get_colormap, save_heatmap
    from .session import open_session

    get_colormap(args.cmap)  # fail early on an unknown colour map
    session = open_session(args.model, args.weights, fold_bn=not args.no_fold_bn)
    x = session.load_input(args.image)
    fwd = session.engine.forward(x)
    if args.target == "top":
        target = fwd.topk(1)[0][0]
    else:
        try:
            target = int(args.target)
        except ValueError:
            raise CliError(f"--target must be a class index or 'top', not {args.target!r}") from None
        if not 0 <= target < fwd.logits.shape[1]:
            raise CliError(f"--target {target} is out of range (0..{fwd.logits.shape[1] - 1})")
    n = session.graph.n_layers
    if args.config:
        model = load_model_file(args.config)
    elif args.preset:
        model = LRPModel.single(n, args.preset, include_bias=args.include_bias)
    else:
        model = session.default_lrp_model()
    ex = session.engine.explain(fwd, model, target, init=args.init)
    rel = ex.input_relevance[0].detach().cpu().float()
    if args.out:
        np.save(args.out, rel.numpy().astype(np.float32))
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
    result: dict[str, Any] = {
        "target": target,
        "label": labels[target] if target < len(labels) else str(target),
        "logit": float(fwd.logits[0, target]),
        "topk": topk,
        "relevance_sum": float(rel.sum()),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"model {session.zoo.name}, LRP model {model.name!r}")
        for row in topk:
            print(f"  {row['index']:4d} {row['score']:9.3f}  {row['label']}")
        print(f"target {target} ({result['label']}), logit {result['logit']:.4f}, "
              f"relevance sum {result['relevance_sum']:.4f}")
        for w in ex.warnings():
            print(f"warning: {w}")
        if args.heatmap:
            print(f"heatmap written to {args.heatmap}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .server import serve
    from .zoo import DEFAULT_SAMPLE

    serve(model=args.model, weights=args.weights, host=args.host, port=args.port, data_dir=Path(args.data),
          sample=args.sample or DEFAULT_SAMPLE)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run_bench

    return run_bench(models=args.model, runs=args.runs, threads=args.threads, device=args.device,
                     size=args.size, as_json=args.json)


COMMANDS = {
    "models": cmd_models,
    "presets": cmd_presets,
    "layers": cmd_layers,
    "explain": cmd_explain,
    "serve": cmd_serve,
    "bench": cmd_bench,
}

if __name__ == "__main__":
    sys.exit(main())
