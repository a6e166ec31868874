"""Graph rewrites that put a traced CNN into the form the LRP rules expect.

Each works on a private torch.fx copy of the user's model (:func:`vislrp.lrp.graph.build_graph` deep-
copies first), so nothing here can leak into the caller's model.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import cast

import torch
import torch.nn.functional as F
from torch import fx, nn

Pair = tuple[int, int]

_INPLACE_MODULES = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.Hardtanh, nn.SiLU, nn.Hardswish, nn.Dropout,
                    nn.Dropout2d, nn.Mish, nn.CELU, nn.SELU, nn.Threshold)


def make_pure(gm: fx.GraphModule) -> None:
    """Switch off in-place ops: LRP keeps every activation, and ``ReLU(inplace=True)`` would overwrite the
    conv output that the relevance pass divides by."""
    for module in gm.modules():
        if isinstance(module, _INPLACE_MODULES) and getattr(module, "inplace", False):
            module.inplace = False
    for node in gm.graph.nodes:
        if node.op == "call_function" and node.kwargs.get("inplace"):
            node.kwargs = {**node.kwargs, "inplace": False}


def _set_module(gm: fx.GraphModule, qualname: str, module: nn.Module) -> None:
    """Replace the module at ``qualname``, keeping the old one's children (e.g. the 'same' padding module
    that EfficientNet's conv owns and the graph still calls)."""
    parent_name, _, leaf = qualname.rpartition(".")
    parent = gm.get_submodule(parent_name) if parent_name else gm
    old = getattr(parent, leaf, None)
    if isinstance(old, nn.Module):
        for child_name, child in old.named_children():
            if not hasattr(module, child_name):
                module.add_module(child_name, child)
    setattr(parent, leaf, module)


def _attr(gm: fx.GraphModule, arg: object) -> torch.Tensor | None:
    if arg is None:
        return None
    if isinstance(arg, fx.Node) and arg.op == "get_attr":
        value = gm
        for part in str(arg.target).split("."):
            value = getattr(value, part)
        return value  # type: ignore[return-value]  # an fx attribute is a tensor here
    raise ValueError("not a parameter")


def functional_to_modules(gm: fx.GraphModule) -> None:
    """Turn ``F.conv2d(x, self.weight, ...)``/``F.linear`` calls on parameters into Conv2d/Linear modules.

    Models such as EfficientNet's "same padding" convs call the functional op inside a custom module;
    as modules they get the same treatment as torchvision's convs (BN folding, rules, names).
    """
    for node in list(gm.graph.nodes):
        if node.op != "call_function" or node.target not in (F.conv2d, F.linear):
            continue
        args = list(node.args) + [None] * 7
        kw = node.kwargs
        try:
            weight = _attr(gm, kw.get("weight", args[1]))
            bias = _attr(gm, kw.get("bias", args[2]))
        except ValueError:
            continue  # weights computed at run time: leave it, classify() will name it
        assert weight is not None
        owner = str(node.args[1].target).rpartition(".")[0] or node.name
        if node.target is F.conv2d:
            stride = kw.get("stride", args[3] if args[3] is not None else 1)
            padding = kw.get("padding", args[4] if args[4] is not None else 0)
            dilation = kw.get("dilation", args[5] if args[5] is not None else 1)
            groups = kw.get("groups", args[6] if args[6] is not None else 1)
            kernel = cast(Pair, tuple(weight.shape[2:]))
            module: nn.Conv2d | nn.Linear = nn.Conv2d(weight.shape[1] * groups, weight.shape[0], kernel,
                                          stride=stride, padding=padding, dilation=dilation, groups=groups,
                                          bias=bias is not None, device=weight.device, dtype=weight.dtype)
        else:
            module = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None,
                               device=weight.device, dtype=weight.dtype)
        with torch.no_grad():
            module.weight.copy_(weight)
            if bias is not None and module.bias is not None:
                module.bias.copy_(bias)
        module.requires_grad_(False)
        _set_module(gm, owner, module)
        with gm.graph.inserting_after(node):
            new = gm.graph.call_module(owner, (node.args[0],))
        new.meta = dict(node.meta)
        node.replace_all_uses_with(new)
        gm.graph.erase_node(node)
    gm.graph.lint()
    gm.delete_all_unused_submodules()


