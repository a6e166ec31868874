"""The Ray executor on a local Ray with 2 CPUs computes exactly what the local executor computes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from vislrp.analysis.metrics import MetricOptions
from vislrp.session import open_session
from vislrp.sweep import LocalExecutor, RayExecutor, Space, load_inputs, parse_axis, run_batch, run_sweep

ray = pytest.importorskip("ray")
LRP_TESTS = Path(__file__).resolve().parents[1] / "lrp"


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(LRP_TESTS)}})  # workers import lrp_nets too
    try:
        yield
    finally:
        ray.shutdown()


def test_sweep_and_batch_match_the_local_executor(local_ray: None, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("vislrp.sweep.driver.IMAGE_CHUNK", 2)  # several image chunks: several tasks per point
    torch.set_num_threads(1)  # the actors run one thread each: the same kernels, the same sums
    session = open_session("lrp_nets:factory", "none")
    inputs = load_inputs(session, ["sample:chelsea", "sample:coffee", "sample:rocket"])
    space = Space("epsilon-gamma-box", (parse_axis("S1.gamma1p=0,1"), parse_axis("S2.epsilon=0,0.5")))
    points = space.grid()
    options = MetricOptions(steps=3)
    seen: list[tuple[int, int]] = []
    local = run_sweep(session, space, points, inputs, ["srg", "sparseness"], tmp_path / "local.csv",
                      options=options, executor=LocalExecutor())
    remote = run_sweep(session, space, points, inputs, ["srg", "sparseness"], tmp_path / "ray.csv",
                       options=options, executor=RayExecutor(workers=2), point_chunk=1,
                       progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, 12) and seen[-1] == (12, 12) and len(seen) > 2  # results streamed in as tasks finished
    key = ["point", "image"]
    a = pd.read_csv(tmp_path / "local.csv").drop(columns="seconds").sort_values(key).reset_index(drop=True)
    b = pd.read_csv(tmp_path / "ray.csv").drop(columns="seconds").sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert local["best"] == remote["best"]

    design = space.design(session.graph, points[1])
    run_batch(session, design, inputs, ["sparseness"], tmp_path / "b-local", executor=LocalExecutor())
    run_batch(session, design, inputs, ["sparseness"], tmp_path / "b-ray", executor=RayExecutor(workers=2))
    # rows arrive in the order tasks finish: compare them in image order, whatever the row order was
    ta = pd.read_csv(tmp_path / "b-local" / "results.csv").drop(columns="seconds").sort_values("image")
    tb = pd.read_csv(tmp_path / "b-ray" / "results.csv").drop(columns="seconds").sort_values("image")
    ta, tb = ta.reset_index(drop=True), tb.reset_index(drop=True)
    pd.testing.assert_frame_equal(ta, tb, check_exact=True)
    for name in ta["relevance"]:
        np.testing.assert_array_equal(np.load(tmp_path / "b-local" / name), np.load(tmp_path / "b-ray" / name))
