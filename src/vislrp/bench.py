"""``vislrp bench``: LRP cost as a ratio to one forward pass, beside zennit and captum, in one process.

Absolute times are noisy on shared machines; ratios measured in the same run are not. Every item is
the median of ``runs`` timings after one warm-up, on the same input; runs go round-robin over the items.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from tqdm import tqdm

from .lrp import Engine, build_graph
from .lrp.canonizers import fold_batchnorm_modules
from .lrp.composites import (
    ATTNLRP,
    COMPOSITES,
    CP_LRP,
    CP_LRP_GAMMA,
    DEFAULT_COMPOSITE,
    EPSILON_PLUS_FLAT,
    ZENNIT_EPSILON,
    RuleChoice,
    is_transformer,
)
from .lrp.graph import LayerGraph
from .zoo import IMAGENET, load_model

EPS = ZENNIT_EPSILON


class PeakMemory:
    """Peak resident memory above the starting point while the block runs (sampled every millisecond)."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.peak_mb = 0.0
        self._stop = threading.Event()

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    @staticmethod
    def _trim() -> None:
        """Give freed heap memory back to the system first (glibc's malloc_trim), or an item that reuses memory a
        previous one freed would show no growth at all (the 0.0 MB readings of the earlier benchmark)."""
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc: the reading is then a lower bound
            pass

    def __enter__(self) -> PeakMemory:
        if self.device == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self._base = torch.cuda.memory_allocated()
            return self
        gc.collect()
        self._trim()
        self._base = self._rss()
        self._max = self._base
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self._max = max(self._max, self._rss())
            time.sleep(0.001)

    def __exit__(self, *exc: object) -> None:
        if self.device == "cuda":
            torch.cuda.synchronize()
            self.peak_mb = (torch.cuda.max_memory_allocated() - self._base) / 2**20
            return
        self._stop.set()
        self._thread.join()
        self._max = max(self._max, self._rss())
        self.peak_mb = (self._max - self._base) / 2**20


@dataclass
class Item:
    name: str
    fn: Callable[[], Any] | None
    reason: str = ""
    times: list[float] = field(default_factory=list)
    peak_mb: float | None = None
    result: Any = None


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _warm(item: Item, device: str) -> None:
    """One warm-up call (its value feeds the agreement check), then one call under the memory probe."""
    assert item.fn is not None
    item.result = item.fn()
    _sync(device)
    with PeakMemory(device) as mem:
        item.fn()
        _sync(device)
    item.peak_mb = round(mem.peak_mb, 1)


def _time_round_robin(items: list[Item], runs: int, device: str, label: str = "") -> None:
    """Each run times every item once, in turn: load that comes and goes hits all items alike.

    Every turn first calls the item once untimed: the previous item (zennit's EpsilonGammaBox peaks at
    hundreds of MB) leaves the allocator in another state, and the timed call should see the state that
    repeated calls of the same item see, as in the designer."""
    for item in items:
        if item.fn is None:
            continue
        try:
            _warm(item, device)
        except Exception as exc:  # a reference library that cannot handle this network: report, go on
            if item.name in ("forward", "gradient", "explain", "reexplain", "epf"):
                raise
            item.fn, item.reason = None, f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
    live = [item for item in items if item.fn is not None]
    progress = tqdm(total=runs * len(live), desc=f"bench {label}", unit="timing", leave=False, file=sys.stderr,
                    disable=not sys.stderr.isatty())
    for _ in range(runs):
        for item in live:
            progress.set_postfix_str(item.name)
            progress.update()
            assert item.fn is not None
            item.fn()
            _sync(device)
            start = time.perf_counter()
            item.fn()
            _sync(device)
            item.times.append(time.perf_counter() - start)
    progress.close()


def _baselines(model: torch.nn.Module, x: torch.Tensor, target: int) -> list[Item]:
    """The forward every ratio divides by, and the input gradient: the same two items for CNNs and transformers."""

    def forward() -> torch.Tensor:
        with torch.no_grad():
            out: torch.Tensor = model(x)
            return out

    def gradient() -> torch.Tensor:
        xg = x.clone().requires_grad_(True)
        model(xg)[0, target].backward()
        assert xg.grad is not None
        return xg.grad

    return [Item("forward", forward), Item("gradient", gradient)]


