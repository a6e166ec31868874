"""Model parameter randomisation test (Adebayo et al., NeurIPS 2018), cascading from the top layer.

The weights of the conv/linear layers are re-initialised one after another, starting at the output,
and after each layer the heatmap is computed again on the partly random network. A heatmap that
depends on what the network learned changes as the network is destroyed, so the Spearman rank
correlation between the original and the randomised heatmaps should fall: low is good. As in
Quantus (abs=True) the absolute heatmaps are compared. The value is the mean similarity over the
cascade; the per-layer similarities are in ``detail["layers"]``.

Choices: layers are those of the traced graph, where BatchNorm is folded into the conv before it
(re-initialising the conv randomises conv and BN together); a layer gets PyTorch's default
initialisation (``reset_parameters``) under ``seed`` + its position in the cascade, in fresh tensors
on a copy of the network, so the caller's network and its caches are untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from ...lrp import Engine, LayerGraph, LRPModel, StartRule, build_graph
from .base import MetricResult, as_batch, spearman
from .names import MPRT as NAME

Progress = Callable[[int, int], None]


def randomise_layer(module: nn.Module, seed: int) -> None:
    """Re-initialise a conv/linear module's weight and bias in new tensors (never in place)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for name in ("weight", "bias"):
            p = getattr(module, name, None)
            if isinstance(p, torch.Tensor):
                setattr(module, name, nn.Parameter(torch.empty_like(p), requires_grad=False))
        reset = getattr(module, "reset_parameters", None)
        if callable(reset):
            reset()
        else:
            raise ValueError(f"cannot re-initialise a {type(module).__name__}: it has no reset_parameters")


def mprt(graph: LayerGraph, model: LRPModel, xs: torch.Tensor, targets: Sequence[int], *,
         bounds: tuple[torch.Tensor, torch.Tensor] | None = None, maps: torch.Tensor | None = None,
         layers: Sequence[int] | None = None, seed: int = 0,
         progress: Progress | None = None, start: StartRule | str | None = None) -> list[MetricResult]:
    """Cascading randomisation, top layer first, over ``layers`` (default: every conv/linear layer).

    ``maps`` (B, H, W) are the heatmaps of the intact network when already computed; ``start`` is the start rule
    of every heatmap (None: ``logit``), so the randomised networks are explained as the intact one was.
    """
    rows = [(i, int(t)) for i, t in enumerate(targets)]
    if maps is None:
        engine = Engine(graph, bounds=bounds)
        maps = engine.explain(engine.forward(xs, cache=False), model, rows, start=start,
                              keep_layers=False).input_relevance.sum(1)
    maps = as_batch(maps).abs()
    copy = build_graph(graph.gm, graph.input_shape, fold_bn=False)
    weighted = [layer.index for layer in copy.weighted]
    chosen = sorted(weighted if layers is None else layers, reverse=True)
    unknown = [i for i in chosen if i not in weighted]
    if unknown:
        raise ValueError(f"layers {unknown} have no weights to randomise; choose among {weighted}")
    if not chosen:
        raise ValueError("the network has no conv or linear layer to randomise")
    per_image: list[list[dict[str, object]]] = [[] for _ in rows]
    for step, index in enumerate(chosen):
        layer = copy.layers[index]
        assert layer.module is not None
        randomise_layer(layer.module, seed + step)
        engine = Engine(copy, bounds=bounds)  # a fresh engine: no cached weights of the old parameters
        rand = engine.explain(engine.forward(xs, cache=False), model, rows, start=start,
                              keep_layers=False).input_relevance
        rand_maps = rand.sum(1).abs()
        for i in range(len(rows)):
            per_image[i].append({"index": index, "name": layer.name, "similarity": spearman(maps[i], rand_maps[i])})
        if progress is not None:
            progress(step + 1, len(chosen))
    out = []
    for i, (_, t) in enumerate(rows):
        sims = [float(r["similarity"]) for r in per_image[i]]  # type: ignore[arg-type]  # per-image rows hold floats under 'similarity'
        out.append(MetricResult(metric=NAME, image=i, target=t, value=sum(sims) / len(sims),
                                detail={"layers": per_image[i]}))
    return out
