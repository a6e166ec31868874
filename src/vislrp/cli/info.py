"""Commands that list what vislrp knows (models, presets, composites, layers) or print a design elsewhere (export)."""

from __future__ import annotations

import argparse
import json

from .common import Command, add_model_args, lrp_model, open_session


def _json_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the list as JSON")


def cmd_models(args: argparse.Namespace) -> int:
    from ..zoo import DEFAULT_MODEL, list_models

    if args.json:
        print(json.dumps([{"name": info.name, "description": info.description, "input_size": info.input_size,
                           "test_accuracy": info.test_accuracy, "default": info.name == DEFAULT_MODEL}
                          for info in list_models()], ensure_ascii=False))
        return 0
    for info in list_models():
        # the default is marked once: the zoo's description may already say so
        mark = " (default)" if info.name == DEFAULT_MODEL and "default" not in info.description else ""
        accuracy = f" [test accuracy {info.test_accuracy:.4f}]" if info.test_accuracy is not None else ""
        print(f"{info.name:20s} {info.description}{mark}{accuracy}")
    print("any FX-traceable CNN: --model package.module:factory --weights FILE")
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    from ..lrp import PRESETS

    if args.json:
        print(json.dumps([{"name": p.name, "label": p.label, "reference": p.reference,
                           "rule": p.params.model_dump(), "latex": p.latex} for p in PRESETS.values()], indent=2))
        return 0
    for p in PRESETS.values():
        params = " ".join(f"{k}={v:g}" for k, v in p.params.model_dump().items())
        print(f"{p.name:13s} {p.label:10s} {params}")
    return 0


def cmd_composites(args: argparse.Namespace) -> int:
    from ..lrp.composites import COMPOSITES, DEFAULT_COMPOSITE

    rows = [{"name": c.name, "label": c.label, "description": c.description, "zennit": c.zennit,
             "reproduces": c.reproduces, "attention": c.attention, "layernorm": c.layernorm,
             "for_transformers": c.for_transformers, "default": c.name == DEFAULT_COMPOSITE}
            for c in COMPOSITES.values()]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    for row in rows:
        mark = " (default)" if row["default"] else ""
        print(f"{row['name']:28s} {row['description']}{mark}")
    return 0


def _export_args(p: argparse.ArgumentParser) -> None:
    add_model_args(p)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--config", help="LRP model JSON file")
    g.add_argument("--composite", help="a named composite (default: the default composite)")
    p.add_argument("--zennit", action="store_true", required=True, help="print a zennit composite as Python code")


def cmd_export(args: argparse.Namespace) -> int:
    from ..lrp.zennit_export import zennit_code

    session = open_session(args)
    bounds = session.zoo.preprocess.bounds()  # the ZBox box the engine uses for this network
    print(zennit_code(lrp_model(args, session), session.graph, bounds=bounds), end="")
    return 0


def _layers_args(p: argparse.ArgumentParser) -> None:
    add_model_args(p)
    p.add_argument("--json", action="store_true",
                   help="print the layer table as JSON (index, kind, name, shape, block: a transformer's encoder "
                        "block, null elsewhere)")


def cmd_layers(args: argparse.Namespace) -> int:
    session = open_session(args)
    table = session.graph.table()
    if args.json:
        print(json.dumps(table))
        return 0
    blocks = any(row["block"] is not None for row in table)
    for row in table:
        block = ("" if row["block"] is None else f"block {row['block']}").ljust(10) if blocks else ""
        print(f"{row['index']:4d}  {block}{row['kind']:10s} {row['name']:40s} {tuple(row['shape'])}")
    return 0


COMMANDS = (
    Command("models", "list the model zoo (with each network's test accuracy where known)", _json_flag,
            cmd_models),
    Command("presets", "list the rule presets of the paper's Table 1", _json_flag, cmd_presets),
    Command("composites", "list the named composites (rules by layer kind)", _json_flag, cmd_composites),
    Command("export", "print a design as code for another library (zennit)", _export_args, cmd_export),
    Command("layers", "list the layers of a model (the indices segments refer to)", _layers_args, cmd_layers),
)
