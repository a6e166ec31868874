"""A real faithfulness check on the default network and the sample photos: flipping in relevance order.

Measured (20 steps, 8×8 patches, zero fill; see docs/designer.md): with the default composite, MoRF
beats LeRF on every photo, and beats random on average, but not on every photo (chelsea and coffee
lose more score to random patches). The test asserts what holds, so a regression in the engine or in
the curves shows up.
"""

from __future__ import annotations

import pytest

from vislrp.analysis import ORDERS, flip_curve
from vislrp.zoo import list_samples


@pytest.mark.slow
def test_morf_beats_lerf_everywhere_and_random_on_average() -> None:
    from vislrp.session import open_session

    s = open_session("efficientnet_lite0")
    model = s.default_lrp_model()
    black = s.zoo.preprocess.bounds()[0]
    results: dict[str, dict[str, float]] = {}
    for name in list_samples(digits=False):
        fwd = s.engine.forward(s.load_input(f"sample:{name}"))
        target = fwd.topk(1)[0][0]
        heatmap = s.engine.explain(fwd, model, target, keep_layers=False).heatmap(0)
        results[name] = {o: flip_curve(s.graph.gm, fwd.x[0], heatmap, target, o, steps=10, patch=8,  # type: ignore[arg-type]
                                       black=black).aopc for o in ORDERS}
    print(results)
    assert len(results) >= 4
    assert all(r["morf"] > r["lerf"] for r in results.values()), results
    mean = {o: sum(r[o] for r in results.values()) / len(results) for o in ORDERS}
    assert mean["morf"] > mean["random"] > mean["lerf"], mean
