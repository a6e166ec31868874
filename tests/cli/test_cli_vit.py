"""The CLI on vision transformers (issue 16 item 6): explain a digit with the digits ViT and both attention rules,
layers with their encoder block, heads as the neurons of an attention layer, zennit export refused clearly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from vislrp.cli import main
from vislrp.lrp.composites import ATTNLRP, CP_LRP, get_composite
from vislrp.session import open_session
from vislrp.zoo import load_sample


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_explain_a_digit_with_cp_lrp_and_attnlrp(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    session = open_session("digits_vit")
    x = session.zoo.preprocess(load_sample("digits:3"))
    fwd = session.engine.forward(x)
    target = int(fwd.logits.argmax())
    maps = {}
    for composite in (CP_LRP, ATTNLRP):
        out = tmp_path / f"{composite}.npy"
        code, stdout, err = run(capsys, "explain", "digits:3", "--model", "digits_vit", "--composite", composite,
                                "--out", str(out), "--json")
        assert code == 0, err
        res = json.loads(stdout)
        assert res["target"] == target and res["label"] == str(target)
        maps[composite] = np.load(out)
        # the same map as the engine computes for this composite (independent of the CLI's plumbing)
        expected = session.engine.explain(fwd, get_composite(composite).resolve(session.graph), target)
        assert np.allclose(maps[composite], expected.input_relevance[0].numpy(), rtol=1e-5, atol=1e-7)
        assert res["relevance_sum"] == pytest.approx(float(expected.input_relevance[0].sum(dtype=torch.float64)),
                                                     rel=1e-5)
    assert not np.allclose(maps[CP_LRP], maps[ATTNLRP], rtol=1e-2)


def test_layers_name_their_encoder_block(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, err = run(capsys, "layers", "--model", "digits_vit", "--json")
    assert code == 0, err
    rows = json.loads(stdout)
    blocks = {row["block"] for row in rows if row["block"] is not None}
    n_blocks = len(open_session("digits_vit").zoo.module.encoder.layers)
    assert blocks == set(range(n_blocks))
    kinds = {row["kind"] for row in rows if row["block"] == 0}
    assert {"LayerNorm", "Linear", "MatMul", "Softmax", "Add"} <= kinds
    assert rows[0]["block"] is None and rows[0]["kind"] == "Conv"  # the patch embedding
    code, stdout, _ = run(capsys, "layers", "--model", "digits_vit")
    assert "block 0" in stdout


def test_neurons_of_an_attention_layer_are_its_heads(capsys: pytest.CaptureFixture[str]) -> None:
    session = open_session("digits_vit")
    heads_layer = next(la for la in session.graph.layers if la.name.endswith("encoder_layer_0.self_attention.heads"))
    n_heads = session.zoo.module.encoder.layers[0].self_attention.num_heads
    code, stdout, err = run(capsys, "neurons", "digits:3", "--model", "digits_vit", "--composite", CP_LRP,
                            "--layer", str(heads_layer.index), "--json")
    assert code == 0, err
    res = json.loads(stdout)
    rows = res["neurons"] if isinstance(res, dict) else res
    assert len(rows) == n_heads


def test_zennit_export_of_a_transformer_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "export", "--zennit", "--model", "digits_vit", "--composite", CP_LRP)
    assert code == 2 and "zennit has no rules for" in err and len(err.strip().splitlines()) == 1