def fold_batchnorm(gm: fx.GraphModule) -> None:
    """Fold each BatchNorm into the conv/linear right before it: W' = W·g/√(σ²+eps), b' = (b−μ)·g/√(σ²+eps) + β.

    Done in float64 so that the folded network's logits match the original to rounding.
    """
    for node in list(gm.graph.nodes):
        if node.op != "call_module":
            continue
        bn = gm.get_submodule(str(node.target))
        if not isinstance(bn, (nn.BatchNorm1d, nn.BatchNorm2d)) or bn.running_mean is None:
            continue
        prev = node.args[0]
        if not (isinstance(prev, fx.Node) and prev.op == "call_module" and len(prev.users) == 1):
            continue
        layer = gm.get_submodule(str(prev.target))
        if not isinstance(layer, (nn.Conv2d, nn.Linear)):
            continue
        # A conv module called more than once cannot be rewritten for just one call.
        if sum(1 for n in gm.graph.nodes if n.op == "call_module" and n.target == prev.target) > 1:
            continue
        w = layer.weight.detach().double()
        b = layer.bias.detach().double() if layer.bias is not None else torch.zeros(w.shape[0], dtype=w.dtype,
                                                                                      device=w.device)
        var = bn.running_var.detach().double()  # type: ignore[union-attr]  # tracked BN layers have running stats
        mean = bn.running_mean.detach().double()
        g = bn.weight.detach().double() if bn.weight is not None else torch.ones_like(var)
        beta = bn.bias.detach().double() if bn.bias is not None else torch.zeros_like(var)
        scale = g / torch.sqrt(var + bn.eps)
        folded = copy_with_params(layer, w * scale.view(-1, *([1] * (w.dim() - 1))), (b - mean) * scale + beta)
        _set_module(gm, str(prev.target), folded)
        node.replace_all_uses_with(prev)
        gm.graph.erase_node(node)
    gm.graph.lint()
    gm.delete_all_unused_submodules()


def copy_with_params(layer: nn.Conv2d | nn.Linear, weight: torch.Tensor, bias: torch.Tensor) -> nn.Module:
    """A copy of a conv/linear layer with new parameters (always with a bias), in the layer's dtype."""
    dtype, device = layer.weight.dtype, layer.weight.device
    if isinstance(layer, nn.Conv2d):
        # a Conv2d's sizes are pairs, which torch's stubs type as tuple[int, ...]
        new: nn.Conv2d | nn.Linear = nn.Conv2d(
            layer.in_channels, layer.out_channels, cast(Pair, layer.kernel_size), stride=cast(Pair, layer.stride),
            padding=cast("str | Pair", layer.padding), dilation=cast(Pair, layer.dilation), groups=layer.groups,
            bias=True, padding_mode=layer.padding_mode, device=device, dtype=dtype)
    else:
        new = nn.Linear(layer.in_features, layer.out_features, bias=True, device=device, dtype=dtype)
    with torch.no_grad():
        new.weight.copy_(weight.to(dtype))
        assert new.bias is not None
        new.bias.copy_(bias.to(dtype))
    new.requires_grad_(False)
    return new


@dataclass
class ConvPads:
    """Zero pads that feed exactly one conv: the conv takes them over so that LRP sees the real input."""

    pads: dict[fx.Node, tuple[int, ...]] = field(default_factory=dict)
    sources: dict[fx.Node, fx.Node] = field(default_factory=dict)
    skipped: set[fx.Node] = field(default_factory=set)


def _zero_pad_spec(node: fx.Node, gm: fx.GraphModule) -> tuple[int, ...] | None:
    if node.op == "call_module":
        m = gm.get_submodule(str(node.target))
        if isinstance(m, (nn.ZeroPad2d, nn.ConstantPad2d)) and float(getattr(m, "value", 0.0)) == 0.0:
            return tuple(int(p) for p in m.padding)
    if node.op == "call_function" and node.target is F.pad:
        mode = node.kwargs.get("mode", node.args[2] if len(node.args) > 2 else "constant")
        value = node.kwargs.get("value", node.args[3] if len(node.args) > 3 else 0.0)
        pad = node.kwargs.get("pad", node.args[1] if len(node.args) > 1 else None)
        if mode == "constant" and (value is None or value == 0) and isinstance(pad, (tuple, list)):
            return tuple(int(p) for p in pad)
    return None


