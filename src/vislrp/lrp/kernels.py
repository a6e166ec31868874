"""Tensor kernels the rules are built from: a layer's forward with other weights, its transposed pass,
weight transforms, and the small shape helpers. No LRP logic lives here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

from .graph import Layer

Weighted = nn.Conv2d | nn.Linear


def transform_weight(w: torch.Tensor, g0: float, g1: float, g1p: float, g1n: float, g2: float) -> torch.Tensor | None:
    """γ0 + γ1·w + γ1p·w⁺ + γ1n·w⁻ + γ2·w²: ``w`` itself for the identity, None when all are zero."""
    if g0 == g1 == g1p == g1n == g2 == 0:
        return None
    if g0 == 0 and g1 == 1 and g1p == 0 and g1n == 0 and g2 == 0:
        return w
    # the linear part in place on one new tensor: γ1·w + γ1p·w⁺ + γ1n·w⁻ = (γ1 + γ1n)·w + (γ1p − γ1n)·w⁺
    pos, neg = g1 + g1p, g1 + g1n
    if pos == neg:
        out = w * pos if pos != 0 else torch.zeros_like(w)
    else:
        out = w.clamp(min=0).mul_(pos - neg)
        if neg:
            out.add_(w, alpha=neg)
    if g2:
        out.addcmul_(w, w, value=g2)
    if g0:
        out.add_(g0)
    return out.contiguous()


def apply(module: Weighted, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
    """The layer's forward with weight ``w`` and bias ``b`` (a modified forward of Eq. 5)."""
    if isinstance(module, nn.Conv2d):
        return F.conv2d(x, w, b, module.stride, module.padding, module.dilation, module.groups)
    return F.linear(x, w, b)


