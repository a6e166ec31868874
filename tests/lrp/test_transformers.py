"""Vision transformers: CP-LRP and AttnLRP equal LXT 2.1 (gradient × input with its patches) and a float64
reference written here from the AttnLRP paper's equations; relevance taken by the class token and the
position embedding is in the accounting.

LXT is a test dependency only; its patches change torch's classes, so every use restores them.
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Iterator

import pytest
import torch
import torchvision
from torch import nn

from vislrp.lrp.composites import ATTNLRP, COMPOSITES, CP_LRP, composites_for
from vislrp.lrp.design import LRPModel, parse_model
from vislrp.lrp.graph import UnsupportedLayerError, build_graph
from vislrp.lrp.propagate import Engine

lxt_patches = pytest.importorskip("lxt.efficient.patches")
lxt_rules = pytest.importorskip("lxt.efficient.rules")


def small_vit(seed: int = 0, *, layers: int = 2, dtype: torch.dtype = torch.float64) -> nn.Module:
    """A torchvision ViT with every parameter random (torchvision zeroes the head, the biases and the class
    token)."""
    torch.manual_seed(seed)
    model = torchvision.models.VisionTransformer(image_size=32, patch_size=4, num_layers=layers, num_heads=4,
                                                 hidden_dim=32, mlp_dim=64, num_classes=10).eval()
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 1:
                p.normal_(0, 0.1)
        model.heads.head.weight.normal_(0, 0.1)
        model.class_token.normal_(0, 0.5)
    return model.to(dtype)


@contextlib.contextmanager
def lxt_patched(attention: str) -> Iterator[None]:
    """LXT's rules on torchvision's ViT modules: its cp_LRP map, or AttnLRP's uniform rule on the attention
    inputs (LXT's own divide_gradient: q and k by 4, v by 2, as its HF attention wrapper does)."""
    saved = {cls: cls.forward for cls in (nn.GELU, nn.LayerNorm, nn.MultiheadAttention)}

    def attnlrp_forward(self: nn.MultiheadAttention, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                        *args: object, **kwargs: object) -> object:
        divide = lxt_rules.divide_gradient
        return self.original_forward(divide(query, 4), divide(key, 4), divide(value, 2), *args, **kwargs)

    try:
        lxt_patches.patch_method(lxt_patches.non_linear_forward, nn.GELU, keep_original=True)
        lxt_patches.patch_method(lxt_patches.layer_norm_forward, nn.LayerNorm)
        mha = lxt_patches.cp_multi_head_attention_forward if attention == "cp" else attnlrp_forward
        lxt_patches.patch_method(mha, nn.MultiheadAttention, keep_original=True)
        yield
    finally:
        for cls, forward in saved.items():
            cls.forward = forward  # type: ignore[method-assign]  # undoing LXT's monkey patch


def lxt_relevance(model: nn.Module, x: torch.Tensor, target: int, attention: str) -> torch.Tensor:
    model = copy.deepcopy(model)
    for p in model.parameters():
        p.requires_grad_(False)  # only the input's gradient is needed: no weight gradients (ViT-B: 690 MB)
    with lxt_patched(attention):
        xi = x.clone().requires_grad_(True)
        model(xi)[0, target].backward()
    assert xi.grad is not None
    return (xi * xi.grad)[0].detach()


def rel_linf(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).abs().max() / b.double().abs().max())


def explain(model: nn.Module, x: torch.Tensor, composite: str, size: int = 32) -> tuple[torch.Tensor, int, object]:
    graph = build_graph(model, (3, size, size))
    engine = Engine(graph)
    fwd = engine.forward(x)
    target = int(fwd.logits.argmax())
    ex = engine.explain(fwd, COMPOSITES[composite].resolve(graph), target)
    return ex.input_relevance[0], target, ex


@pytest.mark.parametrize("composite,attention", [(CP_LRP, "cp"), (ATTNLRP, "attnlrp")])
@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-6), (torch.float32, 1e-4)])
def test_small_vit_equals_lxt(composite: str, attention: str, dtype: torch.dtype, tol: float) -> None:
    model = small_vit(dtype=dtype)
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1), dtype=torch.float64).to(dtype)
    ours, target, _ = explain(model, x, composite)
    ref = lxt_relevance(model, x, target, attention)
    assert rel_linf(ours, ref) <= tol


