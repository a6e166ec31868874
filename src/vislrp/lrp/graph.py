"""The layer graph: a CNN traced with torch.fx into the ordered list of layers that users segment.

Tracing gives one node per call, so a module used twice (EfficientNet's shared ReLU6) and every
residual add become separate layers. Canonicalisation (:mod:`vislrp.lrp.canonizers`) runs first:
BatchNorm folded into the preceding conv/linear, functional convs turned into modules, in-place ops
made pure, and zero padding in front of a conv attached to that conv.
"""

from __future__ import annotations

import copy
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from . import canonizers

RuleKind = Literal["weighted", "pass", "reshape", "route", "norm", "add"]


class UnsupportedLayerError(ValueError):
    """A layer for which vislrp has no relevance rule; raised when the graph is built, not mid-explain."""


class TraceError(ValueError):
    """A model that torch.fx cannot trace into a static graph."""


@dataclass(frozen=True)
class LayerKind:
    """How a node is shown (``kind``) and how relevance crosses it (``rule``)."""

    kind: str
    rule: RuleKind


_ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh,
                nn.Hardswish, nn.Hardtanh, nn.Softplus, nn.PReLU, nn.Mish, nn.CELU, nn.SELU)

_MODULE_KINDS: tuple[tuple[type[nn.Module] | tuple[type[nn.Module], ...], LayerKind], ...] = (
    (nn.Conv2d, LayerKind("Conv", "weighted")),
    (nn.Linear, LayerKind("Linear", "weighted")),
    ((nn.ReLU, nn.ReLU6), LayerKind("ReLU", "pass")),
    (_ACTIVATIONS, LayerKind("Activation", "pass")),
    ((nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d),
     LayerKind("MaxPool", "route")),
    ((nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d,
      nn.AdaptiveAvgPool3d), LayerKind("AvgPool", "norm")),
    ((nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d), LayerKind("BatchNorm", "pass")),
    ((nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout), LayerKind("Dropout", "pass")),
    (nn.Identity, LayerKind("Identity", "pass")),
    (nn.Flatten, LayerKind("Flatten", "reshape")),
    (nn.Unflatten, LayerKind("Reshape", "reshape")),
    ((nn.ZeroPad2d, nn.ConstantPad2d, nn.ZeroPad1d, nn.ConstantPad1d), LayerKind("Pad", "route")),
)

_FUNCTION_KINDS: dict[Callable[..., Any], LayerKind] = {
    F.relu: LayerKind("ReLU", "pass"),
    torch.relu: LayerKind("ReLU", "pass"),
    F.relu6: LayerKind("ReLU", "pass"),
    F.hardtanh: LayerKind("Activation", "pass"),
    F.leaky_relu: LayerKind("Activation", "pass"),
    F.gelu: LayerKind("Activation", "pass"),
    F.silu: LayerKind("Activation", "pass"),
    F.elu: LayerKind("Activation", "pass"),
    torch.sigmoid: LayerKind("Activation", "pass"),
    torch.tanh: LayerKind("Activation", "pass"),
    F.dropout: LayerKind("Dropout", "pass"),
    operator.add: LayerKind("Add", "add"),
    torch.add: LayerKind("Add", "add"),
    torch.flatten: LayerKind("Flatten", "reshape"),
    torch.reshape: LayerKind("Reshape", "reshape"),
    torch.cat: LayerKind("Concat", "route"),
    torch.concat: LayerKind("Concat", "route"),
    operator.getitem: LayerKind("Slice", "route"),
    F.max_pool2d: LayerKind("MaxPool", "route"),
    F.max_pool1d: LayerKind("MaxPool", "route"),
    F.adaptive_max_pool2d: LayerKind("MaxPool", "route"),
    F.avg_pool2d: LayerKind("AvgPool", "norm"),
    F.avg_pool1d: LayerKind("AvgPool", "norm"),
    F.adaptive_avg_pool2d: LayerKind("AvgPool", "norm"),
    F.adaptive_avg_pool1d: LayerKind("AvgPool", "norm"),
    torch.mean: LayerKind("AvgPool", "norm"),
    F.pad: LayerKind("Pad", "route"),
}

_METHOD_KINDS: dict[str, LayerKind] = {
    "view": LayerKind("Reshape", "reshape"),
    "reshape": LayerKind("Reshape", "reshape"),
    "flatten": LayerKind("Flatten", "reshape"),
    "squeeze": LayerKind("Reshape", "reshape"),
    "unsqueeze": LayerKind("Reshape", "reshape"),
    "contiguous": LayerKind("Identity", "pass"),
    "clone": LayerKind("Identity", "pass"),
    "relu": LayerKind("ReLU", "pass"),
    "sigmoid": LayerKind("Activation", "pass"),
    "add": LayerKind("Add", "add"),
    "mean": LayerKind("AvgPool", "norm"),
    "permute": LayerKind("Reshape", "route"),
    "transpose": LayerKind("Reshape", "route"),
}


