"""The paper's baselines: MobileNetV2 (torchvision, adapted to 32x32) and CondenseNet (Huang et al. 2018)."""

BASELINE_NAMES: tuple[str, ...] = ("mobilenetv2", "condensenet")
CONDENSENET_VARIANTS: tuple[str, ...] = ("74", "86")

__all__ = ["BASELINE_NAMES", "CONDENSENET_VARIANTS"]
