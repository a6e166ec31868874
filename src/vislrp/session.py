"""A loaded network ready to explain: zoo model, layer graph and engine, plus input loading.

The CLI, the server and the benchmark all start here, so a model is traced, canonicalised and
cached the same way everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .lrp import Engine, LayerGraph, LRPModel, Segment, ZBoxRule, build_graph, get_preset
from .zoo import ImageError, ZooModel, load_image, load_model, load_sample

SAMPLE_PREFIX = "sample:"


@dataclass(eq=False)
class Session:
    zoo: ZooModel
    graph: LayerGraph
    engine: Engine

    def load_input(self, spec: str | Path) -> torch.Tensor:
        """Model input (3,H,W) from an image file, a preprocessed ``.npy`` array or ``sample:NAME``."""
        text = str(spec)
        if text.startswith(SAMPLE_PREFIX):
            return self.zoo.preprocess(load_sample(text.removeprefix(SAMPLE_PREFIX)))
        path = Path(text)
        if path.suffix.lower() == ".npy":
            return load_array(path, self.graph.input_shape)
        return self.zoo.preprocess(load_image(path))

    def default_lrp_model(self) -> LRPModel:
        """The composite LRP users start from: ZBox on the image, z⁺ on the convs, ε on the dense top."""
        return default_composite(self.graph)


def default_composite(graph: LayerGraph) -> LRPModel:
    """ZBox input rule, LRP-z⁺ up to the last conv, LRP-ε over the rest (the classifier head), bias included.

    The recipe of Montavon et al. (2019) and zennit's EpsilonPlus. z⁺ rather than γ because γ (ε = 0)
    divides by near-zero sums on networks with linear bottlenecks such as EfficientNet, where relevance
    explodes; z⁺ sums only positive contributions, so it stays stable there and on VGG/ResNet alike.
    """
    n = graph.n_layers
    convs = [layer.index for layer in graph.layers if layer.kind == "Conv"]
    split = convs[-1] + 1 if convs and convs[-1] + 1 < n else n
    zplus = get_preset("z-plus")
    eps = get_preset("epsilon")
    segments = [Segment(start=0, end=split - 1, preset="z-plus", rule=zplus.params.model_copy(
        update={"epsilon": 1e-6}))]
    if split < n:
        segments.append(Segment(start=split, end=n - 1, preset="epsilon", rule=eps.params))
    return LRPModel(name="Composite (ZBox, z⁺, ε)", include_bias=True,
                    input_rule=ZBoxRule() if graph.first_weighted is not None else None, segments=segments)


def load_array(path: Path, shape: tuple[int, ...]) -> torch.Tensor:
    """A preprocessed model input saved with numpy, checked for shape and finiteness."""
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ImageError(f"cannot read array {path}: {exc}") from None
    if arr.ndim == 4 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 3 or arr.shape[0] != shape[0]:
        raise ImageError(f"array {path} has shape {arr.shape}; expected ({shape[0]}, H, W)")
    if not np.isfinite(arr).all():
        raise ImageError(f"array {path} contains NaN or infinite values")
    return torch.from_numpy(arr.astype(np.float32))


def open_session(model: str, weights: str = "default", *, fold_bn: bool = True,
                 device: str | torch.device = "cpu") -> Session:
    """Load a zoo model and trace it; the engine's ZBox bounds come from the model's preprocessing."""
    zoo = load_model(model, weights)
    zoo.module.to(device)
    size = zoo.input_size
    graph = build_graph(zoo.module, (3, size, size), fold_bn=fold_bn)
    low, high = zoo.preprocess.bounds()
    engine = Engine(graph, bounds=(low.to(device), high.to(device)))
    return Session(zoo, graph, engine)
