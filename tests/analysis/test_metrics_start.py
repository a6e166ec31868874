"""The metrics suite under a start rule: every heatmap it explains (the scored maps, random-logit's other class,
MPRT's randomised networks) uses the context's start rule, and without one nothing changes."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from vislrp.analysis.metrics import MetricContext, evaluate
from vislrp.analysis.metrics.base import spearman
from vislrp.analysis.metrics.mprt import mprt
from vislrp.analysis.metrics.random_logit import other_class
from vislrp.lrp import Engine, build_graph
from vislrp.lrp.composites import get_composite

LRP_TESTS = str(Path(__file__).resolve().parents[1] / "lrp")


def context(start: str | None) -> MetricContext:
    if LRP_TESTS not in sys.path:
        sys.path.insert(0, LRP_TESTS)
    from lrp_nets import pool_resnet  # the small networks of tests/lrp

    model = pool_resnet(0)
    graph = build_graph(model, (3, 16, 16))
    engine = Engine(graph, bounds=(torch.tensor(-3.0), torch.tensor(3.0)))
    xs = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    design = get_composite("epsilon-plus-flat").resolve(graph)
    return MetricContext(graph, engine, design, xs, [1, 2], bounds=engine.bounds, start=start)


def test_random_logit_explains_the_other_class_under_the_same_rule() -> None:
    ctx = context("sglrp")
    results = evaluate(ctx, ["random-logit"])
    fwd = ctx.engine.forward(ctx.xs)
    for r in results:
        other = other_class(r.target, 4, 0)
        assert r.detail["other"] == other
        maps = ctx.engine.explain(fwd, ctx.model, [(r.image, r.target), (r.image, other)], start="sglrp")
        hm = maps.input_relevance.sum(1)
        assert r.value is not None and abs(r.value - spearman(hm[0], hm[1])) <= 1e-9


def test_mprt_randomises_under_the_same_rule() -> None:
    """The suite's MPRT (intact maps from the suite) equals MPRT computing its own intact maps under the rule: a
    suite that dropped the rule for the randomised networks (or the intact ones) would differ."""
    ctx = context("clrp")
    suite = evaluate(ctx, ["mprt"])
    alone = mprt(ctx.graph, ctx.model, ctx.xs, ctx.targets, bounds=ctx.bounds, start="clrp")
    logit = mprt(ctx.graph, ctx.model, ctx.xs, ctx.targets, bounds=ctx.bounds)
    assert [r.value for r in suite] == [r.value for r in alone]
    assert [r.value for r in suite] != [r.value for r in logit]


def test_no_start_rule_is_the_logit_rule() -> None:
    names = ["sparseness", "random-logit", "srg"]
    plain = evaluate(context(None), names)
    logit = evaluate(context("logit"), names)
    assert [(r.metric, r.value) for r in plain] == [(r.metric, r.value) for r in logit]
    other = evaluate(context("contrastive:0"), names)
    assert [r.value for r in other if r.metric == "sparseness"] != [r.value for r in plain if r.metric == "sparseness"]
