"""The Python API for notebooks: explain any FX-traceable CNN with a composite or an LRP model.

    import vislrp
    e = vislrp.explain(model, x, composite="epsilon-gamma-box")
    e.relevance, e.layers["features.0"], e.heatmap()

The user's module is never changed (the engine traces a copy); BatchNorm is folded in the copy.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from PIL import Image
from torch import nn

from .designs import Design, resolve_design
from .lrp import Engine, LayerGraph, LRPModel, build_graph
from .lrp.composites import DEFAULT_COMPOSITE, Composite, get_composite
from .lrp.result import Accounting, Explanation
from .lrp.start import StartRule, parse_start
from .zoo import IMAGENET


class LayerRelevance(Mapping[int | str, torch.Tensor]):
    """Relevance of every layer's output, by layer index or by layer name; (N, *layer shape) each."""

    def __init__(self, graph: LayerGraph, explanation: Explanation) -> None:
        self._graph = graph
        self._ex = explanation
        self._by_name = {layer.name: layer.index for layer in graph.layers}

    def _index(self, k: int | str) -> int:
        if isinstance(k, str):
            if k not in self._by_name:
                raise KeyError(f"no layer named {k!r}; see .names")
            return self._by_name[k]
        if not -len(self._graph.layers) <= k < len(self._graph.layers):
            raise KeyError(f"layer index {k} is out of range (0..{len(self._graph.layers) - 1})")
        return k % len(self._graph.layers)

    def __getitem__(self, k: int | str) -> torch.Tensor:
        rel = self._ex.layer_relevance[self._index(k)]
        if rel is None:
            raise KeyError(f"no relevance reached layer {k!r}")
        return rel

    def __iter__(self) -> Iterator[int | str]:
        return iter(range(len(self._graph.layers)))

    def __len__(self) -> int:
        return len(self._graph.layers)

    @property
    def names(self) -> list[str]:
        return [layer.name for layer in self._graph.layers]


@dataclass(eq=False)
class Result:
    """One explanation per image of the batch."""

    relevance: torch.Tensor
    """Input relevance, the same shape as x."""
    targets: list[int]
    logits: torch.Tensor
    design: LRPModel
    explanation: Explanation = field(repr=False)
    graph: LayerGraph = field(repr=False)

    @property
    def layers(self) -> LayerRelevance:
        return LayerRelevance(self.graph, self.explanation)

    def heatmap(self, cmap: str = "red-blue", index: int = 0, *, legend: bool = True) -> Image.Image:
        """The heatmap of image ``index`` as a picture (relevance summed over colour channels)."""
        from .render import heatmap_image

        return heatmap_image(self.explanation.heatmap(index).detach().cpu().numpy(), cmap, legend=legend)

    def accounting(self, index: int = 0) -> Accounting:
        return self.explanation.accounting(index)

    def warnings(self, index: int = 0) -> list[str]:
        """The design's rule warnings (per segment), then the engine's numerical ones for image ``index``."""
        return design_warnings(self.design) + self.explanation.warnings(index)


def design_warnings(model: LRPModel) -> list[str]:
    """Each segment's rule warnings (:meth:`RuleParams.warnings`), naming the segment, as the designer shows them.

    Rules with no guard against denominators near zero (LRP-0, ε with the raw weights) say so here.
    """
    return [f"Segment {k + 1} (layers {seg.start}–{seg.end}): {w}"
            for k, seg in enumerate(model.segments) for w in seg.rule.warnings()]


def explain(model: nn.Module, x: torch.Tensor, target: int | Sequence[int] | None = None,
            composite: Design = DEFAULT_COMPOSITE, *, bounds: tuple[Any, Any] | None = None,
            init: str = "logit", start: str | StartRule | None = None, fold_bn: bool = True) -> Result:
    """Explain every image of ``x`` (N, C, H, W) for its target class with an LRP design.

    ``target``: None (each image's top class), one class for all images, or one class per image.
    ``composite``: a registry name (``vislrp.composites()``), a Composite, an LRP model, its dict or a JSON
    path. ``bounds=(low, high)``: the ZBox box in model-input units (defaults: ImageNet normalisation of
    pixel values 0 and 1), per channel or full size. ``start``: what the heatmap explains (docs/start-rules.md):
    ``"logit"`` (default), ``"onehot"``, ``"contrastive:B"`` (the target rather than class B), ``"sglrp"`` or
    ``"clrp"``; ``init`` is the older spelling of the first two.
    """
    if x.dim() != 4:
        raise ValueError(f"x must be a (N, C, H, W) tensor, got shape {tuple(x.shape)}")
    graph = build_graph(model, tuple(x.shape[1:]), fold_bn=fold_bn)
    low, high = bounds if bounds is not None else IMAGENET.bounds()
    low, high = (torch.as_tensor(b, dtype=x.dtype).reshape(-1, 1, 1) if torch.as_tensor(b).dim() <= 1
                 else torch.as_tensor(b, dtype=x.dtype) for b in (low, high))
    engine = Engine(graph, bounds=(low, high), forward_cache_size=1)
    fwd = engine.forward(x, cache=False)
    n = x.shape[0]
    if target is None:
        targets = fwd.logits.argmax(1).tolist()
    elif isinstance(target, int):
        targets = [target] * n
    else:
        targets = [int(t) for t in target]
        if len(targets) != n:
            raise ValueError(f"{len(targets)} targets for {n} images")
    design_model = resolve_design(composite, graph)
    if init not in ("logit", "onehot"):
        raise ValueError("init must be 'logit' or 'onehot'")
    rule = parse_start(start if start is not None else init, int(fwd.logits.shape[1]))
    ex = engine.explain(fwd, design_model, [(i, t) for i, t in enumerate(targets)], start=rule)
    return Result(ex.input_relevance, targets, fwd.logits, design_model, ex, graph)


def composites() -> list[str]:
    """The names of the registry's composites."""
    from .lrp.composites import COMPOSITES

    return list(COMPOSITES)


def to_zennit(design: Design, model: nn.Module, *, input_shape: tuple[int, ...] = (3, 224, 224),
              bounds: tuple[torch.Tensor, torch.Tensor] | None = None) -> Any:
    """The same design as a zennit composite for ``model`` (needs zennit installed)."""
    from .lrp.zennit_export import to_zennit as export

    if isinstance(design, str) and not design.endswith(".json"):
        design = get_composite(design)
    elif not isinstance(design, Composite | LRPModel):
        design = resolve_design(design, build_graph(model, input_shape))
    return export(design, model, input_shape=input_shape, bounds=bounds)
