"""The layer graph: a CNN traced with torch.fx into the ordered list of layers that users segment.

Tracing gives one node per call, so a module used twice (EfficientNet's shared ReLU6) and every
residual add become separate layers. Canonicalisation (:mod:`vislrp.lrp.canonizers`) runs first:
BatchNorm folded into the preceding conv/linear, functional convs turned into modules, in-place ops
made pure, and zero padding in front of a conv attached to that conv.
"""

from __future__ import annotations

import copy
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp, TensorMetadata

from . import canonizers

RuleKind = Literal["weighted", "pass", "reshape", "route", "norm", "add", "layernorm", "softmax", "bilinear"]


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
    (nn.LayerNorm, LayerKind("LayerNorm", "layernorm")),
    (nn.Softmax, LayerKind("Softmax", "softmax")),
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
    F.softmax: LayerKind("Softmax", "softmax"),
    torch.softmax: LayerKind("Softmax", "softmax"),
    torch.matmul: LayerKind("MatMul", "bilinear"),
    operator.matmul: LayerKind("MatMul", "bilinear"),
    torch.bmm: LayerKind("MatMul", "bilinear"),
    operator.mul: LayerKind("Scale", "pass"),
    torch.mul: LayerKind("Scale", "pass"),
    F.layer_norm: LayerKind("LayerNorm", "layernorm"),
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
    "unflatten": LayerKind("Reshape", "reshape"),
    "expand": LayerKind("Expand", "route"),
    "softmax": LayerKind("Softmax", "softmax"),
    "mul": LayerKind("Scale", "pass"),
    "matmul": LayerKind("MatMul", "bilinear"),
}


def classify(node: fx.Node, gm: fx.GraphModule, constants: frozenset[fx.Node] | set[fx.Node] = frozenset()
             ) -> LayerKind:
    """The kind and relevance rule of a tensor-producing node, or UnsupportedLayerError.

    ``constants`` are the nodes that do not depend on the input (parameters such as a class token); a
    product with one of them is a scaling, a product of two activations has no rule here.
    """
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
            _check_scale(node, function_kind, constants)
            return function_kind
        name = getattr(node.target, "__name__", str(node.target))
        raise UnsupportedLayerError(f"no LRP rule for function {name!r} at node {node.name!r}")
    if node.op == "call_method":
        method_kind = _METHOD_KINDS.get(str(node.target))
        if method_kind is not None:
            _check_scale(node, method_kind, constants)
            return method_kind
        raise UnsupportedLayerError(f"no LRP rule for tensor method {node.target!r} at node {node.name!r}")
    raise UnsupportedLayerError(f"unexpected node {node.name!r} ({node.op})")


def _check_scale(node: fx.Node, kind: LayerKind, constants: frozenset[fx.Node] | set[fx.Node]) -> None:
    if kind.kind == "Scale" and sum(isinstance(a, fx.Node) and a not in constants for a in node.args) > 1:
        raise UnsupportedLayerError(f"no LRP rule for the element-wise product of two activations at node "
                                    f"{node.name!r} (gating); only products with a constant are supported")


def _constants(gm: fx.GraphModule) -> set[fx.Node]:
    """Tensor nodes that do not depend on the input: parameters (get_attr) and what is computed from them
    alone (a class token expanded to the batch). They are not layers; relevance that reaches them is
    absorbed, like the relevance a bias takes, and the accounting says so."""
    live: set[fx.Node] = set()
    constants: set[fx.Node] = set()
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            live.add(node)
        elif node.op == "get_attr":
            constants.add(node)
        elif node.op in ("call_module", "call_function", "call_method"):
            if not isinstance(node.meta.get("tensor_meta"), TensorMetadata):
                continue  # sizes and tuples: not tensors (x.shape[0] reads the input but carries no relevance)
            tensors = [n for n in node.all_input_nodes if n in live or n in constants]
            if any(n in live for n in tensors):
                live.add(node)
            elif tensors:
                constants.add(node)
    return constants


