"""torch modules of the search space: the paper's candidate block, stem, head and the childnet.

Block (paper, with BatchNorm kept): 1x1 conv (groups g) -> BN -> ReLU -> shuffle if g=2 ->
kxk depthwise conv (stride s) -> BN -> ReLU -> 1x1 conv (groups g) -> BN -> shuffle if g=2,
plus a residual add when input and output shapes match.
"""

from __future__ import annotations

import torch
from torch import nn

from .candidates import CANDIDATES, Candidate
from .macro import LayerSpec, SearchSpace


class ChannelShuffle(nn.Module):
    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = self.groups
        return x.view(n, g, c // g, h, w).transpose(1, 2).reshape(n, c, h, w)


def conv_bn(c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1, relu: bool = True) -> list[nn.Module]:
    layers: list[nn.Module] = [
        nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return layers


class CandidateBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, kernel: int, expansion: int, group: int) -> None:
        super().__init__()
        mid = c_in * expansion
        if group > 1 and (c_in % group or mid % group or c_out % group):
            raise ValueError(f"group conv g={group} needs channels divisible by {group} (got {c_in}->{mid}->{c_out})")
        layers: list[nn.Module] = conv_bn(c_in, mid, 1, groups=group)
        if group > 1:
            layers.append(ChannelShuffle(group))
        layers += conv_bn(mid, mid, kernel, stride, groups=mid)
        layers += conv_bn(mid, c_out, 1, groups=group, relu=False)
        if group > 1:
            layers.append(ChannelShuffle(group))
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        return out + x if self.residual else out


def build_candidate(candidate: Candidate, layer: LayerSpec) -> nn.Module:
    if candidate.is_skip:
        if not layer.allows_skip:
            raise ValueError(f"layer {layer.index} does not allow skip")
        return nn.Identity()
    return CandidateBlock(layer.c_in, layer.c_out, layer.stride, candidate.kernel, candidate.expansion, candidate.group)


def build_layer_block(space: SearchSpace, layer_index: int, candidate_index: int) -> nn.Module:
    layer = space.layers[layer_index]
    if candidate_index not in layer.allowed:
        raise ValueError(f"layer {layer_index}: {CANDIDATES[candidate_index].name} is not allowed there")
    return build_candidate(CANDIDATES[candidate_index], layer)


def build_stem(space: SearchSpace) -> nn.Sequential:
    return nn.Sequential(*conv_bn(3, space.stem_channels, 3, space.stem_stride))


def build_head(space: SearchSpace, dropout: float = 0.0) -> nn.Sequential:
    c_last = space.layers[-1].c_out
    return nn.Sequential(
        *conv_bn(c_last, space.head_channels, 1),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(dropout) if dropout > 0 else nn.Identity(),
        nn.Linear(space.head_channels, space.num_classes),
    )


def init_weights(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)


class ChildNet(nn.Module):
    """The sampled architecture: stem, one chosen block per layer, head."""

    def __init__(self, space: SearchSpace, choices: list[int], dropout: float = 0.0) -> None:
        super().__init__()
        if len(choices) != space.num_layers:
            raise ValueError(f"expected {space.num_layers} choices, got {len(choices)}")
        self.choices = list(choices)
        self.stem = build_stem(space)
        self.layers = nn.Sequential(*[build_layer_block(space, i, c) for i, c in enumerate(choices)])
        self.head = build_head(space, dropout)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.layers(self.stem(x)))


def childnet_from_arch(arch: dict, num_classes: int | None = None, dropout: float = 0.0) -> ChildNet:
    """Build from an arch.json document (choices by name; space, width and classes from it)."""
    from .candidates import candidate_index
    from .macro import get_space

    space = get_space(arch["space"], float(arch.get("width_mult", 1.0)), num_classes or arch.get("num_classes"))
    return ChildNet(space, [candidate_index(n) for n in arch["choices"]], dropout)
