"""Counted (not estimated) costs of a model: parameters and multiply-accumulates (MACs).

MACs come from torch's FLOP counter (torch.utils.flop_counter.FlopCounterMode) on one forward pass
of a 1-image input, halved (it counts 2 FLOPs per multiply-accumulate). It counts convolutions and
matrix products (Conv2d, Linear); BatchNorm, activations, pooling, additions and index/permute
layers are not counted (the usual convention, the one of the MobileNetV2 and CondenseNet papers).
Count the inference form of a model (CondenseNet condensed), as deployed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


@dataclass(frozen=True)
class ModelCost:
    params: int
    macs: int


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, input_shape: list[int] | tuple[int, ...]) -> int:
    """MACs of one image (batch dimension of input_shape is ignored)."""
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    was_training = model.training
    try:
        model.eval()
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(torch.zeros(1, *list(input_shape)[1:], device=device))
    finally:
        model.train(was_training)
    return counter.get_total_flops() // 2


def model_cost(model: nn.Module, input_shape: list[int] | tuple[int, ...]) -> ModelCost:
    return ModelCost(count_params(model), count_macs(model, input_shape))
