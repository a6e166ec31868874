"""Where explain's time goes on a GPU, and how it scales with the batch (run by scripts/gpu_check.sh).

Prints, per network, forward and explain (the default composite, fresh forward) in milliseconds at batch 1 and
16 with their ratio, then torch.profiler's top operators for one batch-1 explain of VGG16. Developer tool:
the figures go into the closing notes and the README's GPU paragraph.
"""

from __future__ import annotations

import statistics
import sys
import time

import torch
from torch.profiler import ProfilerActivity, profile

from vislrp.lrp import Engine, build_graph
from vislrp.lrp.canonizers import fold_batchnorm_modules
from vislrp.lrp.composites import COMPOSITES, DEFAULT_COMPOSITE
from vislrp.zoo import IMAGENET, load_model


def timed(fn, runs: int = 15) -> float:  # type: ignore[no-untyped-def]  # a developer script
    fn()
    times = []
    for _ in range(runs):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main(names: list[str]) -> None:
    for name in names:
        model = fold_batchnorm_modules(load_model(name, "none").module).cuda().eval()
        graph = build_graph(model, (3, 224, 224))
        low, high = IMAGENET.bounds()
        engine = Engine(graph, bounds=(low.cuda(), high.cuda()))
        design = COMPOSITES[DEFAULT_COMPOSITE].resolve(graph)
        for batch in (1, 16):
            x = torch.randn(batch, 3, 224, 224, device="cuda")
            with torch.no_grad():
                fwd_ms = timed(lambda: model(x))  # noqa: B023
            rows = [(i, 0) for i in range(batch)]
            exp_ms = timed(lambda: engine.explain(engine.forward(x, cache=False), design, rows))  # noqa: B023
            print(f"{name:20s} batch {batch:2d}: forward {fwd_ms:7.2f} ms, explain {exp_ms:7.2f} ms "
                  f"({exp_ms / fwd_ms:5.1f}x; {exp_ms / batch:6.2f} ms per image)", flush=True)
        if name == names[0]:
            x = torch.randn(1, 3, 224, 224, device="cuda")
            with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
                for _ in range(5):
                    engine.explain(engine.forward(x, cache=False), design, 0)
                torch.cuda.synchronize()
            print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=14), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or ["vgg16", "resnet50", "efficientnet_lite0"])