_BLOCK = re.compile(r"(?:^|\.)(?:encoder_layer_|(?:layers|blocks|layer|h)\.)(\d+)(?:\.|#|$)")
"""A transformer block in a module path: torchvision's ``encoder_layer_3``, timm's ``blocks.3``, HF's ``layer.3``."""


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

    @property
    def block(self) -> int | None:
        """The index of the repeated block (a transformer's encoder block) the layer belongs to, read off its
        module path (``encoder.layers.encoder_layer_3.mlp.0`` → 3); None outside such blocks."""
        match = _BLOCK.search(self.name)
        return int(match.group(1)) if match else None

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "name": self.name, "kind": self.kind, "shape": list(self.shape),
                "block": self.block}


@dataclass(frozen=True)
class TokenGrid:
    """How a transformer's token axis maps onto the image: ``prefix`` tokens (the class token) and then the
    patches row by row, ``height`` × ``width`` of them."""

    height: int
    width: int
    prefix: int

    @property
    def tokens(self) -> int:
        return self.height * self.width + self.prefix

    def token_axis(self, shape: tuple[int, ...]) -> int | None:
        """The first axis of a layer's output (without the batch) that runs over the tokens, if any."""
        if len(shape) < 2:
            return None
        return next((i for i, n in enumerate(shape) if n == self.tokens), None)


_MAX_PREFIX = 8
"""Tokens in front of the patches that a token grid allows (a class token, register tokens)."""


@dataclass(eq=False)
class LayerGraph:
    """A canonicalised, traced CNN and its layer list."""

    gm: fx.GraphModule
    layers: list[Layer]
    input_node: fx.Node
    output_node: fx.Node
    input_shape: tuple[int, ...]
    folded_bn: bool
    constants: frozenset[fx.Node] = frozenset()
    """Nodes that do not depend on the input (class token, position embedding): relevance there is absorbed."""

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
    def token_grid(self) -> TokenGrid | None:
        """The patch grid of a vision transformer: the first conv's (h, w) output grid when a later layer has
        h·w tokens (plus up to a few in front) on an axis of its own; None for CNNs."""
        if "_grid" not in self.__dict__:
            grid = None
            for i, layer in enumerate(self.layers):
                if layer.kind != "Conv" or len(layer.shape) != 3:
                    continue
                n = layer.shape[1] * layer.shape[2]
                # the most tokens any later (tokens, features) layer has: the sequence once the class token is
                # in front (the layers right after the conv hold the patches alone)
                counts = [later.shape[0] for later in self.layers[i + 1:]
                          if len(later.shape) == 2 and n <= later.shape[0] <= n + _MAX_PREFIX]
                if counts and n > 1:
                    grid = TokenGrid(layer.shape[1], layer.shape[2], max(counts) - n)
                break
            self.__dict__["_grid"] = grid
        cached: TokenGrid | None = self.__dict__["_grid"]
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
    gm.graph.eliminate_dead_code()
    try:
        canonizers.split_attention(gm)
    except canonizers.AttentionError as exc:
        raise UnsupportedLayerError(str(exc)) from None
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
    constants = _constants(gm)
    layers: list[Layer] = []
    seen_targets: dict[str, int] = {}
    for node in gm.graph.nodes:
        if node.op not in ("call_module", "call_function", "call_method"):
            continue
        meta = node.meta.get("tensor_meta")
        if not hasattr(meta, "shape"):
            continue  # sizes, tuples and other non-tensor values are evaluated but not layers
        if node in pads.skipped or node in constants:
            continue
        kind = classify(node, gm, constants)
        module = gm.get_submodule(str(node.target)) if node.op == "call_module" else None
        inputs = tuple(n for n in node.all_input_nodes if hasattr(n.meta.get("tensor_meta"), "shape"))
        if kind.rule == "pass":  # the input that relevance follows comes first, a constant factor after it
            inputs = tuple(sorted(inputs, key=lambda n: n in constants))
        pad = pads.pads.get(node)
        if pad is not None:
            inputs = (pads.sources[node],)
        base = node.meta.get("vislrp_name") or (str(node.target) if node.op == "call_module" else _scoped_name(node))
        count = seen_targets.get(base, 0)
        seen_targets[base] = count + 1
        name = base if count == 0 else f"{base}#{count + 1}"
        layers.append(Layer(len(layers), name, kind.kind, kind.rule, tuple(meta.shape[1:]), node, inputs,
                            module, pad))
    if not layers or layers[-1].node is not out_arg:
        raise TraceError("the model's output must be produced by its last layer")
    return LayerGraph(gm, layers, input_node, out_arg, tuple(input_shape), fold_bn, frozenset(constants))


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