def classify(node: fx.Node, gm: fx.GraphModule) -> LayerKind:
    """The kind and relevance rule of a tensor-producing node, or UnsupportedLayerError."""
    if node.op == "call_module":
        module = gm.get_submodule(str(node.target))
        for types, kind in _MODULE_KINDS:
            if isinstance(module, types):
                return kind
        raise UnsupportedLayerError(
            f"no LRP rule for module {node.target!r} of type {type(module).__name__}; "
            "supported layers: Conv2d, Linear, activations, pooling, BatchNorm, Dropout, Flatten, Pad"
        )
    if node.op == "call_function":
        function_kind = _FUNCTION_KINDS.get(node.target)  # type: ignore[arg-type]  # fx types targets as Target
        if function_kind is not None:
            if function_kind.rule == "add" and sum(isinstance(a, fx.Node) for a in node.args) < 2:
                return LayerKind("Add", "pass")  # x + constant: relevance follows the tensor
            return function_kind
        name = getattr(node.target, "__name__", str(node.target))
        raise UnsupportedLayerError(f"no LRP rule for function {name!r} at node {node.name!r}")
    if node.op == "call_method":
        method_kind = _METHOD_KINDS.get(str(node.target))
        if method_kind is not None:
            return method_kind
        raise UnsupportedLayerError(f"no LRP rule for tensor method {node.target!r} at node {node.name!r}")
    raise UnsupportedLayerError(f"unexpected node {node.name!r} ({node.op})")


@dataclass(eq=False)
class Layer:
    """One entry of the layer list: what the segment ruler shows and what propagation walks."""

    index: int
    name: str
    kind: str
    rule: RuleKind
    shape: tuple[int, ...]
    node: fx.Node = field(repr=False)
    inputs: tuple[fx.Node, ...] = field(repr=False)
    module: nn.Module | None = field(default=None, repr=False)
    pad: tuple[int, ...] | None = None
    """Zero padding that the traced model applies just before this conv, as F.pad takes it."""

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "name": self.name, "kind": self.kind, "shape": list(self.shape)}


@dataclass(eq=False)
class LayerGraph:
    """A canonicalised, traced CNN and its layer list."""

    gm: fx.GraphModule
    layers: list[Layer]
    input_node: fx.Node
    output_node: fx.Node
    input_shape: tuple[int, ...]
    folded_bn: bool

    @property
    def nonnegative(self) -> set[fx.Node]:
        """Nodes whose output is never negative (ReLU/ReLU6 outputs, and max-pools of them)."""
        cached = self.__dict__.get("_nonneg")
        if cached is None:
            cached = set()
            for layer in self.layers:
                if layer.kind == "ReLU" or (layer.kind in ("MaxPool", "Flatten", "Reshape", "Dropout", "Identity")
                                            and all(n in cached for n in layer.inputs)):
                    cached.add(layer.node)
            self.__dict__["_nonneg"] = cached
        return cached

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def weighted(self) -> list[Layer]:
        return [layer for layer in self.layers if layer.rule == "weighted"]

    @property
    def first_weighted(self) -> Layer | None:
        """The layer that takes the ZBox input rule: the first conv/linear, if it reads the image."""
        for layer in self.layers:
            if layer.rule == "weighted":
                return layer if layer.inputs == (self.input_node,) else None
        return None

    def table(self) -> list[dict[str, Any]]:
        return [layer.as_dict() for layer in self.layers]

    def run(self, x: torch.Tensor) -> dict[fx.Node, Any]:
        """Forward pass that keeps every node's output (the activations LRP needs)."""
        interp = fx.Interpreter(self.gm, garbage_collect_values=False)
        interp.run(x)
        return interp.env

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.gm(x)
        return out


