"""The sweep's axis specs, grid and random points, and how a point changes the base design."""

from __future__ import annotations

import pytest
import torch
from lrp_nets import small_net

from vislrp.lrp import build_graph
from vislrp.lrp.composites import get_composite
from vislrp.sweep import Space, SpaceError, parse_axis


@pytest.fixture(scope="module")
def graph():  # type: ignore[no-untyped-def]
    return build_graph(small_net(dtype=torch.float32), (3, 8, 8))


def test_range_is_inclusive_with_n_values() -> None:
    axis = parse_axis("S2.gamma1p=0:1:11")
    assert axis.values == pytest.approx([k / 10 for k in range(11)], abs=1e-15)
    assert (axis.segment, axis.param, axis.low, axis.high) == (2, "gamma1p", 0.0, 1.0)
    assert parse_axis("S3.epsilon=0,0.01, 0.25").values == (0.0, 0.01, 0.25)
    assert parse_axis("B1=2:6:3").values == (2, 4, 6)
    assert parse_axis("include_bias=true,off").values == (True, False)
    assert parse_axis("composite=epsilon-plus,epsilon-gamma-box").values == ("epsilon-plus", "epsilon-gamma-box")


@pytest.mark.parametrize(("spec", "message"), [
    ("S2.gamma1p=0:6:3", "outside the range of gamma1p [0, 5]"),
    ("S2.alpha=-1", "outside the range of alpha"),
    ("S2.gama=0,1", "unknown parameter 'gama'"),
    ("S0.alpha=1", "numbered from S1"),
    ("S2.beta=1:0:3", "runs backwards"),
    ("S2.beta=0:1", "a:b:n"),
    ("S2.beta=0:1:x", "must be an integer"),
    ("S2.beta=nan", "not a finite number"),
    ("S2.beta=abc", "not a number"),
    ("B1=1.5,2", "non-integers"),
    ("zbox=maybe", "not a switch value"),
    ("composite=nope", "unknown composite 'nope'"),
    ("T1.alpha=1", "unknown axis"),
    ("S2.alpha", "NAME=VALUES"),
])
def test_bad_specs_name_the_problem(spec: str, message: str) -> None:
    with pytest.raises(SpaceError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")):
        parse_axis(spec)


def test_grid_is_every_combination_last_axis_fastest() -> None:
    space = Space("epsilon-plus", (parse_axis("S1.beta=0,1"), parse_axis("include_bias=true,false")))
    assert space.grid() == [{"S1.beta": 0.0, "include_bias": True}, {"S1.beta": 0.0, "include_bias": False},
                            {"S1.beta": 1.0, "include_bias": True}, {"S1.beta": 1.0, "include_bias": False}]


def test_random_points_are_seeded_and_inside_the_ranges() -> None:
    space = Space("epsilon-plus", (parse_axis("S1.gamma1p=0.5:2:4"), parse_axis("B1=2:5:2"),
                                   parse_axis("S2.epsilon=0,0.1")))
    a, b, c = space.random(50, 7), space.random(50, 7), space.random(50, 8)
    assert a == b and a != c
    assert all(0.5 <= p["S1.gamma1p"] <= 2 for p in a)
    assert {p["B1"] for p in a} == {2, 3, 4, 5}  # integers anywhere in the range, not only the grid's
    assert {p["S2.epsilon"] for p in a} == {0.0, 0.1}
    assert len({p["S1.gamma1p"] for p in a}) == 50  # continuous draws


def test_point_changes_exactly_the_named_parts(graph) -> None:  # type: ignore[no-untyped-def]
    base = get_composite("epsilon-gamma-box").resolve(graph)
    assert len(base.segments) == 2  # convs (γ), linears (ε) on this net
    boundary = base.segments[1].start
    space = Space("epsilon-gamma-box", (parse_axis("S1.gamma1p=0.75"), parse_axis("B1=2"),
                                        parse_axis("include_bias=false"), parse_axis("zbox=off")))
    model = space.design(graph, {"S1.gamma1p": 0.75, "B1": 2, "include_bias": False, "zbox": False})
    s1, s2 = model.segments
    assert (s1.start, s1.end, s2.start, s2.end) == (0, 1, 2, graph.n_layers - 1)
    assert s1.rule.gamma1p == 0.75 and s1.rule.epsilon == base.segments[0].rule.epsilon
    assert s2.rule == base.segments[1].rule and boundary != 2
    assert model.include_bias is False and model.input_rule is None
    other = Space("epsilon-plus", (parse_axis("composite=epsilon-gamma-box"),)).design(
        graph, {"composite": "epsilon-gamma-box"})
    assert other.input_rule is not None and other.segments == base.segments


def test_points_that_do_not_fit_the_network_are_refused(graph) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SpaceError, match="2 segments"):
        Space("epsilon-gamma-box", (parse_axis("S3.alpha=1"),)).check(graph, [{"S3.alpha": 1.0}])
    with pytest.raises(SpaceError, match="every segment keeps a layer"):
        Space("epsilon-gamma-box", (parse_axis("B1=0"),)).check(graph, [{"B1": 0}])
    with pytest.raises(SpaceError, match="alpha and beta are both 0"):
        Space("epsilon-plus", (parse_axis("S1.alpha=0"),)).check(graph, [{"S1.alpha": 0.0}])
    with pytest.raises(SpaceError, match="more than"):
        Space("epsilon-plus", tuple(parse_axis(f"S1.{p}=0:1:50") for p in ("theta0", "gamma0", "gamma2"))).grid()


def test_tasks_cover_what_is_left_image_chunks_outermost() -> None:
    from vislrp.sweep.runner import tasks

    work = tasks(5, [0, 1, 2], point_chunk=2, image_chunk=2)
    assert [(t.points, t.images) for t in work] == [((0, 1), (0, 1)), ((2, 3), (0, 1)), ((4,), (0, 1)),
                                                    ((0, 1), (2,)), ((2, 3), (2,)), ((4,), (2,))]
    done = {(p, i) for p in range(5) for i in (0, 1)} | {(0, 2), (1, 2), (3, 2)}
    left = tasks(5, [0, 1, 2], point_chunk=2, image_chunk=2, skip=done)
    assert [(t.points, t.images) for t in left] == [((2, 4), (2,))]
    assert sum(t.size for t in left) == 2
