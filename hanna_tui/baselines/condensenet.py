"""CondenseNet (Huang, Liu, van der Maaten, Weinberger, CVPR 2018), written from the paper.

Structure (the paper's CIFAR/ImageNet networks, here with a stride-1 3x3 stem for 32x32 input):
  stem: 3x3 conv, 3 -> 2*k0 channels;
  stages of dense layers with exponentially increasing growth rates k; every layer's output is
  concatenated to all later features ("fully dense"), across stages too: a transition is just a
  2x2 average pooling of the whole concatenation (no compression);
  dense layer: BN-ReLU-1x1 learned group conv (LGC, c_in -> 4k, G groups, condensation factor C)
  -> permute (channel shuffle) -> BN-ReLU-3x3 group conv (4k -> k, G groups);
  head: BN-ReLU-global average pool-linear classifier.

Learned group convolution: the 1x1 weight (O x R) is split into G groups of O/G output rows.
During the first half of training there are C-1 condensation stages; at each one, every group
drops the R/C of its remaining input channels with the smallest L1 importance
(sum over the group's rows of |w|), by a mask. A group-lasso term,
sum over groups g and inputs j of ||W[g-rows, j]||_2, pushes whole group columns to zero
beforehand (weight GROUP_LASSO = 1e-5, our choice; the trainer adds `regularization()` to the
loss until the last stage). After the last stage each group keeps R/C inputs. The trainer calls
`on_epoch_start(epoch, total)` (stage s is applied at epoch s * total / (2 (C-1)): epochs 20,
40, 60 of 120) and `on_train_end()` (finishes condensation in very short trainings).

For inference `condensed()` builds the efficient model: an index layer gathers each group's
kept inputs (and the matching BN statistics), a standard group conv with G groups replaces the
masked 1x1 conv, then the same permute. In eval mode it computes exactly what the masked
training model computes, with 1/C of the 1x1 weights.

Variants: "86" (CIFAR: stages 14-14-14, growth 8-16-32) and "74" (the paper's ImageNet
network, stages 4-6-8-10-8, growth 8-16-32-64-128; at 32x32 its five stages see 32/16/8/4/2).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

GROUPS = 4
CONDENSE_FACTOR = 4
BOTTLENECK = 4
GROUP_LASSO = 1e-5


@dataclass(frozen=True)
class CondenseNetConfig:
    stages: tuple[int, ...]
    growth: tuple[int, ...]
    groups: int = GROUPS
    condense_factor: int = CONDENSE_FACTOR
    bottleneck: int = BOTTLENECK


VARIANTS: dict[str, CondenseNetConfig] = {
    "86": CondenseNetConfig(stages=(14, 14, 14), growth=(8, 16, 32)),
    "74": CondenseNetConfig(stages=(4, 6, 8, 10, 8), growth=(8, 16, 32, 64, 128)),
}


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """The permute layer: channel i*(C/G)+j of the input goes to position j*G+i."""
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class LearnedGroupConv(nn.Module):
    """BN-ReLU-1x1 conv with a per-group input mask, condensed in C-1 stages; then the permute."""

    def __init__(self, c_in: int, c_out: int, groups: int, condense_factor: int) -> None:
        super().__init__()
        if c_out % groups:
            raise ValueError(f"LGC: {c_out} output channels are not divisible into {groups} groups")
        self.groups = groups
        self.condense_factor = condense_factor
        self.norm = nn.BatchNorm2d(c_in)
        self.conv = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.register_buffer("mask", torch.ones(groups, c_in))
        self.register_buffer("stage", torch.zeros((), dtype=torch.long))

    @property
    def drop_per_stage(self) -> int:
        return self.conv.in_channels // self.condense_factor

    def masked_weight(self) -> torch.Tensor:
        rows = self.conv.out_channels // self.groups
        full = self.mask.repeat_interleave(rows, dim=0)  # (O, R)
        return self.conv.weight * full[:, :, None, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.norm(x))
        x = F.conv2d(x, self.masked_weight())
        return channel_shuffle(x, self.groups)

    def group_weights(self) -> torch.Tensor:
        """The masked 1x1 weight as (G, O/G, R)."""
        w = self.masked_weight().flatten(1)
        return w.view(self.groups, -1, w.shape[1])

    def group_lasso(self) -> torch.Tensor:
        return self.group_weights().pow(2).sum(dim=1).clamp_min(1e-12).sqrt().sum()

    @torch.no_grad()
    def condense_step(self) -> None:
        """Drop each group's R/C least important remaining inputs (L1 of the group's column)."""
        if int(self.stage) >= self.condense_factor - 1:
            return
        importance = self.group_weights().abs().sum(dim=1)  # (G, R)
        importance = importance.masked_fill(self.mask == 0, float("inf"))
        drop = importance.argsort(dim=1)[:, : self.drop_per_stage]
        self.mask.scatter_(1, drop, 0.0)
        rows = self.conv.out_channels // self.groups
        self.conv.weight.mul_(self.mask.repeat_interleave(rows, dim=0)[:, :, None, None])
        self.stage += 1

    def kept_inputs(self) -> torch.Tensor:
        """(G, kept) input indices, each group's in ascending order."""
        counts = self.mask.sum(dim=1).long()
        if not bool((counts == counts[0]).all()):
            raise RuntimeError("LGC groups keep different input counts; cannot condense")
        return torch.stack([row.nonzero().flatten() for row in self.mask])

    def condensed(self) -> CondensedGroupConv:
        return CondensedGroupConv.from_lgc(self)