def bench_model(name: str, runs: int, threads: int, device: str, size: int) -> dict[str, Any]:
    torch.set_num_threads(threads)
    zoo = load_model(name, "none")
    # BatchNorm folded once, up front, so every library runs the same forward (see fold_batchnorm_modules).
    model = fold_batchnorm_modules(zoo.module).to(device).eval()
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0)).to(device)
    graph = build_graph(model, (3, size, size))
    low, high = IMAGENET.bounds()
    engine = Engine(graph, bounds=(low.to(device), high.to(device)))
    with torch.no_grad():
        target = int(model(x).argmax())
    if is_transformer(graph):
        return _bench_transformer(name, model, graph, engine, x, target, runs, threads, device, size)

    egb = COMPOSITES[DEFAULT_COMPOSITE].resolve(graph)
    # a re-explain with another γ: the slider move the designer makes
    other = replace(COMPOSITES[DEFAULT_COMPOSITE], conv=RuleChoice.of("gamma", epsilon=EPS, gamma1p=0.5)
                    ).resolve(graph, name="other")
    epf = COMPOSITES[EPSILON_PLUS_FLAT].resolve(graph)

    def explain() -> torch.Tensor:
        return engine.explain(engine.forward(x, cache=False), egb, target).input_relevance

    cached = engine.forward(x)

    def reexplain() -> torch.Tensor:
        return engine.explain(engine.forward(x), other, target).input_relevance

    def ours_epf() -> torch.Tensor:
        return engine.explain(engine.forward(x, cache=False), epf, target).input_relevance

    assert engine.forward(x) is cached
    items = [*_baselines(model, x, target), Item("explain", explain), Item("reexplain", reexplain),
             Item("epf", ours_epf)]
    items += _reference_items(name, model, x, target, low.to(device), high.to(device))
    _time_round_robin(items, runs, device, name)
    base = statistics.median(items[0].times)
    by_name = {item.name: item for item in items}
    ratios = {k: (round(statistics.median(by_name[k].times) / base, 2) if by_name[k].fn else None)
              for k in ("gradient", "explain", "reexplain", "epf", "zennit_egb", "zennit_epf", "captum_lrp")}
    diff = None
    ze = by_name["zennit_epf"]
    if ze.fn is not None:
        ours = by_name["epf"].result
        diff = float((ours - ze.result).abs().max() / ze.result.abs().max())
    return {
        "model": name, "device": device, "threads": threads, "size": size, "runs": runs,
        "forward_ms": round(base * 1000, 2), "ratios": ratios,
        "max_rel_diff_vs_zennit_epf": diff,
        "peak_mb": {item.name: item.peak_mb for item in items},
        "unavailable": {item.name: item.reason for item in items if item.fn is None},
    }


TRANSFORMER_ITEMS = ("gradient", "explain", "reexplain", "explain_attnlrp", "lxt_cp", "autolrp_cp")
"""What ``vislrp bench`` times on a transformer, besides the forward: the gradient, CP-LRP (fresh forward and a
re-explain with γ on the cached one), AttnLRP, LXT's cp_LRP gradient × input and autoLRP's CP-LRP preset."""


