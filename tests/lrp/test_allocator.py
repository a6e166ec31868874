"""The malloc settings keep freed activation memory for reuse: repeated explain-sized work stops faulting pages in.

Counted in page faults (the kernel's count for the process), not in time, so the check is exact and quiet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# Five explains of a small CNN whose activations (64 x 224 x 224, 12.8 MB) are as large as VGG16's first
# layers', after three that warm up: the pattern the settings are for.
_PROBE = """
import json, resource, torch
from vislrp.lrp.allocator import keep_freed_memory
from torch import nn
from vislrp.lrp import Engine, build_graph
from vislrp.lrp.composites import COMPOSITES, DEFAULT_COMPOSITE
torch.manual_seed(0)
net = nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
                    nn.MaxPool2d(2), nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                    nn.Flatten(), nn.Linear(128, 10)).eval()
graph = build_graph(net, (3, 224, 224))
engine = Engine(graph, bounds=(torch.full((1, 3, 1, 1), -3.0), torch.full((1, 3, 1, 1), 3.0)))
design = COMPOSITES[DEFAULT_COMPOSITE].resolve(graph)
x = torch.randn(1, 3, 224, 224)
def explain():
    engine.explain(engine.forward(x, cache=False), design, 0)
for _ in range(3):
    explain()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    explain()
after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
print(json.dumps({"applied": keep_freed_memory(), "faults_per_explain": (after - before) / 5}))
"""

PAGES = 64 * 224 * 224 * 4 // 4096
"""Pages of one first-layer activation."""


def _probe(**env: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True,
                         env={**os.environ, **env}, timeout=120)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the settings are glibc's")
def test_freed_blocks_are_reused_instead_of_faulted_in_again() -> None:
    kept = _probe(VISLRP_MALLOC="")  # the suite's conftest opts out; an empty value is the default (kept)
    plain = _probe(VISLRP_MALLOC="default")
    assert kept["applied"] is True and plain["applied"] is False
    # glibc's own settings give the activations back after every explain and fault them in again
    assert plain["faults_per_explain"] > 4 * PAGES
    assert kept["faults_per_explain"] < PAGES  # a few hundred at most: far below one activation
