"""The sweep table's summary does not depend on the order in which rows arrived."""

from __future__ import annotations

import json
import math

import pandas as pd

from vislrp.sweep.table import best_points


def test_best_means_do_not_depend_on_row_order() -> None:
    # float sums depend on order: 0.1 + 0.2 + 0.3 != 0.3 + 0.2 + 0.1 in binary floating point
    assert (0.1 + 0.2) + 0.3 != (0.3 + 0.2) + 0.1
    point = json.dumps({"S1.gamma1p": 0.25})
    rows = [{"point": point, "image": f"img{i}", "target": 1, "sparseness": v}
            for i, v in enumerate([0.1, 0.2, 0.3])]
    forward = best_points(pd.DataFrame(rows), ["S1.gamma1p"], ["sparseness"])
    backward = best_points(pd.DataFrame(rows[::-1]), ["S1.gamma1p"], ["sparseness"])
    assert forward == backward
    assert math.isclose(forward["sparseness"][0]["mean"], 0.2, rel_tol=1e-15)


def test_best_points_rank_by_the_metric_direction() -> None:
    rows = [{"point": json.dumps({"a": a}), "image": "x", "target": 0, "sparseness": s}
            for a, s in [(0, 0.2), (1, 0.9), (2, 0.5), (3, 0.1)]]
    best = best_points(pd.DataFrame(rows), ["a"], ["sparseness"])["sparseness"]
    assert [b["params"]["a"] for b in best] == [1, 2, 0]  # higher sparseness is better