def test_cp_and_attnlrp_differ() -> None:
    """The attention rule matters: the two composites give different maps on the same network."""
    model = small_vit()
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    cp, _, _ = explain(model, x, CP_LRP)
    attn, _, _ = explain(model, x, ATTNLRP)
    assert rel_linf(cp, attn) > 1e-2


@pytest.mark.slow
def test_vit_b_16_cp_lrp_equals_lxt() -> None:
    """torchvision's vit_b_16 with random weights (head randomised: torchvision zeroes it), float64.

    In float32 the layer-wise quotients R/z at LayerNorm outputs and at the position-embedding add near zero
    amplify rounding to ~2e-3 relative L∞, where gradient × input stays at ~2e-6; float64 shows the rules
    are the same.
    """
    torch.manual_seed(0)
    model = torchvision.models.vit_b_16(weights=None).eval()
    nn.init.normal_(model.heads.head.weight, std=0.02)
    model = model.double()
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ours, target = explain(model, x, CP_LRP, 224)[:2]  # our graph, engine and forward are freed before LXT runs
    assert rel_linf(ours, lxt_relevance(model, x, target, "cp")) <= 1e-6


# ------------------------------------------------------------------------------- float64 reference (AttnLRP)


class AttentionNet(nn.Module):
    """Tokens in, one self-attention block with a residual, a head on the first token."""

    def __init__(self, dim: int = 8, heads: int = 2, tokens: int = 5, classes: int = 3) -> None:
        super().__init__()
        self.attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.head = nn.Linear(dim, classes)
        self.tokens = tokens

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.attention(x, x, x, need_weights=False)
        return self.head((x + y)[:, 0])


