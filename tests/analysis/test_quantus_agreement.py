"""vislrp's metrics against Quantus 0.6.0 on the same network, images and LRP heatmaps.

The network is the default one (EfficientNet-Lite0, ImageNet weights) run on centre crops of two
sample photos, small enough for CI; the heatmaps are its default composite's. Where the definitions
coincide the values must agree to 1e-4 relative (max |ours − Quantus| ÷ max |Quantus|). Where they
differ on purpose (docs/metrics.md) the test sets both up so they coincide:

- Quantus flips the three channels of a pixel as separate features; with a heatmap broadcast over
  the channels and distinct per pixel, the three copies of a pixel sort next to each other, so a
  step of 3·k features flips exactly k whole pixels, which is what vislrp flips.
- Quantus's curves omit the unflipped point (ours start at step 0).
- Quantus 0.6.0's ROAD only runs on one-channel inputs (its imputation indexes pixels with channel-
  feature indices and fails on RGB), so ROAD runs on a grey-image front end to the same network, and
  the imputation itself is compared on RGB images separately.
- Quantus's default similarity for RandomLogit is SSIM of the flattened maps; it is run with its
  Spearman similarity, vislrp's definition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

quantus = pytest.importorskip("quantus")

from vislrp.analysis.curves import flip_curves  # noqa: E402
from vislrp.analysis.imputation import road_impute  # noqa: E402
from vislrp.analysis.metrics import (  # noqa: E402
    complexity,
    pixel_flipping,
    pointing_game,
    random_logit,
    region_perturbation,
    relevance_mass,
    sparseness,
)
from vislrp.lrp import Engine, LayerGraph, LRPModel, build_graph  # noqa: E402

TOL = 1e-4


def rel_err(ours: Any, theirs: Any) -> float:
    a, b = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))


@dataclass
class Setup:
    graph: LayerGraph
    engine: Engine
    model: LRPModel
    xs: torch.Tensor
    targets: list[int]
    maps: torch.Tensor

    def explain(self, xs: torch.Tensor, classes: Sequence[int]) -> torch.Tensor:
        fwd = self.engine.forward(xs)
        rows = [(i, int(c)) for i, c in enumerate(classes)]
        return self.engine.explain(fwd, self.model, rows, keep_layers=False).input_relevance.sum(1)


def make_setup(size: int) -> Setup:
    from vislrp.session import open_session

    torch.set_num_threads(2)
    s = open_session("efficientnet_lite0")
    lo = (224 - size) // 2
    xs = torch.stack([s.load_input(f"sample:{n}")[:, lo:lo + size, lo:lo + size] for n in ("chelsea", "coffee")])
    graph = build_graph(s.zoo.module, (3, size, size))
    engine = Engine(graph, bounds=s.zoo.preprocess.bounds())
    model = s.default_lrp_model()
    fwd = engine.forward(xs)
    targets = [int(t) for t in fwd.logits.argmax(1)]
    maps = engine.explain(fwd, model, list(enumerate(targets)), keep_layers=False).input_relevance.sum(1)
    return Setup(graph, engine, model, xs, targets, maps)


@pytest.fixture(scope="module")
def lite96() -> Setup:
    return make_setup(96)


def test_pixel_flipping_matches_quantus(lite96: Setup) -> None:
    s, steps = lite96, 12
    hw = s.maps[0].numel()
    # float32 heatmaps hold a few exact ties, which the two sorts may break differently at a step boundary;
    # a tiny seeded jitter (the same map goes to both) makes every value distinct
    jitter = torch.randn(s.maps.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    maps = s.maps.double() + 1e-9 * float(s.maps.abs().max()) * jitter
    assert all(torch.unique(m).numel() == hw for m in maps), "the orders coincide only without ties"
    metric = quantus.PixelFlipping(features_in_step=3 * hw // steps, perturb_baseline=0.0, abs=False,
                                   normalise=False, disable_warnings=True)
    theirs = np.asarray(metric(model=s.graph.gm, x_batch=s.xs.numpy(), y_batch=np.array(s.targets),
                               a_batch=maps[:, None].numpy(), channel_first=True, softmax=False, device="cpu"))
    ours = pixel_flipping(s.graph.gm, s.xs, maps, s.targets, steps=steps, patch=1, fill="zero", orders=("morf",))
    assert theirs.shape == (2, steps)
    for i, r in enumerate(ours):
        assert rel_err(r.curves["morf"][1:], theirs[i]) <= TOL  # type: ignore[index]


@pytest.mark.parametrize("order", ["morf", "lerf"])
def test_region_perturbation_matches_quantus(lite96: Setup, order: str) -> None:
    s, steps, patch = lite96, 10, 8
    metric = quantus.RegionPerturbation(patch_size=patch, order=order, regions_evaluation=steps,
                                        perturb_baseline=0.0, abs=False, normalise=False, disable_warnings=True)
    theirs = np.asarray(metric(model=s.graph.gm, x_batch=s.xs.numpy(), y_batch=np.array(s.targets),
                               a_batch=s.maps[:, None].numpy(), channel_first=True, softmax=False, device="cpu"))
    ours = region_perturbation(s.graph.gm, s.xs, s.maps, s.targets, steps=steps, patch=patch, fill="zero",
                               orders=(order,))  # type: ignore[arg-type]
    for i, r in enumerate(ours):
        curve = np.asarray(r.curves[order])  # type: ignore[index]
        assert rel_err(curve[0] - curve[1:], theirs[i]) <= TOL
        # Quantus has no AOPC; ours is the mean drop over the N + 1 points, i.e. Σ drops / (N + 1)
        assert r.aopc[order] == pytest.approx(float(np.sum(theirs[i]) / (steps + 1)), rel=TOL)  # type: ignore[index]


class Grey(nn.Module):
    """A one-channel front end to the RGB network: the grey image in all three channels."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.expand(-1, 3, -1, -1))


