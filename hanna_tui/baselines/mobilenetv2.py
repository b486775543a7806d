"""torchvision's MobileNetV2, adapted to 32x32 input the usual way.

The ImageNet network downsamples 32x at stride 2 in the stem and in the stages of 24, 32, 64
and 160 channels. For 32x32 CIFAR images the common adaptation sets stride 1 in the stem
(features[0]) and in the first downsampling stage (features[2], the first 24-channel block),
so the last feature map is 4x4 instead of 1x1.
Only strides change: every weight keeps its shape, so the parameter count is torchvision's.
"""

from __future__ import annotations

from torch import nn


def _set_stride(conv: nn.Conv2d, stride: int) -> None:
    conv.stride = (stride, stride)


def mobilenet_v2_cifar(num_classes: int = 10, width_mult: float = 1.0, dropout: float = 0.2) -> nn.Module:
    """torchvision.models.mobilenet_v2 with stride 1 in the stem and the first 24-channel block.

    Resolutions at 32x32 input: stem 32, stage-24 32, stage-32 16, stage-64 8, stage-96 8,
    stage-160 4, stage-320 4, global pool.
    """
    from torchvision.models import mobilenet_v2

    model = mobilenet_v2(weights=None, num_classes=num_classes, width_mult=width_mult, dropout=dropout)
    _set_stride(model.features[0][0], 1)  # stem conv 3x3
    first_down = model.features[2]  # InvertedResidual 16 -> 24, stride 2 in ImageNet
    depthwise = next(m for m in first_down.conv.modules() if isinstance(m, nn.Conv2d) and m.groups > 1)
    _set_stride(depthwise, 1)
    first_down.stride = 1  # no residual is added either way (channels change)
    return model
