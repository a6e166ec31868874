"""Recommendation reasons, win counts and ranking on hand-made scores (no network): the sentences users read."""

from __future__ import annotations

from vislrp.lrp import LRPModel
from vislrp.lrp.composites import DEFAULT_COMPOSITE
from vislrp.sweep.recommend import Candidate, rank, reason, wins


def cand(origin: str, **values: list[float | None]) -> Candidate:
    source = "composite" if not origin.startswith("landscape") else "landscape"
    model = LRPModel.model_validate({"name": origin, "segments": [{"start": 0, "end": 0, "preset": "lrp-0"}]})
    return Candidate(source, origin, model, dict(values))  # type: ignore[arg-type]


def test_wins_count_rows_where_a_design_is_best_in_the_metrics_direction() -> None:
    a = cand("a", srg=[0.9, 0.1, 0.5], complexity=[3.0, 2.0, None])
    b = cand("b", srg=[0.8, 0.2, 0.5], complexity=[2.0, 2.0, 4.0])
    c = cand("c", srg=[None, 0.0, 0.4], complexity=[2.5, 3.0, 5.0])
    assert wins([a, b, c], "srg", 3) == [2, 2, 0]  # row 3 is a tie between a and b: both win it
    assert wins([a, b, c], "complexity", 3) == [1, 3, 0]  # lower complexity is better; row 2 is a tie


def test_the_issue_example_reads_as_written() -> None:
    # 7 rows: the sweep point has the highest SRG on 5 of them and is sparser than the default
    default = cand(DEFAULT_COMPOSITE, srg=[0.5] * 7, sparseness=[0.4] * 7)
    point = cand("landscape #1", srg=[0.9] * 5 + [0.1] * 2, sparseness=[0.6] * 7)
    other = cand("epsilon-plus", srg=[0.1] * 5 + [0.95] * 2, sparseness=[0.4] * 7)
    won = wins([default, point, other], "srg", 7)
    assert won == [0, 5, 2]
    text = reason("srg", 1, won[1], 7, point, default, ["srg", "sparseness"])
    assert text == "highest SRG on 5 of 7 rows; more faithful (SRG) and sparser than the default"


def test_reasons_name_losses_ties_and_the_default_itself() -> None:
    default = cand(DEFAULT_COMPOSITE, sparseness=[0.4, 0.4], complexity=[9.0, 9.0])
    sparse_but_complex = cand("x", sparseness=[0.7, 0.7], complexity=[10.0, 10.0])
    same = cand("y", sparseness=[0.4001, 0.3999], complexity=[9.0, 9.0])
    assert reason("sparseness", 1, 2, 2, sparse_but_complex, default, ["sparseness", "complexity"]) == (
        "highest sparseness on 2 of 2 rows; sparser than the default, but more complex")
    assert reason("sparseness", 3, 0, 2, same, default, ["sparseness", "complexity"]) == (
        "3rd by mean sparseness, best on no single row; on a par with the default")
    assert reason("complexity", 1, 1, 1, default, default, ["complexity"]) == (
        "lowest complexity on the row; the default composite")


def test_rank_orders_by_mean_and_puts_undefined_last() -> None:
    default = cand(DEFAULT_COMPOSITE, complexity=[9.0, 8.0])
    low = cand("low", complexity=[5.0, 6.0])
    undefined = cand("none", complexity=[None, None])
    mid = cand("mid", complexity=[8.0, 8.0])
    [block] = rank([default, low, undefined, mid], ["complexity"], 2, 5)
    assert [p.candidate.origin for p in block.picks] == ["low", "mid", DEFAULT_COMPOSITE]  # undefined: left out
    assert [p.rank for p in block.picks] == [1, 2, 3]
    assert block.picks[0].candidate.mean("complexity") == 5.5 and block.picks[0].wins == 2
