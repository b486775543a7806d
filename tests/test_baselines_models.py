"""Baselines: parameter counts against the reference architectures, and CondenseNet's condensation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hanna_tui.baselines.condensenet import CondensedGroupConv, LearnedGroupConv, condensenet
from hanna_tui.baselines.mobilenetv2 import mobilenet_v2_cifar
from hanna_tui.counting import count_macs, count_params, model_cost

INPUT = [1, 3, 32, 32]


def test_mobilenetv2_has_torchvisions_parameters_and_only_strides_change() -> None:
    from torchvision.models import mobilenet_v2

    reference = mobilenet_v2(weights=None, num_classes=10)
    adapted = mobilenet_v2_cifar(10)
    assert count_params(adapted) == count_params(reference) == 2_236_682  # "about 2.24M"
    assert [p.shape for p in adapted.parameters()] == [p.shape for p in reference.parameters()]
    strides_ref = [m.stride for m in reference.modules() if isinstance(m, nn.Conv2d)]
    strides_new = [m.stride for m in adapted.modules() if isinstance(m, nn.Conv2d)]
    changed = [i for i, (a, b) in enumerate(zip(strides_ref, strides_new, strict=True)) if a != b]
    assert len(changed) == 2 and all(strides_ref[i] == (2, 2) and strides_new[i] == (1, 1) for i in changed)
    features = adapted.features(torch.zeros(INPUT))
    assert features.shape[-2:] == (4, 4)  # 32 / 8 instead of 32 / 32
    assert adapted(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_condensenet86_condensed_parameters_match_the_paper() -> None:
    # Huang et al. 2018, Table (CIFAR-10): CondenseNet-86 (G = C = 4) 0.52M parameters, 65M FLOPs (MACs).
    model = condensenet("86", 10)
    assert model.num_features == 16 + 14 * (8 + 16 + 32)
    cost = model_cost(model.condensed(), INPUT)
    assert cost.params == 520_202
    assert abs(cost.params - 0.52e6) / 0.52e6 < 0.01
    assert abs(cost.macs - 65e6) / 65e6 < 0.06  # 62.4M: conv and linear MACs only (no BN, pooling, index)


def test_condensenet74_matches_the_paper_once_its_classifier_is_accounted_for() -> None:
    # The paper's CondenseNet-74 (ImageNet, 1000 classes) has 4.8M parameters; its classifier is also
    # condensed there (half of its weights dropped). Here: 10 classes, a dense classifier.
    condensed = condensenet("74", 10).condensed()
    params = count_params(condensed)
    features = condensed.num_features
    imagenet_equivalent = params + features * 990 + 990 - (features * 1000) // 2
    assert abs(imagenet_equivalent - 4.8e6) / 4.8e6 < 0.02
    assert condensed(torch.zeros(1, 3, 32, 32)).shape == (1, 10)


def _warm_bn(model: nn.Module) -> None:
    """Give BatchNorm non-trivial running statistics and weights so that equivalence means something."""
    torch.manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
        model.train()
        model(torch.randn(8, 3, 32, 32))


def test_condensation_stages_prune_a_quarter_per_group_each() -> None:
    model = condensenet("86", 10)
    lgc = model.lgc_layers()[3]
    r = lgc.conv.in_channels
    assert [model.scheduled_stage(e, 120) for e in (0, 19, 20, 40, 59, 60, 119)] == [0, 0, 1, 2, 2, 3, 3]
    for stage in (1, 2, 3):
        model.condense_to(stage)
        assert lgc.mask.sum(dim=1).tolist() == [r - stage * (r // 4)] * 4
    model.condense_to(3)  # idempotent past the last stage
    assert int(lgc.stage) == 3
    rows = lgc.conv.out_channels // 4
    dropped = lgc.mask.repeat_interleave(rows, dim=0) == 0
    assert dropped.float().mean().item() == pytest.approx(0.75)
    assert torch.count_nonzero(lgc.conv.weight.flatten(1)[dropped]) == 0  # pruned weights are zeroed


def test_condensed_model_has_group_structure_and_the_same_outputs() -> None:
    model = condensenet("86", 10)
    _warm_bn(model)
    model.condense_to(3)
    condensed = model.condensed()
    new_layers = [m for m in condensed.modules() if isinstance(m, CondensedGroupConv)]
    old_layers = model.lgc_layers()
    assert len(new_layers) == len(old_layers) == 42 and not any(isinstance(m, LearnedGroupConv) for m in condensed.modules())
    for old, new in zip(old_layers, new_layers, strict=True):
        r, o = old.conv.in_channels, old.conv.out_channels
        assert new.conv.groups == 4
        assert new.conv.weight.shape == (o, r // 4, 1, 1)  # each group reads R/C inputs
        assert new.index.numel() == 4 * (r // 4)
    assert count_params(condensed) < count_params(model)
    saved = sum(o.conv.weight.numel() * 3 // 4 for o in old_layers)
    assert count_params(model) - count_params(condensed) == saved
    model.eval()
    condensed.eval()
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model(x), condensed(x), atol=1e-5, rtol=1e-4)


def test_group_lasso_is_a_differentiable_penalty_until_fully_condensed() -> None:
    model = condensenet("86", 10)
    penalty = model.regularization()
    assert penalty is not None and penalty.item() > 0
    penalty.backward()
    assert model.lgc_layers()[0].conv.weight.grad is not None
    model.condense_to(3)
    assert model.regularization() is None


def test_macs_are_counted_with_hooks_like_torchs_flop_counter() -> None:
    from torch.utils.flop_counter import FlopCounterMode

    model = mobilenet_v2_cifar(10).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(INPUT))
    assert count_macs(model, INPUT) == counter.get_total_flops() // 2


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: these models are tiny, and a shared 2-core machine punishes spinning threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
