"""Every trainable model of a run, built from plain data, and loading a run's (trained) model.

A run's model is described by a ModelSpec (family, classes, input size, variant or arch).
Training writes it to the run's training folder (Run.training(): RUN/train/ for childnets and
baselines alike) beside the weights (model.pt, the final state dict; checkpoint.pt while training).

load_run_model(run, trained=True) returns the inference form of the model in eval mode and
its input shape [1, 3, H, W]:
  - kind "search": the childnet of RUN/arch.json (same space definition as the supernet);
  - kind "baseline": MobileNetV2 or CondenseNet (run.json: model, variant); CondenseNet is
    converted to its condensed form;
with the weights of the training's model.pt, else of its checkpoint.pt, when present.
With trained=False, or when no weights exist yet, the model has its fresh initialisation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .errors import UserError
from .fsutil import read_json
from .store import Run

FAMILIES = ("childnet", "mobilenetv2", "condensenet")


@dataclass
class ModelSpec:
    family: str
    num_classes: int = 10
    input_size: int = 32
    variant: str = ""
    arch: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        known = {k: data[k] for k in ("family", "num_classes", "input_size", "variant", "arch") if k in data}
        return cls(**known)

    @property
    def input_shape(self) -> list[int]:
        return [1, 3, self.input_size, self.input_size]

    @property
    def label(self) -> str:
        if self.family == "condensenet":
            return f"CondenseNet-{self.variant}"
        if self.family == "mobilenetv2":
            return "MobileNetV2"
        return "childnet"


def build_model(spec: ModelSpec) -> nn.Module:
    """The training form of a model (CondenseNet with its learned-group-conv masks)."""
    if spec.family == "childnet":
        from .space.blocks import childnet_from_arch

        try:
            return childnet_from_arch(spec.arch, num_classes=spec.num_classes)
        except (KeyError, ValueError) as exc:
            raise UserError(f"arch.json: {exc}") from None
    if spec.family == "mobilenetv2":
        from .baselines.mobilenetv2 import mobilenet_v2_cifar

        return mobilenet_v2_cifar(spec.num_classes)
    if spec.family == "condensenet":
        from .baselines.condensenet import condensenet

        return condensenet(spec.variant or "86", spec.num_classes)
    raise UserError(f"unknown model family {spec.family!r} (expected one of {', '.join(FAMILIES)})")


def inference_form(model: nn.Module) -> nn.Module:
    """The model as deployed: CondenseNet condensed (group conv + index layer); others unchanged."""
    convert = getattr(model, "condensed", None)
    return convert() if callable(convert) else model


def train_dir(run: Run) -> Path:
    """Where a run's training writes (the store decides: Run.train_path)."""
    return run.train_path


def spec_for_run(run: Run) -> ModelSpec:
    """The stored spec of a trained model, or the one its run describes."""
    stored = read_json(run.training().spec_path)
    if isinstance(stored, dict) and stored.get("family") in FAMILIES:
        return ModelSpec.from_dict(stored)
    meta = run.meta()
    if meta.get("kind") == "baseline":
        return ModelSpec(
            family=str(meta.get("model", "")),
            num_classes=int(meta.get("num_classes", 10)),
            input_size=int(meta.get("input_size", 32)),
            variant=str(meta.get("variant", "") or ""),
        )
    arch = run.arch()
    if not isinstance(arch, dict) or "choices" not in arch:
        raise UserError(f"{run.path}: no arch.json (sample the childnet first: hanna-tui sample {run.id})")
    from .space import get_space

    try:
        input_size = get_space(arch["space"]).input_size
    except (KeyError, ValueError) as exc:
        raise UserError(f"{run.arch_path}: {exc}") from None
    return ModelSpec("childnet", int(arch.get("num_classes") or 10), input_size, arch=arch)


def trained_state(run: Run) -> dict[str, torch.Tensor] | None:
    """The final weights (model.pt), else those of the latest checkpoint, else None."""
    training = run.training()
    for path, key in ((training.model_path, "state_dict"), (training.checkpoint_path, "model")):
        if path.is_file():
            try:
                blob = torch.load(path, map_location="cpu", weights_only=True)
            except Exception as exc:  # a torn or foreign file
                raise UserError(f"{path}: cannot load weights ({exc})") from None
            if isinstance(blob, dict) and isinstance(blob.get(key), dict):
                return blob[key]
    return None


def load_run_model(run: Run, trained: bool = True) -> tuple[nn.Module, list[int]]:
    """A run's model in eval mode (inference form) and its input shape [1, 3, H, W]."""
    spec = spec_for_run(run)
    model = build_model(spec)
    state = trained_state(run) if trained else None
    if state is not None:
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            raise UserError(f"{train_dir(run)}: weights do not fit the {spec.label} ({str(exc).splitlines()[0]})") from None
    model = inference_form(model).eval()
    return model, spec.input_shape
