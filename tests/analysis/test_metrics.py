"""The metrics against float64 references written from their definitions (hand values, a linear model
whose flips can be summed by hand, scipy), including where vislrp deliberately differs from Quantus."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from torch import nn

from vislrp.analysis.batching import AdaptiveBatcher
from vislrp.analysis.imputation import NEIGHBOURS, road_impute
from vislrp.analysis.metrics import (
    MetricContext,
    MetricOptions,
    UnknownMetricError,
    complexity,
    evaluate,
    faithfulness_correlation,
    gini,
    mprt,
    other_class,
    parse_metrics,
    pixel_flipping,
    random_logit,
    region_perturbation,
    sparseness,
    spearman,
    srg,
)
from vislrp.analysis.metrics.faithfulness_correlation import subset_masks
from vislrp.lrp import Engine, LayerGraph, LRPModel, build_graph


class Linear(nn.Module):
    """f(x) = Σ W ⊙ x per class: removing pixels (zero fill) lowers f by exactly their contributions."""

    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.w = nn.Parameter(w, requires_grad=False)  # (classes, C, H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bchw,kchw->bk", x, self.w)


@pytest.fixture
def linear() -> tuple[Linear, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(5)
    w = torch.randn((3, 3, 6, 6), generator=gen, dtype=torch.float64)
    x = torch.randn((2, 3, 6, 6), generator=gen, dtype=torch.float64)
    return Linear(w), x, (w[1] * x).sum(1)  # contributions to class 1, summed over channels


def reference_curve(contrib: np.ndarray, order: str, steps: int) -> list[float]:
    """Target score after each step of pixel flipping with zero fill, from the contributions alone."""
    flat = contrib.reshape(-1)
    seq = np.argsort(-flat, kind="stable") if order == "morf" else np.argsort(flat, kind="stable")
    n = flat.size
    return [float(flat.sum() - flat[seq[: round(k * n / steps)]].sum()) for k in range(steps + 1)]


def test_sparseness_and_complexity_hand_values() -> None:
    assert gini(torch.tensor([0.0, 0.0, 0.0, 1.0])) == pytest.approx(0.75)
    assert gini(torch.full((5, 5), -2.0)) == pytest.approx(0.0, abs=1e-15)  # |R|: the sign does not matter
    r = torch.randn(50, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    a = np.sort(np.abs(r.numpy()))
    n = a.size
    mean_abs_diff = np.abs(a[:, None] - a[None, :]).sum() / (2 * n * n * a.mean())  # the textbook Gini
    assert gini(r) == pytest.approx(mean_abs_diff, rel=1e-12)
    assert complexity(torch.ones((4, 4)))[0].value == pytest.approx(math.log(16))
    assert complexity(torch.tensor([[0.0, 3.0], [0.0, 0.0]]))[0].value == pytest.approx(0.0)
    p = np.abs(r.numpy()) / np.abs(r.numpy()).sum()
    assert complexity(r.view(5, 10))[0].value == pytest.approx(float(-(p * np.log(p)).sum()), rel=1e-12)
    zero = sparseness(torch.zeros((3, 3)))[0]
    assert zero.value is None and zero.note


def test_spearman_matches_scipy_with_ties() -> None:
    gen = torch.Generator().manual_seed(2)
    a = torch.randint(0, 5, (40,), generator=gen).double()
    b = a + torch.randn(40, generator=gen, dtype=torch.float64)
    assert spearman(a, b) == pytest.approx(spearmanr(a.numpy(), b.numpy())[0], rel=1e-12)
    assert spearman(torch.ones(5), b[:5]) == 0.0  # a constant map has no order: 0, not NaN


def test_road_imputation_is_the_weighted_mean_of_neighbours() -> None:
    gen = torch.Generator().manual_seed(4)
    x = torch.randn((2, 9, 11), generator=gen, dtype=torch.float64)
    mask = torch.rand((9, 11), generator=gen) < 0.5
    mask[0, 0] = mask[8, 10] = True  # corners: only 3 neighbours inside
    out = road_impute(x, mask).numpy()
    assert np.array_equal(out[:, ~mask.numpy()], x.numpy()[:, ~mask.numpy()])
    for r, c in zip(*np.nonzero(mask.numpy()), strict=True):
        total, weight = np.zeros(2), 0.0
        for dr, dc, w in NEIGHBOURS:
            if 0 <= r + dr < 9 and 0 <= c + dc < 11:
                total += w * out[:, r + dr, c + dc]
                weight += w
        np.testing.assert_allclose(out[:, r, c], total / weight, rtol=0, atol=1e-10)
    noise = torch.randn(x.shape, generator=gen, dtype=torch.float64)
    noisy = road_impute(x, mask, noise)
    assert torch.allclose(noisy[:, mask], torch.from_numpy(out)[:, mask] + noise[:, mask], atol=1e-12)
    assert torch.equal(noisy[:, ~mask], x[:, ~mask])
    assert torch.equal(road_impute(x, torch.ones((9, 11), dtype=torch.bool)), torch.zeros_like(x))


@pytest.mark.parametrize("order", ["morf", "lerf"])
def test_pixel_flipping_flips_whole_pixels(linear: tuple[Linear, torch.Tensor, torch.Tensor], order: str) -> None:
    net, x, contrib = linear
    res = pixel_flipping(net, x, contrib, [1, 1], steps=4, patch=1, orders=(order,))  # type: ignore[arg-type]
    for i in range(2):
        ref = reference_curve(contrib[i].numpy(), order, 4)
        assert res[i].curves[order] == pytest.approx(ref, abs=1e-12)  # type: ignore[index]
        assert res[i].aopc[order] == pytest.approx(sum(ref[0] - v for v in ref) / 5, abs=1e-12)  # type: ignore[index]


def test_region_perturbation_removes_one_region_per_step(linear: tuple[Linear, torch.Tensor, torch.Tensor]) -> None:
    net, x, contrib = linear
    res = region_perturbation(net, x, contrib, [1, 1], steps=3, patch=3, orders=("morf",))
    sums = contrib[0].reshape(2, 3, 2, 3).sum((1, 3)).reshape(-1).numpy()  # four 3×3 regions
    order = np.argsort(-sums, kind="stable")
    ref = [float(sums.sum() - sums[order[:k]].sum()) for k in range(4)]
    assert res[0].curves["morf"] == pytest.approx(ref, abs=1e-12)  # type: ignore[index]
    with pytest.raises(ValueError, match="regions"):
        region_perturbation(net, x, contrib, [1, 1], steps=5, patch=3)


def test_srg_follows_the_normalised_definition(linear: tuple[Linear, torch.Tensor, torch.Tensor]) -> None:
    net, x, contrib = linear
    res = srg(net, x, contrib, [1, 1], steps=6, patch=1, fill="zero")
    for i in range(2):
        m = np.array(reference_curve(contrib[i].numpy(), "morf", 6))
        le = np.array(reference_curve(contrib[i].numpy(), "lerf", 6))
        norm = lambda c: (c - c[-1]) / (c[0] - c[-1])  # noqa: E731
        if m[0] > m[-1]:
            assert res[i].value == pytest.approx(float(norm(le).mean() - norm(m).mean()), abs=1e-12)
            assert res[i].value > 0  # the true contributions are a faithful map
        else:
            assert res[i].value is None and res[i].note
        assert set(res[i].aopc) == {"morf", "lerf", "random"}  # type: ignore[arg-type]
    flipped = srg(net, x, -contrib, [1, 1], steps=6, patch=1, fill="zero")
    assert all(f.value is None or f.value < 0 for f in flipped)  # the reversed map is anti-faithful


def test_faithfulness_correlation(linear: tuple[Linear, torch.Tensor, torch.Tensor]) -> None:
    net, x, contrib = linear
    exact = faithfulness_correlation(net, x, contrib, [1, 1], runs=30, subset=10, seed=3)
    assert [r.value for r in exact] == pytest.approx([1.0, 1.0], abs=1e-12)  # removed relevance = score drop
    other = torch.randn(contrib.shape, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    res = faithfulness_correlation(net, x, other, [1, 1], runs=30, subset=10, seed=3)
    masks = subset_masks((6, 6), 30, 10, 1, 3)
    assert all(int(m.sum()) == 10 for m in masks)
    for i in range(2):
        with torch.no_grad():
            drops = [float(net(x[i:i + 1])[0, 1] - net((x[i] * ~m)[None])[0, 1]) for m in masks]
        removed = [float(other[i][m].sum()) for m in masks]
        assert res[i].value == pytest.approx(float(np.corrcoef(removed, drops)[0, 1]), abs=1e-10)


def test_random_logit_against_scipy(small_cnn: LayerGraph) -> None:
    engine = Engine(small_cnn)
    model = LRPModel.single(small_cnn.n_layers, "epsilon", include_bias=True)
    x = torch.randn((2, 3, 16, 16), generator=torch.Generator().manual_seed(0), dtype=torch.float64)

    def explain(xs: torch.Tensor, classes: list[int]) -> torch.Tensor:
        ex = engine.explain(engine.forward(xs), model, list(enumerate(classes)), keep_layers=False)
        return ex.input_relevance.sum(1)

    targets = [0, 3]
    maps = explain(x, targets)
    res = random_logit(explain, x, maps, targets, 5, seed=7)
    for i, r in enumerate(res):
        other = r.detail["other"]
        assert other == other_class(targets[i], 5, 7) != targets[i]
        ref = spearmanr(maps[i].reshape(-1).numpy(), explain(x, [other, other])[i].reshape(-1).numpy())[0]
        assert r.value == pytest.approx(ref, rel=1e-12)


def test_mprt_cascade_against_an_independent_randomisation(small_cnn: LayerGraph) -> None:
    model = LRPModel.single(small_cnn.n_layers, "epsilon", include_bias=True)
    x = torch.randn((1, 3, 16, 16), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    before = {k: v.clone() for k, v in small_cnn.gm.state_dict().items()}
    res = mprt(small_cnn, model, x, [2], seed=11)
    assert all(torch.equal(before[k], v) for k, v in small_cnn.gm.state_dict().items())  # the caller's net is intact
    layers = res[0].detail["layers"]
    weighted = [layer.index for layer in small_cnn.weighted]
    assert [r["index"] for r in layers] == sorted(weighted, reverse=True)
    # reference: the top layer re-initialised by hand (PyTorch's default init under the same seed)
    net = copy.deepcopy(small_cnn.gm)
    top = net.get_submodule(small_cnn.layers[weighted[-1]].name)
    torch.manual_seed(11)
    top.reset_parameters()
    graph = build_graph(net, small_cnn.input_shape, fold_bn=False)
    eng, ref_eng = Engine(graph), Engine(small_cnn)
    orig = ref_eng.explain(ref_eng.forward(x), model, 2, keep_layers=False).input_relevance.sum(1)[0].abs()
    rand = eng.explain(eng.forward(x), model, 2, keep_layers=False).input_relevance.sum(1)[0].abs()
    expected = spearmanr(orig.reshape(-1).numpy(), rand.reshape(-1).numpy())[0]
    assert layers[0]["similarity"] == pytest.approx(expected, rel=1e-10)
    assert res[0].value == pytest.approx(np.mean([r["similarity"] for r in layers]))


def test_suite_contract_and_errors(small_cnn: LayerGraph) -> None:
    assert parse_metrics("srg, sparseness,srg") == ["srg", "sparseness"]
    with pytest.raises(UnknownMetricError, match="unknown metric 'aopc'"):
        parse_metrics("aopc")
    engine = Engine(small_cnn)
    model = LRPModel.single(small_cnn.n_layers, "epsilon", include_bias=True)
    x = torch.randn((2, 3, 16, 16), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ctx = MetricContext(small_cnn, engine, model, x, [0, 1])
    with pytest.raises(ValueError, match="needs a region"):
        evaluate(ctx, ["pointing-game"])
    opts = MetricOptions(steps=4, patch=2, runs=5, subset=3)
    res = evaluate(ctx, ["pixel-flipping", "srg", "sparseness"], opts)
    assert [(r.metric, r.image) for r in res] == [("pixel-flipping", 0), ("pixel-flipping", 1), ("srg", 0),
                                                   ("srg", 1), ("sparseness", 0), ("sparseness", 1)]
    assert res[0].curves == res[2].curves  # pixel flipping and SRG share one run of curves
    ctx.masks = torch.zeros((16, 16), dtype=torch.bool)
    ctx.masks[4:8, 4:8] = True
    assert len(evaluate(ctx, ["relevance-mass", "pointing-game"], opts)) == 4


def test_batcher_settles_on_the_cheapest_size() -> None:
    """The search logic alone, fed synthetic timings (no clock): per-image cost is lowest at 8."""
    batcher = AdaptiveBatcher()
    cost = {1: 3.0, 2: 2.0, 4: 1.5, 8: 1.0, 16: 1.6, 32: 2.5}

    def predict(batch: torch.Tensor) -> torch.Tensor:
        return batch

    sample = torch.zeros(3)
    sizes = []
    for _ in range(20):
        for start, stop, report in batcher.chunks(predict, 40, sample):
            sizes.append(stop - start)
            report(cost[stop - start] * (stop - start) if stop - start in cost else 99.0)
    assert batcher.best(predict, sample) == 8
    assert sizes[-5:] == [8] * 5