def test_road_matches_quantus_without_noise(lite96: Setup) -> None:
    s = lite96
    grey = Grey(s.graph.gm).eval()
    xs = s.xs.mean(1, keepdim=True)
    with torch.no_grad():
        targets = [int(t) for t in grey(xs).argmax(1)]
    percentages = [25, 50, 75]
    metric = quantus.ROAD(noise=0.0, percentages=percentages, abs=False, normalise=False, disable_warnings=True)
    theirs = metric(model=grey, x_batch=xs.numpy(), y_batch=np.array(targets), a_batch=s.maps[:, None].numpy(),
                    channel_first=True, softmax=False, device="cpu")
    # Quantus reports, per percentage, the share of images still classified as their target; our curves keep
    # the top class of every step, so the same share is read off them. Same imputed images, same predictions:
    # the agreement is exact.
    curves = flip_curves(grey, xs, s.maps, targets, ["morf"], steps=4, patch=1, mode="road", noise=0.0)
    for p in percentages:
        k = p // 25  # step k of 4 removes exactly int(9216·p/100) pixels, as Quantus does
        ours = np.mean([c["morf"].top1[k] == t for c, t in zip(curves, targets, strict=True)])
        assert ours == theirs[p], (p, ours, theirs)


def test_road_imputation_matches_quantus_on_rgb() -> None:
    quantus_impute = quantus.functions.perturb_func.noisy_linear_imputation
    gen = torch.Generator().manual_seed(3)
    x = torch.randn((3, 23, 31), generator=gen, dtype=torch.float64)
    for frac in (0.05, 0.4, 0.9):
        mask = torch.rand((23, 31), generator=gen) < frac
        idx = np.flatnonzero(mask.numpy().reshape(-1))
        theirs = quantus_impute(arr=x.numpy(), indices=idx, noise=0.0)
        ours = road_impute(x, mask)
        assert rel_err(ours.numpy(), theirs) <= 1e-10


def test_sparseness_and_complexity_match_quantus(lite96: Setup) -> None:
    s = lite96
    args = {"model": s.graph.gm, "x_batch": s.xs.numpy(), "y_batch": np.array(s.targets),
            "a_batch": s.maps[:, None].numpy(), "channel_first": True, "device": "cpu"}
    q_sparse = quantus.Sparseness(disable_warnings=True)(**args)
    q_complex = quantus.Complexity(disable_warnings=True)(**args)
    # Quantus adds 1e-7 to the max-normalised |R| before the Gini index; on these maps that moves it by < 1e-5
    assert rel_err([r.value for r in sparseness(s.maps)], q_sparse) <= TOL
    assert rel_err([r.value for r in complexity(s.maps)], q_complex) <= TOL


def test_random_logit_matches_quantus_with_spearman(lite96: Setup) -> None:
    s = lite96
    seen: list[list[int]] = []

    def explain_func(model: nn.Module, inputs: np.ndarray, targets: np.ndarray, **kwargs: Any) -> np.ndarray:
        seen.append([int(t) for t in np.asarray(targets).reshape(-1)])
        return s.explain(torch.from_numpy(np.asarray(inputs)), seen[-1])[:, None].numpy()

    metric = quantus.RandomLogit(num_classes=1000, similarity_func=quantus.similarity_func.correlation_spearman,
                                 abs=False, normalise=False, disable_warnings=True)
    theirs = metric(model=s.graph.gm, x_batch=s.xs.numpy(), y_batch=np.array(s.targets),
                    a_batch=s.maps[:, None].numpy(), explain_func=explain_func, channel_first=True, device="cpu")
    others = seen[-1]
    assert all(o != t for o, t in zip(others, s.targets, strict=True))
    ours = random_logit(s.explain, s.xs, s.maps, s.targets, 1000, others=others)
    assert rel_err([r.value for r in ours], theirs) <= TOL


def test_localisation_matches_quantus(lite96: Setup) -> None:
    s = lite96
    region = torch.zeros((2, 96, 96), dtype=torch.bool)
    region[0, 20:70, 10:60] = True
    region[1, 40:90, 30:96] = True
    args = {"model": s.graph.gm, "x_batch": s.xs.numpy(), "y_batch": np.array(s.targets),
            "a_batch": s.maps[:, None].numpy(), "s_batch": region[:, None].numpy().astype(np.float32),
            "channel_first": True, "device": "cpu"}
    q_mass = quantus.RelevanceMassAccuracy(abs=False, normalise=False, disable_warnings=True)(**args)
    q_point = quantus.PointingGame(abs=False, normalise=False, disable_warnings=True)(**args)
    assert rel_err([r.value for r in relevance_mass(s.maps, region)], q_mass) <= TOL
    assert [r.value for r in pointing_game(s.maps, region)] == [float(v) for v in q_point]
