"""Checks of a heatmap against the network: pixel flipping (V5) and neuron ablation (V6)."""

from .ablation import (
    AblationCurve,
    ChannelError,
    LayerChoiceError,
    ablate,
    ablated_logits,
    ablation_curve,
    check_channels,
    conv_layer,
)
from .curves import ORDERS, Curve, Order, aopc, flip_curve, rank_map, step_counts, step_masks
from .flip import FLIP_MODES, EmptyMaskError, FlipMode, apply_masks, fill_image, flip, predict_batched
from .neurons import ChannelMaps, NeuronRow, channel_maps, neuron_table

__all__ = [
    "FLIP_MODES", "ORDERS", "AblationCurve", "ChannelError", "ChannelMaps", "Curve", "EmptyMaskError", "FlipMode",
    "LayerChoiceError", "NeuronRow", "Order", "ablate", "ablated_logits", "ablation_curve", "aopc", "apply_masks",
    "channel_maps", "check_channels", "conv_layer", "fill_image", "flip", "flip_curve", "neuron_table",
    "predict_batched", "rank_map", "step_counts", "step_masks",
]
