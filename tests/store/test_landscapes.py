"""The landscape log: what a finished landscape leaves for recommendations survives restarts, stays per
network, keeps only the newest landscapes, and scores points on the rows a caller shares with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from vislrp.lrp import LRPModel
from vislrp.store.landscapes import KEEP_LANDSCAPES, LandscapeLog, RecordedPoint


def design(gamma: float) -> LRPModel:
    return LRPModel.model_validate({"name": f"γ={gamma}", "segments": [
        {"start": 0, "end": 3, "preset": "gamma", "rule": {"gamma1p": gamma}}]})


def points(values: list[list[float | None]]) -> list[RecordedPoint]:
    return [RecordedPoint({"S1.gamma1p": i / 10}, design(i / 10), v) for i, v in enumerate(values)]


ROWS = [("img-a", 1), ("img-b", 2)]


def test_best_points_are_ranked_on_shared_rows_in_the_metrics_direction(tmp_path: Path) -> None:
    log = LandscapeLog(tmp_path / "db.sqlite", network="net@default")
    log.record("sparseness", True, ["S1.gamma1p"], ROWS, points([[0.1, 0.9], [0.5, 0.6], [0.7, 0.0], [None, None]]))
    best = log.best(ROWS, top=2)
    assert [p.params["S1.gamma1p"] for p in best] == [0.1, 0.0]  # means 0.55 and 0.5
    assert best[0].mean == pytest.approx(0.55) and best[0].rows == 2 and best[0].metric == "sparseness"
    assert best[0].model.segments[0].rule.gamma1p == pytest.approx(0.1)
    # only row b shared: scored on it alone
    only_b = log.best([("img-b", 2), ("other", 0)], top=1)
    assert [p.params["S1.gamma1p"] for p in only_b] == [0.0] and only_b[0].rows == 1
    assert log.best([("img-a", 7)]) == []  # same image, other class: not the same row
    # lower is better for complexity
    log.record("complexity", False, ["S1.gamma1p"], ROWS, points([[3.0, 3.0], [1.0, 2.0], [2.0, 2.0]]))
    newest = log.best(ROWS, top=1, landscapes=1)
    assert newest[0].metric == "complexity" and newest[0].params["S1.gamma1p"] == pytest.approx(0.1)
    assert len(log.best(ROWS, top=1, landscapes=5)) == 2


def test_landscapes_survive_a_restart_stay_per_network_and_are_pruned(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    a = LandscapeLog(path, network="net@default")
    b = LandscapeLog(path, network="net@none")
    a.record("srg", True, ["S1.gamma1p"], ROWS, points([[0.2, float("nan")]]))
    assert LandscapeLog(path, network="net@default").count() == 1 and b.count() == 0
    [p] = LandscapeLog(path, network="net@default").best(ROWS)
    assert p.mean == pytest.approx(0.2) and p.rows == 1  # NaN kept as undefined
    for _ in range(KEEP_LANDSCAPES + 3):
        a.record("srg", True, ["S1.gamma1p"], ROWS, points([[0.3, 0.3]]))
    assert a.count() == KEEP_LANDSCAPES
    a.clear()
    assert a.count() == 0 and a.best(ROWS) == []