def conv_pads(gm: fx.GraphModule) -> ConvPads:
    """Find zero-pad nodes whose only user is a Conv2d (TF-style 'same' padding)."""
    out = ConvPads()
    for node in gm.graph.nodes:
        if node.op != "call_module" or not isinstance(gm.get_submodule(str(node.target)), nn.Conv2d):
            continue
        src = node.args[0]
        if not isinstance(src, fx.Node) or len(src.users) != 1:
            continue
        spec = _zero_pad_spec(src, gm)
        if spec is None or len(spec) != 4 or not isinstance(src.args[0], fx.Node):
            continue
        out.pads[node] = spec
        out.sources[node] = src.args[0]
        out.skipped.add(src)
    return out


def fold_batchnorm_modules(model: nn.Module) -> nn.Module:
    """Fold each BatchNorm2d into the Conv2d defined just before it (module order) and replace it by Identity.

    In place, on a plain module tree rather than a traced graph. The benchmark uses it so that vislrp and
    zennit run the very same float32 forward: two independent folds differ by rounding, and near-zero
    residual sums turn that into visible differences in the proportional split.
    """
    previous: nn.Conv2d | None = None
    with torch.no_grad():
        for parent in list(model.modules()):
            for name, child in list(parent.named_children()):
                if isinstance(child, nn.Conv2d):
                    previous = child
                elif isinstance(child, nn.BatchNorm2d) and previous is not None and child.running_var is not None:
                    assert child.running_mean is not None
                    g = child.weight.double() if child.weight is not None else torch.ones_like(child.running_var)
                    beta = child.bias.double() if child.bias is not None else torch.zeros_like(g)
                    scale = g / torch.sqrt(child.running_var.double() + child.eps)
                    bias = previous.bias.double() if previous.bias is not None else torch.zeros_like(scale)
                    previous.weight.copy_((previous.weight.double() * scale.view(-1, 1, 1, 1)).to(previous.weight))
                    previous.bias = nn.Parameter(((bias - child.running_mean.double()) * scale + beta)
                                                 .to(previous.weight.dtype), requires_grad=False)
                    setattr(parent, name, nn.Identity())
                    previous = None
    return model


class AttentionError(ValueError):
    """A ``MultiheadAttention`` call that :func:`split_attention` cannot write out as explicit layers."""