def _bench_transformer(name: str, model: torch.nn.Module, graph: LayerGraph, engine: Engine, x: torch.Tensor,
                       target: int, runs: int, threads: int, device: str, size: int) -> dict[str, Any]:
    """Vision transformers: CP-LRP and AttnLRP beside LXT and autoLRP, as ratios to one forward."""
    cp = COMPOSITES[CP_LRP].resolve(graph)
    attn = COMPOSITES[ATTNLRP].resolve(graph)
    gamma = COMPOSITES[CP_LRP_GAMMA].resolve(graph)

    def explain() -> torch.Tensor:
        return engine.explain(engine.forward(x, cache=False), cp, target).input_relevance

    engine.forward(x)

    def reexplain() -> torch.Tensor:
        return engine.explain(engine.forward(x), gamma, target).input_relevance

    def attnlrp() -> torch.Tensor:
        return engine.explain(engine.forward(x, cache=False), attn, target).input_relevance

    items = [*_baselines(model, x, target), Item("explain", explain), Item("reexplain", reexplain),
             Item("explain_attnlrp", attnlrp), _lxt_item(model, x, target), _autolrp_item(model, x, target)]
    _time_round_robin(items, runs, device, name)
    base = statistics.median(items[0].times)
    by_name = {item.name: item for item in items}
    ratios = {k: (round(statistics.median(by_name[k].times) / base, 2) if by_name[k].fn else None)
              for k in TRANSFORMER_ITEMS}
    diffs = {}
    for ref in ("lxt_cp", "autolrp_cp"):
        item = by_name[ref]
        if item.fn is not None:
            ours, theirs = by_name["explain"].result, item.result
            diffs[ref] = float((ours - theirs).abs().max() / theirs.abs().max())
    return {
        "model": name, "device": device, "threads": threads, "size": size, "runs": runs,
        "forward_ms": round(base * 1000, 2), "ratios": ratios,
        "max_rel_diff_vs": diffs,
        "peak_mb": {item.name: item.peak_mb for item in items},
        "unavailable": {item.name: item.reason for item in items if item.fn is None},
    }


def _lxt_item(model: torch.nn.Module, x: torch.Tensor, target: int) -> Item:
    """LXT 2.1's cp_LRP for torchvision's vision transformer: its patches, then gradient × input (patched
    for the call only, so the other items run the plain modules)."""
    try:
        from lxt.efficient.patches import (
            cp_multi_head_attention_forward,
            layer_norm_forward,
            non_linear_forward,
            patch_method,
        )
    except ImportError as exc:
        return Item("lxt_cp", None, f"LXT is not installed ({exc.name}): pip install --no-deps lxt==2.1")
    from torch import nn

    def fn() -> torch.Tensor:
        saved = {cls: cls.forward for cls in (nn.GELU, nn.LayerNorm, nn.MultiheadAttention)}
        try:
            patch_method(non_linear_forward, nn.GELU, keep_original=True)
            patch_method(layer_norm_forward, nn.LayerNorm)
            patch_method(cp_multi_head_attention_forward, nn.MultiheadAttention, keep_original=True)
            xg = x.clone().requires_grad_(True)
            model(xg)[0, target].backward()
            assert xg.grad is not None
            return (xg * xg.grad).detach()
        finally:
            for cls, forward in saved.items():
                cls.forward = forward  # type: ignore[method-assign]  # undoing LXT's monkey patch

    return Item("lxt_cp", fn)


def _autolrp_item(model: torch.nn.Module, x: torch.Tensor, target: int) -> Item:
    """autoLRP 0.2's CP-LRP preset on the autograd graph (its rules differ from LXT's in detail)."""
    try:
        import autolrp
    except ImportError as exc:
        return Item("autolrp_cp", None, f"autoLRP is not installed ({exc.name}): pip install autolrp")

    def fn() -> torch.Tensor:
        xt = autolrp.tensor(x.clone())
        out = model(xt)
        out[0, target].lrp(config=autolrp.LRPConfig(rule={**autolrp.BASE, **autolrp.CPLRP}))
        return xt.relevance.detach().as_subclass(torch.Tensor)  # type: ignore[no-any-return]  # autoLRP is untyped

    return Item("autolrp_cp", fn)


