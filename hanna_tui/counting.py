"""Counted (not estimated) costs of a model: parameters and multiply-accumulates (MACs).

MACs are counted with forward hooks on one forward pass of a 1-image input:
  Conv2d: output elements x (input channels / groups) x kernel area (+ nothing for bias),
  Linear: output elements x input features.
BatchNorm, activations, pooling, additions and the index/permute layers are not counted (the
usual convention, the one of the MobileNetV2 and CondenseNet papers). Count the inference form
of a model (CondenseNet condensed), as deployed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class ModelCost:
    params: int
    macs: int

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _conv_macs(module: nn.Conv2d, output: torch.Tensor) -> int:
    kernel = module.kernel_size[0] * module.kernel_size[1]
    return output.numel() // output.shape[0] * (module.in_channels // module.groups) * kernel


def _linear_macs(module: nn.Linear, output: torch.Tensor) -> int:
    return output.numel() // output.shape[0] * module.in_features


def count_macs(model: nn.Module, input_shape: list[int] | tuple[int, ...]) -> int:
    """MACs of one image (batch dimension of input_shape is ignored)."""
    total = 0

    def hook(module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            total += _conv_macs(module, output)
        elif isinstance(module, nn.Linear):
            total += _linear_macs(module, output)

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, *list(input_shape)[1:], device=device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return total


def model_cost(model: nn.Module, input_shape: list[int] | tuple[int, ...]) -> ModelCost:
    return ModelCost(count_params(model), count_macs(model, input_shape))
