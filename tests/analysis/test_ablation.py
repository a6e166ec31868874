"""Neuron ablation on tiny nets: the hand-computed effect, node (not module) intervention, bad input."""

from __future__ import annotations

import pytest
import torch

from vislrp.analysis import ChannelError, LayerChoiceError, ablate, ablated_logits, ablation_curve
from vislrp.lrp import LayerGraph


def test_ablation_matches_hand_computation(two_channel: LayerGraph) -> None:
    x = torch.ones((1, 2, 2))
    # conv: channel 0 = 1, channel 1 = 2; mean pool; fc rows [1, 1] and [1, -1].
    assert ablated_logits(two_channel, x, 0, torch.ones((1, 2)))[0].tolist() == [3.0, -1.0]
    assert ablate(two_channel, x, 0, [1]).tolist() == [1.0, 1.0]
    assert ablate(two_channel, x, 0, [0]).tolist() == [2.0, -2.0]
    assert ablate(two_channel, x, 0, [0, 1]).tolist() == [0.0, 0.0]
    batch = ablated_logits(two_channel, x, 0, torch.tensor([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]]))
    assert batch.tolist() == [[3.0, -1.0], [1.0, 1.0], [2.0, -2.0]]


def test_ablation_hits_the_node_not_the_module(shared_conv: LayerGraph) -> None:
    assert [layer.kind for layer in shared_conv.layers][:2] == ["Conv", "Conv"]
    x = torch.ones((2, 2, 2))
    # W = [[1, 1], [0, 2]]: first call [2, 2], second [4, 4]; the output is the channel sum.
    assert float(ablate(shared_conv, x, 0, [])[0]) == 8.0
    assert float(ablate(shared_conv, x, 0, [0])[0]) == 6.0  # [0, 2] -> [2, 4]
    assert float(ablate(shared_conv, x, 1, [0])[0]) == 4.0  # [2, 2] -> [4, 4] -> [0, 4]


def test_ablation_curve_top_vs_random(two_channel: LayerGraph) -> None:
    x = torch.ones((1, 2, 2))
    curve = ablation_curve(two_channel, x, 0, torch.tensor([0.5, 2.0]), 0, [0, 1, 2])
    assert curve.order == [1, 0] and curve.top == [3.0, 1.0, 0.0]
    assert curve.random[0] == 3.0 and curve.random[-1] == 0.0


def test_bad_layer_and_channels(two_channel: LayerGraph) -> None:
    x = torch.ones((1, 2, 2))
    with pytest.raises(LayerChoiceError, match="does not exist"):
        ablate(two_channel, x, 99, [0])
    with pytest.raises(LayerChoiceError, match="not a conv layer"):
        ablate(two_channel, x, 1, [0])
    with pytest.raises(ChannelError, match="channel 2 is out of range"):
        ablate(two_channel, x, 0, [2])
