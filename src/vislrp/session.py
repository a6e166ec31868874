"""A loaded network ready to explain: zoo model, layer graph and engine, plus input loading.

The CLI, the server and the benchmark all start here, so a model is traced, canonicalised and
cached the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .lrp import Engine, LayerGraph, LRPModel, build_graph
from .lrp.composites import default_model
from .zoo import ImageError, ZooModel, load_image, load_model, load_sample

SAMPLE_PREFIX = "sample:"
DIGITS_PREFIX = "digits:"  # digits:I, test digit I of scikit-learn's 8x8 digits (zoo.images.load_sample)


@dataclass(eq=False)
class Session:
    zoo: ZooModel
    graph: LayerGraph
    engine: Engine

    def load_input(self, spec: str | Path) -> torch.Tensor:
        """Model input (3,H,W) from an image file, a preprocessed ``.npy`` array, ``sample:NAME`` or
        ``digits:I`` (test digit I, as ``sample:digits:I``)."""
        text = str(spec)
        if text.startswith(SAMPLE_PREFIX):
            return self.zoo.preprocess(load_sample(text.removeprefix(SAMPLE_PREFIX)))
        if text.startswith(DIGITS_PREFIX):
            return self.zoo.preprocess(load_sample(text))
        path = Path(text)
        if path.suffix.lower() == ".npy":
            return load_array(path, self.graph.input_shape)
        return self.zoo.preprocess(load_image(path))

    def default_lrp_model(self) -> LRPModel:
        """The default composite of the registry (:data:`vislrp.lrp.composites.DEFAULT_COMPOSITE`)."""
        return default_model(self.graph)


def load_array(path: Path, shape: tuple[int, ...]) -> torch.Tensor:
    """A preprocessed model input saved with numpy, checked for shape and finiteness."""
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ImageError(f"cannot read array {path}: {exc}") from None
    if arr.dtype.kind not in "fiu":
        raise ImageError(f"array {path} has dtype {arr.dtype}; expected real numbers (float or integer)")
    if arr.ndim == 4 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 3 or arr.shape[0] != shape[0]:
        raise ImageError(f"array {path} has shape {arr.shape}; expected ({shape[0]}, H, W)")
    if not np.isfinite(arr).all():
        raise ImageError(f"array {path} contains NaN or infinite values")
    return torch.from_numpy(arr.astype(np.float32))


def open_session(model: str, weights: str = "default", *, fold_bn: bool = True,
                 device: str | torch.device = "cpu", state: Mapping[str, torch.Tensor] | None = None) -> Session:
    """Load a zoo model and trace it; the engine's ZBox bounds come from the model's preprocessing.

    ``state``: a state dict loaded over the built network (how Ray workers get the driver's weights
    from the object store instead of reading files that exist only on the driver's machine).
    """
    zoo = load_model(model, weights)
    if state is not None:
        zoo.module.load_state_dict(state)
    zoo.module.to(device)
    size = zoo.input_size
    graph = build_graph(zoo.module, (3, size, size), fold_bn=fold_bn)
    low, high = zoo.preprocess.bounds()
    engine = Engine(graph, bounds=(low.to(device), high.to(device)))
    return Session(zoo, graph, engine)