def build_graph(model: nn.Module, input_shape: tuple[int, ...] = (3, 224, 224), *,
                fold_bn: bool = True) -> LayerGraph:
    """Trace ``model`` (a copy; the caller's model is never changed) into a :class:`LayerGraph`."""
    source = copy.deepcopy(model).eval()
    try:
        gm = fx.symbolic_trace(source)
    except Exception as exc:  # torch.fx raises many types for dynamic control flow
        raise TraceError(f"torch.fx could not trace {type(model).__name__}: {exc}") from exc
    param = next(source.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None else torch.float32

    canonizers.make_pure(gm)
    canonizers.functional_to_modules(gm)
    if fold_bn:
        canonizers.fold_batchnorm(gm)
    gm.graph.eliminate_dead_code()
    gm.recompile()

    sample = torch.zeros((1, *input_shape), device=device, dtype=dtype)
    with torch.no_grad():
        ShapeProp(gm).propagate(sample)

    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    outputs = [n for n in gm.graph.nodes if n.op == "output"]
    if len(placeholders) != 1:
        raise TraceError(f"the model must take exactly one input tensor, it takes {len(placeholders)}")
    out_arg = outputs[0].args[0]
    if not isinstance(out_arg, fx.Node):
        raise TraceError("the model must return a single tensor of class scores")
    input_node = placeholders[0]

    pads = canonizers.conv_pads(gm)
    layers: list[Layer] = []
    seen_targets: dict[str, int] = {}
    for node in gm.graph.nodes:
        if node.op not in ("call_module", "call_function", "call_method"):
            continue
        meta = node.meta.get("tensor_meta")
        if not hasattr(meta, "shape"):
            continue  # sizes, tuples and other non-tensor values are evaluated but not layers
        if node in pads.skipped:
            continue
        kind = classify(node, gm)
        module = gm.get_submodule(str(node.target)) if node.op == "call_module" else None
        inputs = tuple(n for n in node.all_input_nodes if hasattr(n.meta.get("tensor_meta"), "shape"))
        pad = pads.pads.get(node)
        if pad is not None:
            inputs = (pads.sources[node],)
        base = str(node.target) if node.op == "call_module" else _scoped_name(node)
        count = seen_targets.get(base, 0)
        seen_targets[base] = count + 1
        name = base if count == 0 else f"{base}#{count + 1}"
        layers.append(Layer(len(layers), name, kind.kind, kind.rule, tuple(meta.shape[1:]), node, inputs,
                            module, pad))
    if not layers or layers[-1].node is not out_arg:
        raise TraceError("the model's output must be produced by its last layer")
    return LayerGraph(gm, layers, input_node, out_arg, tuple(input_shape), fold_bn)


def _scoped_name(node: fx.Node) -> str:
    """A readable name for a function node: its enclosing module path plus the op (e.g. ``layer1.0.add``)."""
    stack = node.meta.get("nn_module_stack")
    op = node.name.rstrip("0123456789").rstrip("_") or node.name
    if stack:
        scope = list(stack.values())[-1]
        path = scope[0] if isinstance(scope, tuple) else str(scope)
        if path:
            return f"{path}.{op}"
    return op


def run_from(graph: LayerGraph, env: dict[fx.Node, Any], node: fx.Node, value: torch.Tensor) -> torch.Tensor:
    """The graph's output when ``node`` outputs ``value`` (B, ...) and every other node keeps its output in ``env``.

    ``env`` holds one forward's activations (batch 1, as :meth:`LayerGraph.run` returns them). Only the
    nodes that depend on ``node`` run again, plus the cheap non-tensor ones (``x.size(0)``) so they see
    the new batch; the others (the layers before it, a skip connection that bypasses it) are read from
    ``env`` and repeated along the batch. This is what makes an ablation at a late layer cheap: the
    expensive early convolutions are not recomputed.
    """
    nodes = list(graph.gm.graph.nodes)
    position = {n: i for i, n in enumerate(nodes)}
    downstream = {node}
    batched = set()  # nodes whose value has the batch dimension (everything computed from the input)
    for n in nodes:
        if n.op == "placeholder" or any(a in batched for a in n.all_input_nodes):
            batched.add(n)
        if position[n] > position[node] and any(a in downstream for a in n.all_input_nodes):
            downstream.add(n)
    last_use: dict[fx.Node, int] = {}
    for n in nodes:
        for a in n.all_input_nodes:
            last_use[a] = position[n]
    batch = value.shape[0]
    values: dict[fx.Node, Any] = {node: value}

    def lookup(a: fx.Node) -> Any:
        if a in values:
            return values[a]
        cached = env[a]
        if a in batched and isinstance(cached, torch.Tensor) and cached.dim() > 0 and cached.shape[0] == 1 \
                and batch > 1:
            cached = cached.expand(batch, *cached.shape[1:]).contiguous()
            values[a] = cached
        return cached

    result: Any = None
    with torch.no_grad():
        for n in nodes:
            if n is node or n.op in ("placeholder", "get_attr"):
                continue
            if n.op != "output" and n not in downstream and (isinstance(env.get(n), torch.Tensor) or n not in batched):
                continue  # read from env when a later node needs it
            args = fx.node.map_arg(n.args, lookup)
            kwargs = fx.node.map_arg(n.kwargs, lookup)
            if n.op == "output":
                result = args[0]
                break
            if n.op == "call_module":
                values[n] = graph.gm.get_submodule(str(n.target))(*args, **kwargs)
            elif n.op == "call_function":
                values[n] = n.target(*args, **kwargs)
            else:
                values[n] = getattr(args[0], str(n.target))(*args[1:], **kwargs)
            for a in n.all_input_nodes:  # free what no later node reads
                if last_use.get(a) == position[n] and a is not node:
                    values.pop(a, None)
    if not isinstance(result, torch.Tensor):
        raise ValueError(f"node {node.name!r} does not reach the graph's output")
    return result
