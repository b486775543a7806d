"""Macro-architectures: stem, searchable layers, head. One definition for supernet, childnet and profiler."""

from __future__ import annotations

from dataclasses import dataclass, field

from .candidates import CANDIDATES, SKIP_INDEX


@dataclass(frozen=True)
class StageSpec:
    channels: int
    repeats: int
    stride: int


@dataclass(frozen=True)
class MacroSpec:
    """The fixed part of a space at width 1.0, as the paper's tables describe it."""

    name: str
    input_size: int
    stem_channels: int
    stem_stride: int
    stages: tuple[StageSpec, ...]
    head_channels: int
    default_classes: int
    description: str


@dataclass(frozen=True)
class LayerSpec:
    """One searchable layer: shapes it sees and the candidates it allows."""

    index: int
    c_in: int
    c_out: int
    stride: int
    input_hw: int
    output_hw: int
    first_of_group: bool
    allowed: tuple[int, ...]

    @property
    def allows_skip(self) -> bool:
        return SKIP_INDEX in self.allowed


@dataclass(frozen=True)
class SearchSpace:
    name: str
    input_size: int
    stem_channels: int
    stem_stride: int
    head_channels: int
    num_classes: int
    width_mult: float
    layers: tuple[LayerSpec, ...] = field(repr=False)
    description: str = ""

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    @property
    def num_candidates(self) -> int:
        return len(CANDIDATES)

    def allowed(self, layer: int) -> tuple[int, ...]:
        return self.layers[layer].allowed

    def mask(self) -> list[list[bool]]:
        """True where a (layer, candidate) cell is a real candidate; False for padded cells."""
        return [[j in layer.allowed for j in range(len(CANDIDATES))] for layer in self.layers]

    def stem_output_hw(self) -> int:
        return _out_hw(self.input_size, self.stem_stride)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "input_size": self.input_size,
            "width_mult": self.width_mult,
            "num_classes": self.num_classes,
        }


_FBNET_STAGES_CIFAR = (
    StageSpec(16, 1, 1),
    StageSpec(24, 4, 2),
    StageSpec(32, 4, 2),
    StageSpec(64, 4, 1),
    StageSpec(112, 4, 1),
    StageSpec(184, 4, 1),
    StageSpec(352, 1, 1),
)
_FBNET_STAGES_IMAGENET = (
    StageSpec(16, 1, 1),
    StageSpec(24, 4, 2),
    StageSpec(32, 4, 2),
    StageSpec(64, 4, 2),
    StageSpec(112, 4, 1),
    StageSpec(184, 4, 2),
    StageSpec(352, 1, 1),
)

MACROS: dict[str, MacroSpec] = {
    "fbnet-cifar10": MacroSpec(
        name="fbnet-cifar10",
        input_size=32,
        stem_channels=16,
        stem_stride=1,
        stages=_FBNET_STAGES_CIFAR,
        head_channels=1984,
        default_classes=10,
        description="HANNA CIFAR-10 space: 32x32 input, stride-1 padded stem, feature maps 32/16/8",
    ),
    "fbnet-imagenet": MacroSpec(
        name="fbnet-imagenet",
        input_size=224,
        stem_channels=16,
        stem_stride=2,
        stages=_FBNET_STAGES_IMAGENET,
        head_channels=1984,
        default_classes=1000,
        description="FBNet ImageNet space (paper Fig. 5): 224x224 input, strides 2,1,2,2,2,1,2,1",
    ),
}
SPACE_NAMES: tuple[str, ...] = tuple(MACROS)


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round channels to a multiple of divisor without going more than 10% down (MobileNet rule)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def _scale(channels: int, width_mult: float) -> int:
    return channels if width_mult == 1.0 else make_divisible(channels * width_mult)


def _out_hw(hw: int, stride: int) -> int:
    return (hw + stride - 1) // stride


def get_space(name: str, width_mult: float = 1.0, num_classes: int | None = None) -> SearchSpace:
    """Build a space by name. Raises ValueError naming the known spaces."""
    if name not in MACROS:
        raise ValueError(f"unknown search space {name!r} (expected one of {', '.join(SPACE_NAMES)})")
    if not width_mult > 0:
        raise ValueError(f"width multiplier must be > 0, got {width_mult}")
    macro = MACROS[name]
    classes = macro.default_classes if num_classes is None else num_classes
    if classes < 2:
        raise ValueError(f"number of classes must be >= 2, got {classes}")
    stem = _scale(macro.stem_channels, width_mult)
    hw = _out_hw(macro.input_size, macro.stem_stride)
    c_in = stem
    layers: list[LayerSpec] = []
    for stage in macro.stages:
        c_out = _scale(stage.channels, width_mult)
        for repeat in range(stage.repeats):
            stride = stage.stride if repeat == 0 else 1
            first = repeat == 0
            out_hw = _out_hw(hw, stride)
            skip_ok = not first and c_in == c_out and stride == 1
            allowed = tuple(i for i in range(len(CANDIDATES)) if i != SKIP_INDEX or skip_ok)
            layers.append(LayerSpec(len(layers), c_in, c_out, stride, hw, out_hw, first, allowed))
            c_in, hw = c_out, out_hw
    return SearchSpace(
        name=name,
        input_size=macro.input_size,
        stem_channels=stem,
        stem_stride=macro.stem_stride,
        head_channels=_scale(macro.head_channels, width_mult),
        num_classes=classes,
        width_mult=width_mult,
        layers=tuple(layers),
        description=macro.description,
    )