class CondensedGroupConv(nn.Module):
    """Index layer (gather kept inputs) -> BN-ReLU -> 1x1 group conv (G groups) -> permute."""

    def __init__(self, index: torch.Tensor, c_out: int, groups: int) -> None:
        super().__init__()
        self.groups = groups
        self.register_buffer("index", index.clone().long())
        self.norm = nn.BatchNorm2d(index.numel())
        self.conv = nn.Conv2d(index.numel(), c_out, 1, groups=groups, bias=False)

    @classmethod
    @torch.no_grad()
    def from_lgc(cls, lgc: LearnedGroupConv) -> CondensedGroupConv:
        kept = lgc.kept_inputs()  # (G, K)
        index = kept.flatten()
        out = cls(index, lgc.conv.out_channels, lgc.groups).to(lgc.conv.weight.device)
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(out.norm, name).copy_(getattr(lgc.norm, name)[index])
        out.norm.num_batches_tracked.copy_(lgc.norm.num_batches_tracked)
        out.norm.eps, out.norm.momentum = lgc.norm.eps, lgc.norm.momentum
        rows = lgc.conv.out_channels // lgc.groups
        weight = lgc.conv.weight.view(lgc.groups, rows, -1)
        pieces = [weight[g][:, kept[g]] for g in range(lgc.groups)]  # (rows, K) each
        out.conv.weight.copy_(torch.cat(pieces, dim=0)[:, :, None, None])
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.norm(x.index_select(1, self.index)))
        return channel_shuffle(self.conv(x), self.groups)


class DenseLayer(nn.Module):
    def __init__(self, c_in: int, growth: int, cfg: CondenseNetConfig) -> None:
        super().__init__()
        mid = cfg.bottleneck * growth
        self.conv1: nn.Module = LearnedGroupConv(c_in, mid, cfg.groups, cfg.condense_factor)
        self.norm2 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, growth, 3, padding=1, groups=cfg.groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(F.relu(self.norm2(self.conv1(x))))
        return torch.cat([x, y], dim=1)


class CondenseNet(nn.Module):
    """The training model; `condensed()` returns the efficient inference model."""

    def __init__(self, cfg: CondenseNetConfig, num_classes: int = 10, group_lasso: float = GROUP_LASSO) -> None:
        super().__init__()
        self.cfg = cfg
        self.group_lasso_weight = group_lasso
        channels = 2 * cfg.growth[0]
        self.stem = nn.Conv2d(3, channels, 3, padding=1, bias=False)
        stages: list[nn.Module] = []
        for i, (repeats, growth) in enumerate(zip(cfg.stages, cfg.growth, strict=True)):
            layers: list[nn.Module] = [nn.AvgPool2d(2)] if i else []
            for _ in range(repeats):
                layers.append(DenseLayer(channels, growth, cfg))
                channels += growth
            stages.append(nn.Sequential(*layers))
        self.features = nn.Sequential(*stages)
        self.norm = nn.BatchNorm2d(channels)
        self.classifier = nn.Linear(channels, num_classes)
        self.num_features = channels
        self._init()

    def _init(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(self.stem(x))
        x = F.adaptive_avg_pool2d(F.relu(self.norm(x)), 1).flatten(1)
        return self.classifier(x)

    # condensation protocol used by the trainer
    def lgc_layers(self) -> list[LearnedGroupConv]:
        return [m for m in self.modules() if isinstance(m, LearnedGroupConv)]

    def condensation_stage(self) -> int:
        layers = self.lgc_layers()
        return int(layers[0].stage) if layers else 0

    def condense_to(self, stage: int) -> int:
        """Apply condensation stages until `stage` (0..C-1); returns the stage reached."""
        stage = max(0, min(stage, self.cfg.condense_factor - 1))
        for lgc in self.lgc_layers():
            while int(lgc.stage) < stage:
                lgc.condense_step()
        return self.condensation_stage()

    def scheduled_stage(self, epoch: int, total_epochs: int) -> int:
        """Stage due at the start of `epoch`: C-1 stages evenly over the first half of training."""
        steps = self.cfg.condense_factor - 1
        if total_epochs <= 0:
            return steps
        return min(steps, (2 * steps * epoch) // total_epochs)

    def on_epoch_start(self, epoch: int, total_epochs: int) -> None:
        self.condense_to(self.scheduled_stage(epoch, total_epochs))

    def on_train_end(self) -> None:
        self.condense_to(self.cfg.condense_factor - 1)

    def regularization(self) -> torch.Tensor | None:
        if self.group_lasso_weight <= 0 or self.condensation_stage() >= self.cfg.condense_factor - 1:
            return None
        return self.group_lasso_weight * torch.stack([m.group_lasso() for m in self.lgc_layers()]).sum()

    def condensed(self) -> nn.Module:
        """The efficient inference model: every LGC replaced by index + group conv (fully condensed)."""
        model = copy.deepcopy(self)
        model.condense_to(self.cfg.condense_factor - 1)
        for layer in model.modules():
            if isinstance(layer, DenseLayer) and isinstance(layer.conv1, LearnedGroupConv):
                layer.conv1 = layer.conv1.condensed()
        model.train(self.training)
        return model


def condensenet(variant: str = "86", num_classes: int = 10) -> CondenseNet:
    if variant not in VARIANTS:
        raise ValueError(f"unknown CondenseNet variant {variant!r} (expected one of {', '.join(VARIANTS)})")
    return CondenseNet(VARIANTS[variant], num_classes)
