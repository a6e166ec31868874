"""What the HTTP layer calls: images, forwards and explanations around one network and one engine.

The engine is not thread-safe, so every compute runs under one lock; the routes call these methods
from a thread pool so the event loop stays free. Images are kept in a bounded LRU keyed by content
hash; the engine caches the forward pass per image, so a parameter change only re-runs LRP.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from vislrp.designs import check_design
from vislrp.lrp import Engine, Explanation, LayerGraph, LRPModel, StartRule, build_graph, parse_start
from vislrp.lru import LRUCache
from vislrp.server.errors import ClassIndexError, UnknownImageError
from vislrp.server.routes.explain import (
    Accounting,
    CompareCell,
    CompareRequest,
    CompareResponse,
    CompareRowInfo,
    ConservationPoint,
    ExplainRequest,
    ExplainResponse,
    HeatmapData,
    SegmentAbsorbed,
    SegmentMap,
)
from vislrp.server.routes.images import Prediction
from vislrp.server.upload import clean_name
from vislrp.zoo import ZooModel, load_image, load_sample

MAP_LIMIT = 112
"""Intermediate maps larger than this (per side) are average-pooled down before they are sent."""


@dataclass
class ImageEntry:
    """A photo the server holds: its normalised tensor, the PNG crop and its top-10 classes."""

    image_id: str
    source: str
    x: torch.Tensor
    png: bytes
    topk: list[Prediction]


def encode(values: torch.Tensor, kind: str | None = None) -> HeatmapData:
    """A heatmap or vector as base64 float32 with its range, for colouring in the browser."""
    arr = values.detach().to("cpu", torch.float32).contiguous().numpy()
    arr = np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0).astype("<f4")
    k = kind or ("map" if arr.ndim == 2 else "vector")
    return HeatmapData(
        kind="map" if k == "map" else "vector",
        shape=list(arr.shape),
        data=base64.b64encode(arr.tobytes()).decode("ascii"),
        min=float(arr.min()) if arr.size else 0.0,
        max=float(arr.max()) if arr.size else 0.0,
        abs_max=float(np.abs(arr).max()) if arr.size else 0.0,
        total=float(arr.sum(dtype=np.float64)),
    )


def _shrink(m: torch.Tensor) -> torch.Tensor:
    """Average-pool a large (H, W) map to at most MAP_LIMIT per side (keeps the sign pattern)."""
    h, w = m.shape
    factor = max(1, -(-max(h, w) // MAP_LIMIT))
    if factor == 1:
        return m
    return F.avg_pool2d(m[None, None].float(), factor, ceil_mode=True)[0, 0]


def _entry_bytes(e: ImageEntry) -> int:
    return e.x.numel() * e.x.element_size() + len(e.png)


class DesignerService:
    """Owns the zoo model, its layer graph, the engine, the image cache and the compute lock."""

    def __init__(self, zoo_model: ZooModel, *, image_cache_size: int = 32) -> None:
        self.zoo = zoo_model
        size = zoo_model.input_size
        self.graph: LayerGraph = build_graph(zoo_model.module, (3, size, size))
        self.engine = Engine(self.graph, bounds=zoo_model.preprocess.bounds(), forward_cache_size=16)
        self._images: LRUCache[str, ImageEntry] = LRUCache(image_cache_size, size=_entry_bytes, keep=1)
        self.lock = threading.Lock()
        self._img_lock = threading.Lock()

    @property
    def image_cache_size(self) -> int | None:
        """Images kept at most."""
        return self._images.max_items

    @property
    def image_cache_bytes(self) -> int | None:
        """Bytes the kept images may take (set by the server's memory budget); None: only the count."""
        return self._images.max_bytes

    @image_cache_bytes.setter
    def image_cache_bytes(self, value: int | None) -> None:
        self._images.max_bytes = value  # enforced when the next image comes in

    def worker(self) -> DesignerService:
        """A second service on the same network and images with its own engine and lock, for background jobs.

        Jobs then never hold the lock quick requests need; the layer graph is only read, so both share it.
        """
        other = copy.copy(self)  # shares zoo, graph, the image cache and its lock
        other.engine = Engine(self.graph, bounds=self.zoo.preprocess.bounds(), forward_cache_size=4)
        other.lock = threading.Lock()
        return other

    # ------------------------------------------------------------------ images
    def add_image(self, image: Image.Image, source: str) -> ImageEntry:
        x = self.zoo.preprocess(image)
        # The id covers the name too: two clients uploading the same pixels under different names
        # get their own entries, so a response never shows another client's file name.
        digest = hashlib.sha256(x.numpy().tobytes())
        digest.update(b"\0" + source.encode("utf-8", "replace"))
        image_id = digest.hexdigest()[:24]
        with self._img_lock:
            hit = self._images.get(image_id)
            if hit is not None:
                return hit
        buf = io.BytesIO()
        self.zoo.preprocess.crop_image(image).save(buf, format="PNG")
        with self.lock:
            fwd = self.engine.forward(x)
            top = fwd.topk(10)
        topk = [Prediction(index=i, label=self.label(i), score=s) for i, s in top]
        entry = ImageEntry(image_id, source, x, buf.getvalue(), topk)
        with self._img_lock:
            self._images.put(image_id, entry)
        return entry

    def image_bytes(self) -> int:
        """Bytes held by the kept images (tensors and PNG crops)."""
        with self._img_lock:
            return self._images.nbytes

    def add_upload(self, data: bytes, filename: str) -> ImageEntry:
        return self.add_image(load_image(data), clean_name(filename))

    def add_sample(self, name: str) -> ImageEntry:
        return self.add_image(load_sample(name), name)

    def image(self, image_id: str) -> ImageEntry:
        with self._img_lock:
            entry = self._images.get(image_id)
            if entry is None:
                raise UnknownImageError(f"unknown image id {image_id!r}: upload the image or pick a sample again")
            return entry

    def label(self, index: int) -> str:
        labels = self.zoo.labels
        return labels[index] if 0 <= index < len(labels) else f"class {index}"

    def start_rule(self, text: str) -> StartRule:
        """A request's start rule, its contrast class checked against the network (StartRuleError, 422)."""
        n = int(self.zoo.num_classes) if self.zoo.labels else None
        return parse_start(text, n or None)

    def check_class(self, class_index: int) -> None:
        """Refuse a class index outside the network's outputs (ClassIndexError, 422)."""
        n = int(self.zoo.num_classes) if self.zoo.labels else 0
        if n and not 0 <= class_index < n:
            raise ClassIndexError(f"class index {class_index} is out of range (0..{n - 1})")

    # ------------------------------------------------------------------ explain
    def _forward_logit(self, entry: ImageEntry, class_index: int) -> float:
        fwd = self.engine.forward(entry.x)
        return float(fwd.logits[0, class_index])

    def explain(self, req: ExplainRequest) -> ExplainResponse:
        entry = self.image(req.image_id)
        self.check_class(req.class_index)
        start = self.start_rule(req.start)
        check_design(req.model, self.graph)
        t0 = time.perf_counter()
        with self.lock:
            fwd = self.engine.forward(entry.x)
            ex = self.engine.explain(fwd, req.model, req.class_index, keep_layers=req.intermediate, start=start)
            score = float(fwd.logits[0, req.class_index])
            heatmap = encode(ex.heatmap(0), "map")
            maps = self._intermediate(ex, req.model) if req.intermediate else []
            accounting = accounting_out(ex)
            warnings = _warnings(req.model) + ex.warnings(0)
        return ExplainResponse(
            image_id=req.image_id,
            class_index=req.class_index,
            start=str(start),
            label=self.label(req.class_index),
            score=score,
            heatmap=heatmap,
            intermediate=maps,
            warnings=warnings,
            accounting=accounting,
            elapsed_ms=(time.perf_counter() - t0) * 1000,
        )

    def _intermediate(self, ex: Explanation, model: LRPModel) -> list[SegmentMap]:
        """Per segment, the relevance that leaves it towards the input: the output of layer start-1.

        Spatial layers become (H, W) channel means; a transformer's token layers the patch tokens' relevance
        on the patch grid; layers without spatial extent (linear, pooled to 1x1) become per-channel vectors.
        """
        out = []
        for k, seg in enumerate(model.segments):
            idx = seg.start - 1
            if idx < 0:
                data: HeatmapData | None = encode(_shrink(ex.heatmap(0)), "map")
                out.append(
                    SegmentMap(segment=k, layer_index=-1, layer_name="input", layer_kind="Input", heatmap=data)
                )
                continue
            layer = self.graph.layers[idx]
            rel = ex.layer_relevance[idx]
            data = None
            if rel is not None:
                r = rel[0]
                on_grid = ex.layer_heatmap(idx) if ex.token_relevance(idx) is not None else None
                if on_grid is not None:  # a transformer's tokens, shown on the patch grid
                    data = encode(_shrink(on_grid), "map")
                elif r.dim() >= 3 and r[0].numel() > 1:
                    data = encode(_shrink(r.mean(0).reshape(r.shape[-2], r.shape[-1])), "map")
                else:
                    data = encode(r.reshape(r.shape[0], -1).sum(1) if r.dim() >= 2 else r, "vector")
            out.append(
                SegmentMap(
                    segment=k, layer_index=idx, layer_name=layer.name, layer_kind=layer.kind, heatmap=data
                )
            )
        return out

    def compare(self, req: CompareRequest,
                progress: Callable[[int, int], None] | None = None) -> CompareResponse:
        entries = [self.image(r.image_id) for r in req.rows]
        for r in req.rows:
            self.check_class(r.class_index)
        starts = [self.start_rule(r.start) for r in req.rows]
        for m in req.models:
            check_design(m, self.graph)
        t0 = time.perf_counter()
        cells: list[CompareCell] = []
        rows_info: list[CompareRowInfo] = []
        # Rows that share an image and a start rule travel as one batch per model.
        groups: OrderedDict[tuple[str, StartRule], list[int]] = OrderedDict()
        for i, r in enumerate(req.rows):
            groups.setdefault((r.image_id, starts[i]), []).append(i)
        with self.lock:
            for i, r in enumerate(req.rows):
                rows_info.append(
                    CompareRowInfo(
                        image_id=r.image_id,
                        class_index=r.class_index,
                        start=str(starts[i]),
                        label=self.label(r.class_index),
                        score=self._forward_logit(entries[i], r.class_index),
                    )
                )
            for (image_id, start), idxs in groups.items():
                fwd = self.engine.forward(self.image(image_id).x)
                classes = [req.rows[i].class_index for i in idxs]
                for col, model in enumerate(req.models):
                    if progress is not None:
                        progress(len(cells), len(req.rows) * len(req.models))
                    ex = self.engine.explain(fwd, model, classes, keep_layers=False, start=start)
                    for j, row in enumerate(idxs):
                        cells.append(CompareCell(row=row, column=col, heatmap=encode(ex.heatmap(j), "map")))
        cells.sort(key=lambda c: (c.row, c.column))
        return CompareResponse(
            rows=rows_info,
            cells=cells,
            warnings=[_warnings(m) for m in req.models],
            elapsed_ms=(time.perf_counter() - t0) * 1000,
        )


def accounting_out(ex: Explanation, row: int = 0) -> Accounting:
    """The engine's relevance accounting of one row, as the API sends it."""
    acc = ex.accounting(row)
    return Accounting(
        start=acc.start, final=acc.final,
        conservation=[ConservationPoint(layer=i, sum=v) for i, v in acc.conservation],
        absorbed=[SegmentAbsorbed(segment=a.segment, start=a.start, end=a.end, bias=a.bias,
                                          stabiliser=a.stabiliser, rule=a.rule, dropped=a.dropped,
                                          total=a.total) for a in acc.absorbed],
    )


def _warnings(model: LRPModel) -> list[str]:
    out = []
    for k, seg in enumerate(model.segments):
        for w in seg.rule.warnings():
            out.append(f"Segment {k + 1} (layers {seg.start}–{seg.end}): {w}")
    return out