def split_attention(gm: fx.GraphModule) -> None:
    """Write each self-attention ``nn.MultiheadAttention`` call out as the layers LRP rules need.

    ``y, _ = mha(x, x, x)`` becomes::

        q, k, v = q_proj(x), k_proj(x), v_proj(x)          # Linear layers (the in-projection, split)
        q_h = q.unflatten(-1, (H, d)).transpose(1, 2) * d**-0.5   # (B, H, T, d)
        scores = q_h @ k_h.transpose(-2, -1)                 # bilinear product (B, H, T, T)
        A = softmax(scores, -1)                              # Softmax layer
        o = A @ v_h                                          # bilinear product (B, H, T, d): axis 1 = heads
        y = out_proj(o.transpose(1, 2).flatten(2))           # Linear layer

    so the projections take the unified formula like any linear layer, the two products and the softmax
    get the transformer rules (:mod:`vislrp.lrp.tokens`), and the heads are the channel axis of ``o``.
    The arithmetic is the module's own (eval mode: no dropout); the rewritten graph's output matches it to
    float rounding.
    """
    graph = gm.graph
    for node in list(graph.nodes):
        if node.op != "call_module":
            continue
        module = gm.get_submodule(str(node.target))
        if not isinstance(module, nn.MultiheadAttention):
            continue
        _check_attention(node, module)
        x = node.args[0]
        assert isinstance(x, fx.Node)
        heads, dim = module.num_heads, module.embed_dim
        head_dim = dim // heads
        base = str(node.target)
        assert module.in_proj_weight is not None
        w_q, w_k, w_v = module.in_proj_weight.detach().chunk(3)
        b_q, b_k, b_v = (module.in_proj_bias.detach().chunk(3) if module.in_proj_bias is not None
                         else (None, None, None))
        for name, w, b in (("q_proj", w_q, b_q), ("k_proj", w_k, b_k), ("v_proj", w_v, b_v)):
            linear = nn.Linear(dim, dim, bias=b is not None).to(w)
            with torch.no_grad():
                linear.weight.copy_(w)
                if b is not None:
                    linear.bias.copy_(b)
            linear.requires_grad_(False)
            module.add_module(name, linear)
        out_proj = nn.Linear(dim, dim, bias=module.out_proj.bias is not None).to(module.out_proj.weight)
        out_proj.load_state_dict(module.out_proj.state_dict())  # a plain Linear (not the quantizable subclass)
        out_proj.requires_grad_(False)
        module.out_proj = out_proj  # type: ignore[assignment]  # a Linear subclass in torch's annotation

        def named(n: fx.Node, label: str, base: str = base) -> fx.Node:
            n.meta["vislrp_name"] = f"{base}.{label}"
            return n

        with graph.inserting_before(node):
            q = named(graph.call_module(f"{base}.q_proj", (x,)), "q_proj")
            k = named(graph.call_module(f"{base}.k_proj", (x,)), "k_proj")
            v = named(graph.call_module(f"{base}.v_proj", (x,)), "v_proj")
            split = {p: named(graph.call_method("unflatten", (t, -1, (heads, head_dim))), f"{p}_split")
                     for p, t in (("q", q), ("k", k), ("v", v))}
            q_h = named(graph.call_method("transpose", (split["q"], 1, 2)), "q_heads")
            q_s = named(graph.call_function(operator.mul, (q_h, float(head_dim) ** -0.5)), "q_scaled")
            k_t = named(graph.call_method("permute", (split["k"], 0, 2, 3, 1)), "k_heads")
            v_h = named(graph.call_method("transpose", (split["v"], 1, 2)), "v_heads")
            scores = named(graph.call_function(torch.matmul, (q_s, k_t)), "scores")
            attn = named(graph.call_function(F.softmax, (scores,), {"dim": -1}), "softmax")
            heads_out = named(graph.call_function(torch.matmul, (attn, v_h)), "heads")
            tokens_first = named(graph.call_method("transpose", (heads_out, 1, 2)), "heads_t")
            merged = named(graph.call_method("flatten", (tokens_first, 2)), "merge_heads")
            out = named(graph.call_module(f"{base}.out_proj", (merged,)), "out_proj")
        for user in list(node.users):
            if user.op == "call_function" and user.target is operator.getitem and user.args[1] == 0:
                user.replace_all_uses_with(out)
            graph.erase_node(user)
        graph.erase_node(node)
    gm.recompile()


def _check_attention(node: fx.Node, module: nn.MultiheadAttention) -> None:
    """Only what :func:`split_attention` writes out exactly: batch-first self-attention without masks."""
    name = str(node.target)
    args = list(node.args) + [None] * (3 - len(node.args))
    query, key, value = (node.kwargs.get(k, a) for k, a in zip(("query", "key", "value"), args[:3], strict=True))
    problems = []
    if not (isinstance(query, fx.Node) and query is key is value):
        problems.append("it is not self-attention (query, key and value are different tensors)")
    if not module.batch_first:
        problems.append("it is not batch_first")
    if not module._qkv_same_embed_dim or module.bias_k is not None or module.add_zero_attn:
        problems.append("it has separate q/k/v projections, bias_k/bias_v or add_zero_attn")
    extra = [a for a in node.args[3:] if a is not None]
    masks = [k for k in ("key_padding_mask", "attn_mask") if node.kwargs.get(k) is not None]
    if extra or masks or node.kwargs.get("is_causal"):
        problems.append("it is called with a mask")
    bad_users = [u for u in node.users if not (u.op == "call_function" and u.target is operator.getitem
                                                and (u.args[1] == 0 or not u.users))]
    if bad_users:
        problems.append("its attention weights are used")
    if problems:
        raise AttentionError(f"MultiheadAttention {name!r} cannot be explained: {'; '.join(problems)}")