def _reference_items(name: str, model: torch.nn.Module, x: torch.Tensor, target: int, low: torch.Tensor,
                     high: torch.Tensor) -> list[Item]:
    """zennit's and captum's own implementations, when they are installed (test extras)."""
    items: list[Item] = []
    try:
        from zennit.attribution import Gradient
        from zennit.composites import EpsilonGammaBox, EpsilonPlusFlat
        from zennit.torchvision import ResNetCanonizer, VGGCanonizer
    except ImportError as exc:
        reason = f"zennit is not installed ({exc.name})"
        return [Item("zennit_egb", None, reason), Item("zennit_epf", None, reason),
                *_captum_item(model, x, target)]
    import zennit

    from .lrp.zennit_export import _canonizers

    try:  # the canonizers vislrp's zennit export uses: ResNet's, EfficientNet-Lite's MBConv adds as Sum modules
        canonizers = _canonizers(zennit, model, build_graph(model, tuple(x.shape[1:])))
    except ValueError:  # a network with functional adds zennit cannot take: its plain canonizer, as before
        canonizers = [ResNetCanonizer()] if name.startswith("resnet") else [VGGCanonizer()]
    with torch.no_grad():
        onehot = torch.zeros_like(model(x))

    def run(composite_factory: Callable[[], Any]) -> Callable[[], torch.Tensor]:
        def fn() -> torch.Tensor:
            with Gradient(model, composite_factory()) as attributor:
                out, _ = attributor(x, onehot)  # the forward
                start = torch.zeros_like(out)
                start[0, target] = out[0, target]
                _, rel = attributor(x, start)
            return rel  # type: ignore[no-any-return]  # zennit is untyped
        return fn

    def egb() -> Any:
        return EpsilonGammaBox(low=low.expand_as(x), high=high.expand_as(x), canonizers=canonizers)

    def epf() -> Any:
        return EpsilonPlusFlat(canonizers=canonizers)

    items.append(Item("zennit_egb", run(egb)))
    items.append(Item("zennit_epf", run(epf)))
    items += _captum_item(model, x, target)
    return items


def _captum_item(model: torch.nn.Module, x: torch.Tensor, target: int) -> list[Item]:
    try:
        from captum.attr import LRP
    except ImportError as exc:
        return [Item("captum_lrp", None, f"captum is not installed ({exc.name})")]
    has_residual = any(type(m).__name__ in ("BasicBlock", "Bottleneck") for m in model.modules())
    if has_residual:
        return [Item("captum_lrp", None, "captum's LRP has no rule for residual additions (ResNet)")]

    def fn() -> torch.Tensor:
        return LRP(model).attribute(x, target=target)  # type: ignore[no-any-return]  # captum's return is a union

    return [Item("captum_lrp", fn)]


def run_bench(models: list[str], runs: int, threads: int, device: str, size: int, as_json: bool) -> int:
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda: no CUDA device is available here")
    results = []
    for name in models:
        res = bench_model(name, runs, threads, device, size)
        results.append(res)
        if not as_json:
            print(_table(res), flush=True)
    if as_json:
        print(json_report("explain", results), flush=True)
    return 0


def json_report(bench: str, rows: list[dict[str, Any]]) -> str:
    """What ``vislrp bench --json`` prints: one JSON document, ``{"bench": KIND, "rows": [one per model]}``
    (KIND: explain, metrics or sweep), so ``json.load`` reads the whole output."""
    return json.dumps({"bench": bench, "rows": rows})


def _table(res: dict[str, Any]) -> str:
    lines = [f"{res['model']} on {res['device']}, {res['threads']} threads, {res['size']} px, "
             f"median of {res['runs']}: forward {res['forward_ms']:.1f} ms",
             f"  {'item':12s} {'× forward':>10s} {'peak MB':>9s}"]
    for key in res["ratios"]:
        ratio = res["ratios"][key]
        peak = res["peak_mb"].get(key)
        if ratio is None:
            lines.append(f"  {key:12s} {'—':>10s} {'':>9s}  ({res['unavailable'].get(key, '')})")
        else:
            lines.append(f"  {key:12s} {ratio:10.2f} {peak if peak is not None else '':>9}")
    if "max_rel_diff_vs" in res:  # a transformer: CP-LRP against LXT's and autoLRP's
        for ref, diff in res["max_rel_diff_vs"].items():
            lines.append(f"  max relative difference of CP-LRP vs {ref}: {diff:.2e}")
        return "\n".join(lines)
    diff = res["max_rel_diff_vs_zennit_epf"]
    lines.append(f"  max relative difference vs zennit EpsilonPlusFlat: {diff:.2e}" if diff is not None
                 else "  (no zennit comparison)")
    return "\n".join(lines)