def apply_t(module: Weighted, in_shape: Sequence[int], w: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """The transposed layer: Σ_j w_ij s_j for every input i (the input-gradient of Σ_j z_j s_j).

    For stride-1 convs this is an ordinary convolution with the kernel flipped and its channel axes
    swapped (padding d·(k−1) − p), which oneDNN runs as fast as the forward; its backward-data kernel is
    up to 5× slower on some shapes (e.g. 1×1 convs that widen, as in ResNet bottlenecks).
    """
    if isinstance(module, nn.Conv2d):
        flipped = _flipped_kernel(module, w)
        if flipped is not None:
            return conv_t_flipped(module, *flipped, s)
        if w.shape[2:] == (1, 1) and tuple(module.padding) == (0, 0) and module.groups == 1:
            # strided 1×1 (ResNet downsampling): a 1×1 conv at the output grid, scattered onto the input grid
            sh, sw = module.stride
            y = F.conv2d(s, _transposed_1x1(w))
            out = s.new_zeros((s.shape[0], *in_shape[1:]))
            out[:, :, : y.shape[2] * sh: sh, : y.shape[3] * sw: sw] = y
            return out
        grad_input: torch.Tensor = torch.nn.grad.conv2d_input(  # type: ignore[attr-defined]  # torch.nn.grad is not re-exported
            list(in_shape), w, s, module.stride, module.padding, module.dilation, module.groups)
        return grad_input
    return s @ w


def _transposed_1x1(w: torch.Tensor) -> torch.Tensor:
    wt = getattr(w, "_vislrp_t1x1", None)
    if wt is None:
        wt = w.transpose(0, 1).contiguous()
        w._vislrp_t1x1 = wt  # type: ignore[attr-defined]  # cache on the weight tensor: same lifetime
    return wt


def flipped_padding(module: nn.Conv2d) -> tuple[int, int] | None:
    """The padding of the layer's transposed pass as a stride-1 conv with the flipped kernel; None when that
    pass is not such a conv (strided, non-zero padding modes, string paddings)."""
    if tuple(module.stride) != (1, 1) or module.padding_mode != "zeros" or isinstance(module.padding, str):
        return None
    kh, kw = module.kernel_size
    dh, dw = module.dilation
    padding = (dh * (kh - 1) - module.padding[0], dw * (kw - 1) - module.padding[1])
    return None if padding[0] < 0 or padding[1] < 0 else padding


def flip_kernel(module: nn.Conv2d, w: torch.Tensor) -> torch.Tensor:
    """``w`` flipped spatially with its channel axes swapped (per group): the transposed pass's kernel. The
    weight transforms are element-wise, so they commute with this permutation."""
    g = module.groups
    cout, cin_g, kh, kw = w.shape
    return (w.flip(2, 3).reshape(g, cout // g, cin_g, kh, kw).transpose(1, 2)
            .reshape(g * cin_g, cout // g, kh, kw).contiguous())


def conv_t_flipped(module: nn.Conv2d, wt: torch.Tensor, padding: tuple[int, int], s: torch.Tensor) -> torch.Tensor:
    """The transposed pass of a stride-1 conv, given its flipped kernel (see :func:`flip_kernel`)."""
    return F.conv2d(s, wt, None, 1, padding, module.dilation, module.groups)


def _flipped_kernel(module: nn.Conv2d, w: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]] | None:
    """The kernel of the transposed stride-1 conv, cached on the weight tensor itself (same lifetime)."""
    padding = flipped_padding(module)
    if padding is None:
        return None
    wt = getattr(w, "_vislrp_flipped", None)
    if wt is None:
        wt = flip_kernel(module, w)
        w._vislrp_flipped = wt  # type: ignore[attr-defined]  # cache on the weight tensor: same lifetime
    return wt, padding


def bias_view(bias: torch.Tensor, out: torch.Tensor, module: nn.Module | None = None) -> torch.Tensor:
    """A per-channel bias shaped to broadcast over a layer output: along axis 1 of a conv's output, along the
    last axis of a linear layer's (which may carry tokens before it)."""
    if isinstance(module, nn.Linear):
        return bias.view(*([1] * (out.dim() - 1)), -1)
    return bias.view(1, -1, *([1] * (out.dim() - 2)))


def crop(t: torch.Tensor, pad: tuple[int, ...]) -> torch.Tensor:
    return F.pad(t, [-p for p in pad])


def sum_to(t: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """Undo broadcasting: sum ``t`` over the axes where ``shape`` has size 1."""
    if t.shape == shape:
        return t
    dims = [i for i, (a, b) in enumerate(zip(t.shape, shape, strict=True)) if a != b]
    return t.sum(dim=dims, keepdim=True)


def row_sums(t: torch.Tensor) -> torch.Tensor:
    """Σ over everything but the row axis, as float64 (summed in the tensor's own dtype: PyTorch's pairwise
    float32 sum is accurate to ~1e-7 relative and some 80× faster than converting every element)."""
    return t.reshape(t.shape[0], -1).sum(1).to(torch.float64)


def is_maxpool2d(layer: Layer) -> bool:
    return isinstance(layer.module, nn.MaxPool2d) or layer.node.target is F.max_pool2d


def maxpool_indices(layer: Layer, x: torch.Tensor) -> torch.Tensor:
    if isinstance(layer.module, nn.MaxPool2d):
        m = layer.module
        _, idx = F.max_pool2d(x, m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode, return_indices=True)
        return idx
    args = list(layer.node.args[1:])
    kwargs = dict(layer.node.kwargs)
    kwargs["return_indices"] = True
    _, idx = F.max_pool2d(x, *args, **kwargs)  # type: ignore[call-overload]  # fx arguments, as traced
    return idx  # type: ignore[no-any-return]  # fx arguments make the call untyped


def vjp(layer: Layer, env: dict[fx.Node, Any], inputs: list[torch.Tensor], grad: torch.Tensor
        ) -> tuple[torch.Tensor | None, ...]:
    """Jᵀ·grad of the layer's op at ``inputs`` (rows of the original inputs)."""
    node = layer.node
    leaves = [t.detach().requires_grad_(True) for t in inputs]
    lookup = dict(zip(layer.inputs, leaves, strict=True))

    def resolve(n: fx.Node) -> Any:
        return lookup[n] if n in lookup else env[n]

    args = fx.node.map_arg(node.args, resolve)
    kwargs = fx.node.map_arg(node.kwargs, resolve)
    with torch.enable_grad():
        if node.op == "call_module":
            assert layer.module is not None
            y = layer.module(*args, **kwargs)
        elif node.op == "call_function":
            y = node.target(*args, **kwargs)  # type: ignore[operator]  # an fx call_function target is callable
        else:
            y = getattr(args[0], str(node.target))(*args[1:], **kwargs)
        grads = torch.autograd.grad(y, leaves, grad, allow_unused=True)
    return tuple(grads)


def digest(x: torch.Tensor) -> str:
    """Content hash of a tensor: the forward cache's key (same pixels, same forward)."""
    t = x.detach().contiguous().cpu()
    h = hashlib.blake2b(digest_size=16)
    h.update(str((tuple(t.shape), t.dtype)).encode())
    h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def nbytes(t: Any) -> int:
    """Memory of a tensor (0 for anything else): what the bounded caches count."""
    return t.numel() * t.element_size() if isinstance(t, torch.Tensor) else 0
