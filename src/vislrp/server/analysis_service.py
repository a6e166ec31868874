"""The analysis service: what the pixel-flipping (V5), neuron-ablation (V6), relevance-flow and metrics routes and
jobs call, on the designer's network and engine.

Shares :class:`~vislrp.server.service.DesignerService`'s images, engine and lock. The last few
explanations are kept (keyed by image, class and LRP model), so the neuron table, the maps of a
selection and the ablation curve of one view do not each re-run LRP.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable, Iterable
from typing import Protocol

import numpy as np
import torch

from vislrp.analysis import (
    ablated_logits,
    ablation_curve,
    channel_maps,
    check_channels,
    flip,
    flip_curve,
    neuron_table,
    unit_layer,
)
from vislrp.analysis.flip import DEFAULT_CHUNK, ROAD
from vislrp.analysis.flow import Cell, FlowError, region_flow
from vislrp.analysis.metrics.names import FAITHFULNESS_CORRELATION, REGION_PERTURBATION
from vislrp.analysis.regions import flip_regions
from vislrp.designs import check_design
from vislrp.lrp import Explanation, LayerGraph, LRPModel, StartRule
from vislrp.lru import LRUCache
from vislrp.server.errors import MaskError, MetricsError
from vislrp.server.memory import tensors_bytes
from vislrp.server.routes.explain import LinkCell, SegmentLinksRequest, SegmentLinksResponse
from vislrp.server.routes.flip import (
    CurveOut,
    CurvePoint,
    CurveRequest,
    CurveResponse,
    FlipRequest,
    FlipResponse,
    MaskData,
    RankedPrediction,
)
from vislrp.server.routes.metrics import (
    MetricAopc,
    MetricCell,
    MetricCurves,
    MetricInfo,
    MetricsRequest,
    MetricsResponse,
    MetricSummary,
)
from vislrp.server.routes.neurons import (
    AblateRequest,
    AblateResponse,
    AblationCurveRequest,
    AblationCurveResponse,
    NeuronMap,
    NeuronMapsRequest,
    NeuronMapsResponse,
    NeuronOut,
    NeuronsRequest,
    NeuronsResponse,
)
from vislrp.server.service import DesignerService, ImageEntry, encode

EXPLANATION_CACHE = 3
Progress = Callable[[int, int], None]


class Row(Protocol):
    """A request's (image, class) pair: a comparison or metrics row."""

    image_id: str
    class_index: int


def decode_mask(mask: MaskData, size: tuple[int, int]) -> torch.Tensor:
    """The (H, W) boolean mask of a request, checked against the image size."""
    return decode_labels(mask, size) != 0


def decode_labels(mask: MaskData, size: tuple[int, int]) -> torch.Tensor:
    """The (H, W) bytes of a request's mask (0 = keep, k = region k), checked against the image size."""
    if tuple(mask.shape) != size:
        raise MaskError(f"the mask is {mask.shape[0]}×{mask.shape[1]} but the image is {size[0]}×{size[1]}")
    try:
        raw = base64.b64decode(mask.data, validate=True)
    except (binascii.Error, ValueError):
        raise MaskError("mask.data is not valid base64") from None
    if len(raw) != size[0] * size[1]:
        raise MaskError(f"mask.data holds {len(raw)} bytes; a {size[0]}×{size[1]} mask needs {size[0] * size[1]}")
    return torch.from_numpy(np.frombuffer(raw, dtype=np.uint8).reshape(size).astype(np.int64))


def _explanation_bytes(ex: Explanation) -> int:
    return tensors_bytes([ex.input_relevance, ex.start_relevance, *ex.layer_relevance]) + ex.forward.nbytes