# ---------------------------------------------------------------------- vislrp bench --metrics
def _metric_steps(hw: int) -> int:
    """Steps N = 3·d, d the smallest divisor of H·W from 7 up: then Quantus's channel-wise flipping can take
    steps of H·W/d features (its features_in_step must divide H·W) and still make N steps, like ours."""
    d = next((d for d in range(7, hw + 1) if hw % d == 0), hw)
    return 3 * d


def bench_metrics_model(name: str, runs: int, threads: int, device: str, size: int) -> dict[str, Any]:
    """Each metric's time as a ratio to one forward, and to Quantus's time for the same metric, in one run."""
    from .analysis import ROAD, flip_curves, masked_logits
    from .analysis.metrics import (
        complexity,
        faithfulness_correlation,
        pixel_flipping,
        pointing_game,
        random_logit,
        region_perturbation,
        relevance_mass,
        sparseness,
    )
    from .analysis.metrics import names as m
    from .lrp.composites import default_model
    from .session import open_session
    from .zoo import load_sample

    torch.set_num_threads(threads)
    session = open_session(name, "none", device=device)
    x = session.zoo.preprocess(load_sample("chelsea")).to(device)
    if x.shape[-1] != size:
        x = torch.nn.functional.interpolate(x[None], size=(size, size), mode="bilinear", align_corners=False)[0]
    graph = build_graph(session.zoo.module, (3, size, size))
    low, high = session.zoo.preprocess.bounds()
    engine = Engine(graph, bounds=(low.to(device), high.to(device)))
    gm, xb = graph.gm, x[None]
    fwd = engine.forward(xb)
    target = int(fwd.logits.argmax())
    model = default_model(graph)
    maps = engine.explain(fwd, model, target).input_relevance.sum(1)
    hw = size * size
    steps = _metric_steps(hw)
    region = torch.zeros((1, size, size), dtype=torch.bool)
    region[:, size // 4: 3 * size // 4, size // 4: 3 * size // 4] = True
    grey = _Grey(gm).eval()
    xg = xb.mean(1, keepdim=True)
    with torch.no_grad():
        tg = int(grey(xg).argmax())
    runs_fc, road_percentages = 50, [10, 20, 30]
    # ROAD at the percentages Quantus evaluates: the MoRF masks removing int(H·W·p/100) pixels
    order = torch.argsort(maps[0].reshape(-1), descending=True, stable=True)
    road_masks = torch.zeros((len(road_percentages), hw), dtype=torch.bool)
    for k, pct in enumerate(road_percentages):
        road_masks[k, order[: hw * pct // 100]] = True
    road_masks = road_masks.view(-1, size, size)

    def explain(xs: torch.Tensor, classes: Any) -> torch.Tensor:
        rows = [(i, int(c)) for i, c in enumerate(classes)]
        return engine.explain(engine.forward(xs), model, rows, keep_layers=False).input_relevance.sum(1)

    def forward() -> torch.Tensor:
        with torch.no_grad():
            out: torch.Tensor = gm(xb)
            return out

    ours: dict[str, Callable[[], Any]] = {
        "flip_curve": lambda: flip_curves(gm, xb, maps, [target], ["morf"], steps=steps, patch=1,
                                          base_logits=fwd.logits),
        "flip_curve_road": lambda: flip_curves(gm, xb, maps, [target], ["morf"], steps=steps, patch=1, mode=ROAD,
                                               noise=0.01, base_logits=fwd.logits),
        m.PIXEL_FLIPPING: lambda: pixel_flipping(gm, xb, maps, [target], steps=steps, patch=1, orders=("morf",),
                                                 base_logits=fwd.logits),
        m.REGION_PERTURBATION: lambda: region_perturbation(gm, xb, maps, [target], steps=steps, patch=8,
                                                           orders=("morf",), base_logits=fwd.logits),
        ROAD: lambda: masked_logits(grey, xg, [road_masks], mode=ROAD, noise=0.01),
        m.FAITHFULNESS_CORRELATION: lambda: faithfulness_correlation(gm, xb, maps, [target], runs=runs_fc,
                                                                     subset=224, patch=1, base_logits=fwd.logits),
        m.SPARSENESS: lambda: sparseness(maps),
        m.COMPLEXITY: lambda: complexity(maps),
        m.RANDOM_LOGIT: lambda: random_logit(explain, xb, maps, [target], int(fwd.logits.shape[1]), seed=0),
        m.RELEVANCE_MASS: lambda: relevance_mass(maps, region),
        m.POINTING_GAME: lambda: pointing_game(maps, region),
    }
    items = [Item("forward", forward)] + [Item(k, fn) for k, fn in ours.items()]
    items += _quantus_items(gm, grey, xb, xg, maps, target, tg, region, explain, steps, road_percentages, runs_fc,
                            int(fwd.logits.shape[1]))
    _time_round_robin(items, runs, device, f"{name} metrics")
    by_name = {item.name: item for item in items}
    base = statistics.median(by_name["forward"].times)

    def med(key: str) -> float | None:
        item = by_name.get(key)
        return statistics.median(item.times) if item is not None and item.fn is not None and item.times else None

    ratios: dict[str, float | None] = {}
    for key in ours:
        t = med(key)
        per = steps * base if key in ("flip_curve", "flip_curve_road", m.PIXEL_FLIPPING, m.REGION_PERTURBATION) \
            else base
        ratios[key] = round(t / per, 3) if t is not None else None
    quantus: dict[str, float | None] = {}
    for key in ours:
        if key.startswith("flip_curve"):
            continue
        mine, theirs = med(key), med(f"quantus:{key}")
        quantus[key] = round(mine / theirs, 3) if mine is not None and theirs else None
    quantus[m.MPRT] = None
    unavailable = {item.name: item.reason for item in items if item.fn is None}
    unavailable.setdefault(f"quantus:{m.MPRT}", "not timed: Quantus's MPRT re-explains a full model copy per module "
                                           "(≈100 on EfficientNet-Lite0), minutes per run on this CPU")
    return {"model": name, "device": device, "threads": threads, "size": size, "runs": runs, "steps": steps,
            "forward_ms": round(base * 1000, 2), "ratios": ratios, "quantus": quantus,
            "times_ms": {item.name: round(statistics.median(item.times) * 1000, 2) for item in items if item.times},
            "unavailable": unavailable}


class _Grey(torch.nn.Module):
    """A one-channel front end (the grey image in every channel): Quantus 0.6.0's ROAD runs only on one channel."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.net(x.expand(-1, 3, -1, -1))
        return out


def _quantus_items(gm: torch.nn.Module, grey: torch.nn.Module, xb: torch.Tensor, xg: torch.Tensor,
                   maps: torch.Tensor, target: int, tg: int, region: torch.Tensor, explain: Callable[..., Any],
                   steps: int, road_percentages: list[int], runs_fc: int, classes: int) -> list[Item]:
    """Quantus's implementation of each metric on the same inputs, set up to do the same work as ours."""
    from .analysis import ROAD
    from .analysis.metrics import names as m

    names = [m.PIXEL_FLIPPING, m.REGION_PERTURBATION, ROAD, m.FAITHFULNESS_CORRELATION, m.SPARSENESS, m.COMPLEXITY,
             m.RANDOM_LOGIT, m.RELEVANCE_MASS, m.POINTING_GAME]
    try:
        import numpy as np
        import quantus as quantus_module
    except ImportError as exc:
        return [Item(f"quantus:{n}", None, f"quantus is not installed ({exc.name})") for n in names]
    quantus: Any = quantus_module  # its metrics are not in its stubs' public names
    device = str(xb.device)
    hw = xb.shape[-1] * xb.shape[-2]
    x_np, a_np = xb.cpu().numpy(), maps[:, None].cpu().numpy()
    y = np.array([target])
    common = {"model": gm, "x_batch": x_np, "y_batch": y, "a_batch": a_np, "channel_first": True, "device": device}
    quiet = {"disable_warnings": True, "abs": False, "normalise": False}
    pf = quantus.PixelFlipping(features_in_step=3 * hw // steps, perturb_baseline=0.0, **quiet)
    rp = quantus.RegionPerturbation(patch_size=8, regions_evaluation=steps, perturb_baseline=0.0, **quiet)
    road = quantus.ROAD(noise=0.01, percentages=road_percentages, **quiet)
    fc = quantus.FaithfulnessCorrelation(nr_runs=runs_fc, subset_size=224, perturb_baseline=0.0,
                                         return_aggregate=False, **quiet)
    sp, cx = quantus.Sparseness(disable_warnings=True), quantus.Complexity(disable_warnings=True)
    rl = quantus.RandomLogit(num_classes=classes, similarity_func=quantus.similarity_func.correlation_spearman, **quiet)
    rm = quantus.RelevanceMassAccuracy(**quiet)
    pg = quantus.PointingGame(**quiet)
    s_np = region[:, None].numpy().astype(np.float32)

    def q_explain(model: Any, inputs: Any, targets: Any, **kwargs: Any) -> Any:
        return explain(torch.as_tensor(np.asarray(inputs)).to(xb.device), list(np.asarray(targets).reshape(-1))
                       )[:, None].cpu().numpy()

    fns: dict[str, Callable[[], Any]] = {
        m.PIXEL_FLIPPING: lambda: pf(softmax=False, **common),
        m.REGION_PERTURBATION: lambda: rp(softmax=False, **common),
        ROAD: lambda: road(model=grey, x_batch=xg.cpu().numpy(), y_batch=np.array([tg]), a_batch=a_np,
                             channel_first=True, softmax=False, device=device),
        m.FAITHFULNESS_CORRELATION: lambda: fc(softmax=False, **common),
        m.SPARSENESS: lambda: sp(**common),
        m.COMPLEXITY: lambda: cx(**common),
        m.RANDOM_LOGIT: lambda: rl(explain_func=q_explain, **common),
        m.RELEVANCE_MASS: lambda: rm(s_batch=s_np, **common),
        m.POINTING_GAME: lambda: pg(s_batch=s_np, **common),
    }
    return [Item(f"quantus:{n}", fns[n]) for n in names]


def run_metrics_bench(models: list[str], runs: int, threads: int, device: str, size: int, as_json: bool) -> int:
    """`vislrp bench --metrics`: one result per model (a table each, or one JSON document for all)."""
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda: no CUDA device is available here")
    results = []
    for name in models:
        res = bench_metrics_model(name, runs, threads, device, size)
        results.append(res)
        if not as_json:
            print(_metrics_table(res), flush=True)
    if as_json:
        print(json_report("metrics", results), flush=True)
    return 0


def _metrics_table(res: dict[str, Any]) -> str:
    lines = [f"{res['model']} on {res['device']}, {res['threads']} threads, {res['size']} px, median of "
             f"{res['runs']}: forward {res['forward_ms']:.1f} ms; flipping curves of N = {res['steps']} steps",
             f"  {'metric':26s} {'÷ forward':>10s} {'÷ Quantus':>10s}   (curves: ÷ N forwards)"]
    for key, ratio in res["ratios"].items():
        q = res["quantus"].get(key)
        lines.append(f"  {key:26s} {ratio if ratio is not None else '—':>10} {q if q is not None else '—':>10}")
    for key, reason in res["unavailable"].items():
        lines.append(f"  {key}: {reason}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- sweeps
SWEEP_IMAGES = ("sample:chelsea", "sample:coffee", "sample:astronaut", "sample:rocket")


def bench_sweep_model(name: str, runs: int, threads: int, points: int, images: int, metrics: str,
                      steps: int) -> dict[str, Any]:
    """A P-point sweep on I images against P × (one re-explain of the I images + the metrics' forwards).

    The units are measured in the same run: a re-explain is an explanation of the cached forward with a
    parameter value not seen before (so it pays the transformed weights, as every sweep point does); the
    metrics' forwards are counted by a hook on the network (images forwarded per point) and priced at one
    forward of the I-image batch ÷ I. The sweep itself starts with an empty engine cache, so it pays its
    forward too. A ratio ≤ 1.2 is the issue's bound: the sweep adds little beyond what it must compute.
    """
    import tempfile
    from pathlib import Path

    from .analysis.metrics import MetricOptions, parse_metrics
    from .session import open_session
    from .sweep import LocalExecutor, Space, load_inputs, parse_axis, run_sweep

    torch.set_num_threads(threads)
    session = open_session(name, "none")
    specs = [SWEEP_IMAGES[k % len(SWEEP_IMAGES)] for k in range(images)]
    inputs = load_inputs(session, specs)
    names = parse_metrics(metrics)
    options = MetricOptions(steps=steps)
    space = Space(DEFAULT_COMPOSITE, (parse_axis(f"S1.gamma1p=0.05:1:{points}"),))
    pts = space.grid()
    engine, gm = session.engine, session.graph.gm
    fwd = engine.forward(inputs.xs)
    rows = [(i, t) for i, t in enumerate(inputs.targets)]
    fresh = iter(range(10**6))

    def reexplain() -> torch.Tensor:
        model = space.design(session.graph, {"S1.gamma1p": 1.5 + next(fresh) * 1e-4})
        return engine.explain(fwd, model, rows, keep_layers=False).input_relevance

    def forward() -> torch.Tensor:
        with torch.no_grad():
            out: torch.Tensor = gm(inputs.xs)
            return out

    items = [Item("forward", forward), Item("reexplain", reexplain)]
    _time_round_robin(items, runs, "cpu", f"{name} sweep units")
    t_fwd, t_re = (statistics.median(i.times) for i in items)
    counted = [0]
    handle = gm.register_forward_hook(lambda _m, args, _o: counted.__setitem__(0, counted[0] + args[0].shape[0]))
    try:
        from .analysis.metrics import MetricContext, evaluate

        bounds = session.zoo.preprocess.bounds()
        evaluate(MetricContext(session.graph, engine, space.design(session.graph, pts[0]), inputs.xs,
                               inputs.targets, black=bounds[0], bounds=bounds), names, options)
    finally:
        handle.remove()
    forwards_per_point = counted[0]
    unit = t_re + forwards_per_point * t_fwd / images
    engine.clear()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run_sweep(session, space, pts, inputs, names, Path(tmp) / "bench.csv", options=options,
                  executor=LocalExecutor())
        total = time.perf_counter() - t0
    return {"model": name, "threads": threads, "points": points, "images": images, "metrics": names,
            "steps": steps, "forward_ms": round(t_fwd * 1000 / images, 2),
            "reexplain_ms": round(t_re * 1000 / images, 2), "metric_forwards_per_image": forwards_per_point / images,
            "unit_ms_per_row": round(unit * 1000 / images, 2), "sweep_s": round(total, 3),
            "ms_per_row": round(total * 1000 / (points * images), 2), "ratio": round(total / (points * unit), 3)}


def run_sweep_bench(models: list[str], runs: int, threads: int, points: int, images: int, metrics: str,
                    steps: int, as_json: bool) -> int:
    """`vislrp bench --sweep`: the cost ratio of a sweep per model (text each, or one JSON document for all)."""
    results = []
    for name in models:
        res = bench_sweep_model(name, runs, threads, points, images, metrics, steps)
        results.append(res)
        if as_json:
            continue
        print(f"{res['model']}, {res['threads']} threads: sweep of {points} points x {images} images, metrics "
              f"{','.join(res['metrics'])} ({steps} steps) took {res['sweep_s']:.2f} s = {res['ms_per_row']:.1f} ms "
              f"per row\n  per row: re-explain {res['reexplain_ms']:.1f} ms + {res['metric_forwards_per_image']:g} "
              f"metric forwards x {res['forward_ms']:.1f} ms = {res['unit_ms_per_row']:.1f} ms\n"
              f"  ratio cost / (P x I x (re-explain + metric forwards)) = {res['ratio']:.3f}", flush=True)
    if as_json:
        print(json_report("sweep", results), flush=True)
    return 0
