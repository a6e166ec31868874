"""The Python API: the README's notebook snippet runs as written, and its results are the engine's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
import torchvision
from zennit.attribution import Gradient

import vislrp
from vislrp.lrp import Engine, build_graph
from vislrp.lrp.composites import get_composite
from vislrp.zoo import IMAGENET

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_snippet_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = README.read_text()
    match = re.search(r"<!-- notebook-snippet -->\s*```python\n(.*?)```", text, re.S)
    assert match, "the README lost its notebook snippet"
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(match.group(1), "README.md", "exec"), namespace)
    e, x = namespace["e"], namespace["x"]
    assert e.relevance.shape == x.shape and torch.isfinite(e.relevance).all()
    assert (tmp_path / "heatmap.png").is_file()


@pytest.fixture(scope="module")
def resnet() -> torch.nn.Module:
    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None).eval()


def test_explain_equals_the_engine_and_leaves_the_model_alone(resnet: torch.nn.Module) -> None:
    before = {k: v.clone() for k, v in resnet.state_dict().items()}
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    e = vislrp.explain(resnet, x, target=[3, 7], composite="epsilon-plus-flat")
    assert e.targets == [3, 7] and e.relevance.shape == x.shape
    graph = build_graph(resnet, (3, 64, 64))
    engine = Engine(graph, bounds=IMAGENET.bounds())
    fwd = engine.forward(x)
    ref = engine.explain(fwd, get_composite("epsilon-plus-flat").resolve(graph), [(0, 3), (1, 7)])
    assert torch.equal(e.relevance, ref.input_relevance)
    assert torch.equal(e.layers["layer4.1.conv2"], e.layers[graph.layers[[la.name for la in graph.layers].index(
        "layer4.1.conv2")].index])
    assert all(torch.equal(before[k], v) for k, v in resnet.state_dict().items())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in resnet.modules())  # not folded in the user's model
    top = vislrp.explain(resnet, x[:1])
    assert top.targets == [int(resnet(x[:1]).argmax())]
    with pytest.raises(ValueError, match="targets for 2 images"):
        vislrp.explain(resnet, x, target=[1])
    with pytest.raises(KeyError, match="no layer named"):
        e.layers["nope"]


@pytest.mark.slow
def test_to_zennit_reproduces_a_three_segment_mix_on_resnet18(resnet: torch.nn.Module) -> None:
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    graph = build_graph(resnet, (3, 64, 64))
    n = graph.n_layers
    design = {"name": "mix", "include_bias": True, "segments": [
        {"start": 0, "end": n // 3, "rule": {"gamma1": 0, "gamma1p": 1, "epsilon": 1e-6}},
        {"start": n // 3 + 1, "end": 2 * n // 3, "rule": {"alpha": 2, "beta": 1, "gamma1": 0, "gamma1p": 1,
                                                           "gamma1n": 1, "epsilon": 1e-6}},
        {"start": 2 * n // 3 + 1, "end": n - 1, "rule": {"epsilon": 0.1}}]}
    ours = vislrp.explain(resnet, x, target=5, composite=design).relevance[0]
    composite = vislrp.to_zennit(design, resnet, input_shape=(3, 64, 64))
    model = __import__("copy").deepcopy(resnet)
    with Gradient(model, composite) as attributor:
        out, _ = attributor(x, torch.eye(1000)[[5]])
        start = torch.zeros_like(out)
        start[0, 5] = out[0, 5]
        _, rel = attributor(x, start)
    err = float((ours - rel[0]).abs().max() / rel[0].abs().max())
    assert err <= 1e-4, err