def reference_attnlrp(net: AttentionNet, x: torch.Tensor, target: int, uniform: bool) -> torch.Tensor:
    """The AttnLRP paper's equations, written out in float64 for one block (LRP-0 on the projections, bias in z).

    Linear z = Wa + b: R_a = a ⊙ Wᵀ(R/z). Product z = A·v: R_A = ½ A ⊙ (S vᵀ), R_v = ½ v ⊙ (Aᵀ S), S = R/z
    (CP-LRP: R_v = v ⊙ (Aᵀ S), R_A = 0). Softmax s = softmax(x): R_x = x ⊙ (R − s Σ R).
    """
    mha = net.attention
    d, h = mha.embed_dim, mha.num_heads
    hd = d // h
    x0 = x[0]  # (T, d)
    assert mha.in_proj_weight is not None and mha.in_proj_bias is not None
    wq, wk, wv = mha.in_proj_weight.chunk(3)
    bq, bk, bv = mha.in_proj_bias.chunk(3)

    def lin_lrp(a: torch.Tensor, w: torch.Tensor, b: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        z = a @ w.T + b
        return a * ((r / z) @ w)

    q, k, v = x0 @ wq.T + bq, x0 @ wk.T + bk, x0 @ wv.T + bv
    qh = q.view(-1, h, hd).transpose(0, 1) / math.sqrt(hd)
    kh = k.view(-1, h, hd).transpose(0, 1)
    vh = v.view(-1, h, hd).transpose(0, 1)
    scores = qh @ kh.transpose(1, 2)
    attn = scores.softmax(-1)
    heads = attn @ vh  # (h, T, hd)
    merged = heads.transpose(0, 1).reshape(-1, d)
    y = merged @ mha.out_proj.weight.T + mha.out_proj.bias
    s_sum = x0 + y
    logits = s_sum[0] @ net.head.weight.T + net.head.bias
    # head (LRP-0 with bias) on token 0
    r_logits = torch.zeros_like(logits)
    r_logits[target] = logits[target]
    r_tok0 = lin_lrp(s_sum[0], net.head.weight, net.head.bias, r_logits)
    r_sum = torch.zeros_like(s_sum)
    r_sum[0] = r_tok0
    r_x = x0 * r_sum / s_sum  # residual add: proportional
    r_y = y * r_sum / s_sum
    r_merged = lin_lrp(merged, mha.out_proj.weight, mha.out_proj.bias, r_y)
    r_heads = r_merged.view(-1, h, hd).transpose(0, 1)
    s = r_heads / heads
    share = 0.5 if uniform else 1.0
    r_vh = share * vh * (attn.transpose(1, 2) @ s)
    r_q = torch.zeros_like(q)
    r_k = torch.zeros_like(k)
    if uniform:
        r_attn = 0.5 * attn * (s @ vh.transpose(1, 2))
        r_scores = scores * (r_attn - attn * r_attn.sum(-1, keepdim=True))
        s2 = r_scores / scores
        r_qh = 0.5 * qh * (s2 @ kh)
        r_kh = 0.5 * kh * (s2.transpose(1, 2) @ qh)
        r_q = r_qh.transpose(0, 1).reshape(-1, d)
        r_k = r_kh.transpose(0, 1).reshape(-1, d)
    r_v = r_vh.transpose(0, 1).reshape(-1, d)
    r_in = (lin_lrp(x0, wq, bq, r_q) if uniform else 0) + (lin_lrp(x0, wk, bk, r_k) if uniform else 0)
    return r_x + r_in + lin_lrp(x0, wv, bv, r_v)


@pytest.mark.parametrize("attention", ["cp", "attnlrp"])
def test_attention_block_equals_float64_reference(attention: str) -> None:
    torch.manual_seed(3)
    net = AttentionNet().double().eval()
    with torch.no_grad():
        for p in net.parameters():
            if p.dim() == 1:
                p.normal_(0, 0.2)
    x = torch.randn(1, 5, 8, dtype=torch.float64)
    graph = build_graph(net, (5, 8))
    engine = Engine(graph)
    fwd = engine.forward(x)
    target = int(fwd.logits.argmax())
    model = LRPModel.single(graph.n_layers, "lrp-0", include_bias=True)
    model = model.model_copy(update={"segments": [s.model_copy(update={"attention": attention})
                                                  for s in model.segments]})
    ours = engine.explain(fwd, model, target).input_relevance[0]
    with torch.no_grad():
        ref = reference_attnlrp(net, x, target, uniform=attention == "attnlrp")
    assert rel_linf(ours, ref) <= 1e-10


# ------------------------------------------------------------------------------- graph, accounting, contract


def test_vit_layers_heads_and_constants() -> None:
    model = small_vit(layers=3)
    graph = build_graph(model, (3, 32, 32))
    kinds = [layer.kind for layer in graph.layers]
    assert kinds.count("LayerNorm") == 3 * 2 + 1
    assert kinds.count("Softmax") == 3
    assert kinds.count("MatMul") == 3 * 2
    heads = [layer for layer in graph.layers if layer.name.endswith("self_attention.heads")]
    assert [layer.shape for layer in heads] == [(4, 65, 8)] * 3  # heads on the channel axis
    names = {str(n.target) for n in graph.constants}
    assert {"class_token", "encoder.pos_embedding"} <= names
    assert all(layer.node not in graph.constants for layer in graph.layers)


def test_class_token_and_position_embedding_are_accounted() -> None:
    """CP-LRP with ε = 0: what reaches the input plus what biases, β, class token and position embedding
    absorb is the start relevance (the softmax gets nothing under CP-LRP), layer by layer."""
    model = small_vit()
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    _, _, ex = explain(model, x, CP_LRP)
    acc = ex.accounting()  # type: ignore[attr-defined]
    bias = sum(a.bias for a in acc.absorbed) * acc.start
    assert abs(acc.final + bias - acc.start) <= 1e-9 * abs(acc.start)
    cls_cat = next(f for f, name in zip(ex.flow, ex.layer_names, strict=True) if name == "cat")  # type: ignore[attr-defined]
    pos_add = next(f for f, name in zip(ex.flow, ex.layer_names, strict=True) if name == "encoder.add")  # type: ignore[attr-defined]
    assert cls_cat.bias is not None and float(cls_cat.bias[0].abs()) > 0
    assert pos_add.bias is not None and float(pos_add.bias[0].abs()) > 0


def test_cross_attention_is_refused_clearly() -> None:
    class Cross(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attention = nn.MultiheadAttention(8, 2, batch_first=True)
            self.head = nn.Linear(8, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y, _ = self.attention(x, x * 2, x, need_weights=False)
            return self.head(y[:, 0])

    with pytest.raises(UnsupportedLayerError, match="not self-attention"):
        build_graph(Cross(), (4, 8))


def test_transformer_composites_offered_only_for_transformers() -> None:
    vit = build_graph(small_vit(dtype=torch.float32), (3, 32, 32))
    cnn = build_graph(torchvision.models.resnet18(weights=None), (3, 32, 32))
    vit_names = {c.name for c in composites_for(vit)}
    cnn_names = {c.name for c in composites_for(cnn)}
    assert {CP_LRP, ATTNLRP, f"{CP_LRP}-gamma", f"{ATTNLRP}-gamma"} <= vit_names
    assert not cnn_names & {CP_LRP, ATTNLRP}
    model = COMPOSITES[ATTNLRP].resolve(vit)
    assert {s.attention for s in model.segments} == {"attnlrp"}
    assert model.include_bias


def test_contract_version_1_still_loads() -> None:
    old = {"name": "old", "segments": [{"start": 0, "end": 3, "rule": {"epsilon": 0.1}}]}
    model = parse_model(old)
    assert model.version == 2 and model.segments[0].attention == "cp" and model.segments[0].layernorm == "constant-std"
    assert parse_model({**old, "version": 1}).segments[0].rule.epsilon == 0.1
    with pytest.raises(ValueError, match="version"):
        parse_model({**old, "version": 3})
    with pytest.raises(ValueError, match="attention"):
        parse_model({"name": "x", "segments": [{"start": 0, "end": 1, "attention": "softmax"}]})


def test_zennit_export_refuses_transformers_clearly() -> None:
    from vislrp.lrp.design import ConfigError
    from vislrp.lrp.zennit_export import zennit_code

    graph = build_graph(small_vit(dtype=torch.float32), (3, 32, 32))
    with pytest.raises(ConfigError, match="zennit has no rules for LayerNorm, MatMul, Softmax"):
        zennit_code(COMPOSITES[CP_LRP].resolve(graph), graph)


def test_token_maps_lie_on_the_patch_grid() -> None:
    """Token layers' maps are the patch tokens' relevance (summed over features) on the 8×8 grid, the class
    token apart; the grid's prefix is the class token even where hidden size = patch count (64 here)."""
    torch.manual_seed(0)
    model = torchvision.models.VisionTransformer(image_size=32, patch_size=4, num_layers=1, num_heads=4,
                                                 hidden_dim=64, mlp_dim=32, num_classes=10).eval().double()
    with torch.no_grad():
        model.heads.head.weight.normal_(0, 0.1)
    graph = build_graph(model, (3, 32, 32))
    assert graph.token_grid is not None and (graph.token_grid.height, graph.token_grid.width) == (8, 8)
    assert graph.token_grid.prefix == 1
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    _, _, ex = explain(model, x, CP_LRP)
    ln = next(la.index for la in graph.layers if la.name == "encoder.ln")
    rel = ex.layer_relevance[ln][0]  # type: ignore[attr-defined]
    assert tuple(rel.shape) == (65, 64)
    grid = ex.layer_heatmap(ln)  # type: ignore[attr-defined]
    assert torch.allclose(grid, rel[1:].sum(1).reshape(8, 8))
    assert torch.allclose(ex.prefix_relevance(ln), rel[:1].sum(1))  # type: ignore[attr-defined]


@pytest.mark.parametrize("composite,attention", [(CP_LRP, "cp"), (ATTNLRP, "attnlrp")])
def test_trained_digits_vit_equals_lxt(composite: str, attention: str) -> None:
    """The digits ViT with its trained weights, in float32, on a real test digit."""
    from vislrp.zoo import load_model, load_sample

    zoo = load_model("digits_vit")
    x = zoo.preprocess(load_sample("digits:2"))[None]
    ours, target, _ = explain(zoo.module, x, composite)
    assert rel_linf(ours, lxt_relevance(zoo.module, x, target, attention)) <= 1e-4