class AnalysisService:
    """Flip, curve, neuron and ablation computations behind the HTTP layer."""

    def __init__(self, designer: DesignerService) -> None:
        self.designer = designer
        self._explanations: LRUCache[tuple[str, int, str, str], Explanation] = LRUCache(
            EXPLANATION_CACHE, size=_explanation_bytes)
        """Keyed by image, class, design (its JSON) and start rule."""

    @property
    def explanation_cache_bytes(self) -> int | None:
        """Bytes the kept explanations may take (set by the server's memory budget); None: only the count."""
        return self._explanations.max_bytes

    @explanation_cache_bytes.setter
    def explanation_cache_bytes(self, value: int | None) -> None:
        self._explanations.max_bytes = value  # enforced when the next explanation comes in

    @property
    def graph(self) -> LayerGraph:
        return self.designer.graph

    def _predict(self, x: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.graph.gm(x)
        return logits

    def _explanation(self, entry: ImageEntry, class_index: int, model: LRPModel,
                     start: StartRule | None = None) -> Explanation:
        """A full explanation (every layer kept) under ``start`` (default: the logit), cached by image, class,
        design and start rule; call with the lock held."""
        rule = start or StartRule()
        key = (entry.image_id, class_index, model.model_dump_json(), str(rule))
        hit = self._explanations.get(key)
        if hit is not None:
            return hit
        fwd = self.designer.engine.forward(entry.x)
        ex = self.designer.engine.explain(fwd, model, class_index, start=rule)
        self._explanations.remeasure()  # a kept explanation's forward may have cached more parts since
        self._explanations.put(key, ex)  # may drop ``ex`` itself: the caller still holds it
        return ex

    def explanation_bytes(self) -> int:
        """Bytes held by the kept explanations: every layer's relevance and the forward they came from."""
        return sum(_explanation_bytes(ex) for ex in self._explanations.values())  # fresh: called without the lock

    def _ranked(self, logits: torch.Tensor, original: torch.Tensor, k: int = 10) -> list[RankedPrediction]:
        order = torch.argsort(original, descending=True)
        rank = torch.empty_like(order)
        rank[order] = torch.arange(1, order.numel() + 1, device=order.device)
        values, indices = logits.topk(min(k, logits.numel()))
        return [RankedPrediction(index=int(i), label=self.designer.label(int(i)), score=float(v),
                                         original_score=float(original[i]), original_rank=int(rank[i]))
                for v, i in zip(values, indices, strict=True)]

    def entry(self, image_id: str, class_index: int) -> ImageEntry:
        """The image a request names, with its class checked (UnknownImageError, ClassIndexError otherwise).

        Job starters call it to refuse bad input before a job is queued; every computation calls it first.
        """
        entry = self.designer.image(image_id)
        self.designer.check_class(class_index)
        return entry

    def entries(self, rows: Iterable[Row]) -> list[ImageEntry]:
        """:meth:`entry` of every row, in order."""
        return [self.entry(r.image_id, r.class_index) for r in rows]

    def grid_entries(self, rows: Iterable[Row], models: Iterable[LRPModel]) -> list[ImageEntry]:
        """The rows' entries, once every design of a (design × row) grid is known to fit the network: what a
        comparison or metrics request checks before any work (and before a job is queued)."""
        entries = self.entries(rows)
        for model in models:
            check_design(model, self.graph)
        return entries

    # ------------------------------------------------------------------ V5
    def flip(self, req: FlipRequest) -> FlipResponse:
        entry = self.entry(req.image_id, req.class_index)
        labels = decode_labels(req.mask, (int(entry.x.shape[1]), int(entry.x.shape[2])))
        mask = labels != 0
        if req.region_modes is not None and int(labels.max()) > len(req.region_modes):
            raise MaskError(f"mask byte {int(labels.max())} names a region, but only {len(req.region_modes)} "
                            "region_modes are given")
        t0 = time.perf_counter()
        black = self.designer.zoo.preprocess.bounds()[0]
        with self.designer.lock:
            original = self.designer.engine.forward(entry.x).logits[0]
            if req.region_modes is not None:
                logits = flip_regions(self._predict, entry.x, labels, req.region_modes, black)
            else:
                logits = flip(self._predict, entry.x, mask, req.mode, black)
        return FlipResponse(
            image_id=req.image_id, class_index=req.class_index, flipped=int(mask.sum()),
            fraction=float(mask.float().mean()), score=float(logits[req.class_index]),
            original_score=float(original[req.class_index]), topk=self._ranked(logits, original),
            elapsed_ms=(time.perf_counter() - t0) * 1000)

    def curve(self, req: CurveRequest, progress: Progress | None = None,
              chunk: int = DEFAULT_CHUNK) -> CurveResponse:
        """``progress`` hears (images done, images in all); jobs pass a small ``chunk`` to stop and pause sooner."""
        entry = self.entry(req.image_id, req.class_index)
        check_design(req.model, self.graph)
        black = self.designer.zoo.preprocess.bounds()[0]
        # Only the explanation needs the engine (and its lock); the flipped forwards only read the network,
        # so other requests go on while they run.
        with self.designer.lock:
            heatmap = self._explanation(entry, req.class_index, req.model).heatmap(0)
        with torch.no_grad():
            t0 = time.perf_counter()
            self._predict(entry.x.unsqueeze(0))
            forward_ms = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        total = len(req.orders) * (req.steps + 1)
        done = 0

        def predict(batch: torch.Tensor) -> torch.Tensor:
            nonlocal done
            out = self._predict(batch)
            done += int(batch.shape[0])
            if progress is not None:
                progress(done, total)
            return out

        curves = [flip_curve(predict, entry.x, heatmap, req.class_index, order, steps=req.steps,
                             patch=req.patch, mode=req.mode, black=black, seed=req.seed, chunk=chunk,
                             noise=req.noise if req.mode == ROAD else 0.0)
                  for order in req.orders]
        elapsed = (time.perf_counter() - t0) * 1000
        out = [CurveOut(order=c.order, aopc=c.aopc, points=[  # type: ignore[arg-type]  # order: a checked Order string
            CurvePoint(fraction=f, logit=v, top1=t, top1_label=self.designer.label(t))
            for f, v, t in zip(c.fractions, c.logits, c.top1, strict=True)]) for c in curves]
        return CurveResponse(image_id=req.image_id, class_index=req.class_index,
                                     label=self.designer.label(req.class_index), steps=req.steps, patch=req.patch,
                                     mode=req.mode, curves=out, elapsed_ms=elapsed, forward_ms=forward_ms)

    # ------------------------------------------------------------------ V6
    def neurons(self, req: NeuronsRequest) -> NeuronsResponse:
        entry = self.entry(req.image_id, req.class_index)
        layer = unit_layer(self.graph, req.layer_index)
        check_design(req.model, self.graph)
        t0 = time.perf_counter()
        with self.designer.lock:
            rows = neuron_table(self.graph, self._explanation(entry, req.class_index, req.model), req.layer_index)
        return NeuronsResponse(
            image_id=req.image_id, class_index=req.class_index, layer_index=layer.index, layer_name=layer.name,
            shape=list(layer.shape),
            neurons=[NeuronOut(channel=r.channel, pos=r.pos, neg=r.neg, activation=r.activation)
                     for r in rows],
            elapsed_ms=(time.perf_counter() - t0) * 1000)

    def neuron_maps(self, req: NeuronMapsRequest, progress: Progress | None = None,
                    chunk: int | None = None) -> NeuronMapsResponse:
        entry = self.entry(req.image_id, req.class_index)
        check_channels(unit_layer(self.graph, req.layer_index), req.channels)
        check_design(req.model, self.graph)
        t0 = time.perf_counter()
        with self.designer.lock:
            ex = self._explanation(entry, req.class_index, req.model)
            maps = channel_maps(self.designer.engine, ex, req.model, req.layer_index, req.channels,
                                chunk=chunk or len(req.channels), progress=progress)
        out = [NeuronMap(channel=c, relevance=encode(maps.relevance[i], "map"),
                                 activation=encode(maps.activation[i], "map"),
                                 conditional=encode(maps.conditional[i], "map"))
               for i, c in enumerate(maps.channels)]
        return NeuronMapsResponse(layer_index=req.layer_index, maps=out,
                                          elapsed_ms=(time.perf_counter() - t0) * 1000)

    def ablate(self, req: AblateRequest) -> AblateResponse:
        entry = self.entry(req.image_id, req.class_index)
        layer = unit_layer(self.graph, req.layer_index)
        chosen = check_channels(layer, req.channels)
        keep = torch.ones((1, layer.shape[0]))
        keep[0, chosen] = 0
        t0 = time.perf_counter()
        with self.designer.lock:
            fwd = self.designer.engine.forward(entry.x)
            original = fwd.logits[0]
            logits = ablated_logits(self.graph, entry.x, layer.index, keep, env=fwd.env)[0]
        return AblateResponse(
            image_id=req.image_id, class_index=req.class_index, layer_index=layer.index, channels=chosen,
            score=float(logits[req.class_index]), original_score=float(original[req.class_index]),
            topk=self._ranked(logits, original), original=entry.topk,
            elapsed_ms=(time.perf_counter() - t0) * 1000)

    def ablation_curve(self, req: AblationCurveRequest, progress: Progress | None = None,
                       chunk: int = DEFAULT_CHUNK) -> AblationCurveResponse:
        """The forwards start at the ablated layer from the cached activations of the image's forward."""
        entry = self.entry(req.image_id, req.class_index)
        layer = unit_layer(self.graph, req.layer_index)
        check_design(req.model, self.graph)
        n = layer.shape[0]
        ks = req.ks if req.ks is not None else sorted({round(n * t / 11) for t in range(12)})
        t0 = time.perf_counter()
        with self.designer.lock:  # the engine's part; the ablation forwards below only read the network
            ex = self._explanation(entry, req.class_index, req.model)
            pos, neg = ex.channel_scores(layer.index)
        curve = ablation_curve(self.graph, entry.x, layer.index, pos + neg, req.class_index, ks, seed=req.seed,
                               chunk=chunk, env=ex.forward.env, progress=progress)
        return AblationCurveResponse(layer_index=layer.index, class_index=req.class_index, ks=curve.ks,
                                             top=curve.top, random=curve.random,
                                             elapsed_ms=(time.perf_counter() - t0) * 1000)

    # ------------------------------------------------------------------ relevance flow (issue 11)
    def segment_links(self, req: SegmentLinksRequest) -> SegmentLinksResponse:
        """Where the relevance of one region of segment k's map goes in segment k-1's map (the engine's
        propagation of that region alone, not a guess from geometry)."""
        entry = self.entry(req.image_id, req.class_index)
        start = self.designer.start_rule(req.start)
        check_design(req.model, self.graph)
        segs = req.model.segments
        if req.segment >= len(segs):
            raise FlowError(f"segment {req.segment} does not exist: the model has {len(segs)} (0..{len(segs) - 1})")
        upper, lower = segs[req.segment].start - 1, segs[req.segment - 1].start - 1
        t0 = time.perf_counter()
        with self.designer.lock:
            ex = self._explanation(entry, req.class_index, req.model, start)
            flow = region_flow(self.designer.engine, ex, req.model, upper, lower, req.x, req.y,
                               grid=req.grid, top_k=req.top_k)

        def cell(c: Cell) -> LinkCell:
            return LinkCell(row=c.row, col=c.col, top=c.top, left=c.left, bottom=c.bottom, right=c.right,
                                    relevance=c.relevance, share=c.share)

        return SegmentLinksResponse(
            segment=req.segment, from_layer=upper, to_layer=lower, grid_from=list(flow.grid_upper),
            grid_to=list(flow.grid_lower), region=cell(flow.region), reached=flow.reached,
            sources=[cell(c) for c in flow.sources], elapsed_ms=(time.perf_counter() - t0) * 1000)

    # ------------------------------------------------------------------ metrics (issue 9)
    def metrics(self, req: MetricsRequest, progress: Progress | None = None) -> MetricsResponse:
        """Every requested metric for every (LRP model, row) cell, with per-model means and a ranking.

        ``progress`` hears (metric runs done, metric runs in all), one run being one metric of one model.
        """
        from vislrp.analysis.metrics import (
            FLIPPING,
            HIGHER_IS_BETTER,
            NEEDS_REGION,
            MetricContext,
            MetricOptions,
            evaluate,
        )

        t0 = time.perf_counter()
        entries = self.grid_entries(req.rows, req.models)
        size = (int(entries[0].x.shape[1]), int(entries[0].x.shape[2]))
        needs = [m for m in req.metrics if m in NEEDS_REGION]
        if needs and req.mask is None:
            raise MetricsError(f"{', '.join(needs)} {'needs' if len(needs) == 1 else 'need'} a region: draw a mask")
        region = decode_mask(req.mask, size) if req.mask is not None else None
        if region is not None and not bool(region.any()):
            raise MetricsError("the region mask selects no pixel")
        patch = req.patch or 8
        units = -(-size[0] // patch) * -(-size[1] // patch)
        if REGION_PERTURBATION in req.metrics and (req.steps or 100) > units:
            raise MetricsError(f"{REGION_PERTURBATION} with {req.steps or 100} steps needs that many {patch}×{patch} "
                               f"regions; the image has {units}: lower steps or patch")
        if FAITHFULNESS_CORRELATION in req.metrics and 224 > -(-size[0] // (req.patch or 1)) * -(
                -size[1] // (req.patch or 1)):
            raise MetricsError(f"{FAITHFULNESS_CORRELATION} removes 224 units per run: lower the patch size")
        options = MetricOptions(fill=req.fill, steps=req.steps, patch=req.patch, seed=req.seed, noise=req.noise)
        low, high = self.designer.zoo.preprocess.bounds()
        xs = torch.stack([e.x for e in entries])
        targets = [row.class_index for row in req.rows]
        cells: list[MetricCell] = []
        total = len(req.models) * len(req.metrics)
        with self.designer.lock:
            for m_index, model in enumerate(req.models):
                ctx = MetricContext(self.graph, self.designer.engine, model, xs, targets, black=low,
                                    bounds=(low, high), masks=region)
                for k, name in enumerate(req.metrics):
                    for r in evaluate(ctx, [name], options):
                        aopc = curves = None
                        if name in FLIPPING and r.aopc is not None and r.curves is not None:
                            aopc = MetricAopc(**r.aopc)
                            curves = MetricCurves(**r.curves)
                        cells.append(MetricCell(model_index=m_index, row_index=r.image, metric=name,
                                                        value=r.value, aopc=aopc, curves=curves, note=r.note))
                    if progress is not None:
                        progress(m_index * len(req.metrics) + k + 1, total)
        summary, infos = [], []
        for name in req.metrics:
            means: dict[int, float | None] = {}
            for m_index in range(len(req.models)):
                values = [c.value for c in cells if c.model_index == m_index and c.metric == name
                          and c.value is not None]
                means[m_index] = sum(values) / len(values) if values else None
                summary.append(MetricSummary(model_index=m_index, metric=name, mean=means[m_index],
                                                     count=len(values)))
            better = HIGHER_IS_BETTER[name]
            defined = {i: m for i, m in means.items() if m is not None}
            ranked = sorted(defined, key=lambda i: -defined[i] if better else defined[i])
            ranked += [i for i in means if means[i] is None]
            infos.append(MetricInfo(name=name, higher_is_better=better, ranking=ranked))
        return MetricsResponse(cells=cells, summary=summary, metrics=infos,
                                       elapsed_ms=(time.perf_counter() - t0) * 1000)

