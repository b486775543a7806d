"""MACs and parameters of a childnet and both baselines: the numbers recorded before the counter moved to torch's."""

from __future__ import annotations

import pytest
import torch

from hanna_tui.baselines.condensenet import condensenet
from hanna_tui.baselines.mobilenetv2 import mobilenet_v2_cifar
from hanna_tui.counting import model_cost
from hanna_tui.space import get_space
from hanna_tui.space.blocks import ChildNet

INPUT = [1, 3, 32, 32]


def childnet(width: float, step: int) -> ChildNet:
    space = get_space("fbnet-cifar10", width)
    return ChildNet(space, [layer.allowed[(i * step) % len(layer.allowed)] for i, layer in enumerate(space.layers)])


# (params, MACs) counted with the hand-written Conv2d/Linear hooks of the previous version
RECORDED = {
    "childnet": (lambda: childnet(1.0, 5), 1_353_802, 87_398_272),
    "childnet-slim": (lambda: childnet(0.25, 3), 223_434, 14_835_552),
    "mobilenetv2": (lambda: mobilenet_v2_cifar(10), 2_236_682, 87_976_448),
    "condensenet86-condensed": (lambda: condensenet("86", 10).condensed(), 520_202, 62_381_888),
}


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_macs_and_params_are_the_recorded_numbers(name: str) -> None:
    torch.set_num_threads(1)
    build, params, macs = RECORDED[name]
    model = build()
    model.train()
    cost = model_cost(model, INPUT)
    assert (cost.params, cost.macs) == (params, macs)
    assert model.training  # counting leaves the model's mode as it was
