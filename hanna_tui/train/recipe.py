"""The training recipe for childnets and baselines (CIFAR-style), as plain data.

Defaults (documented in `hanna-tui train --help`):
  120 epochs (the paper), batch 128, SGD lr 0.1 momentum 0.9 Nesterov, weight decay 5e-4 on
  conv/linear weights only (none on BatchNorm parameters and biases), 5 epochs of linear
  warm-up from lr/100 (at most a fifth of the run, so a short run warms up for a fifth of it
  and still ends at lr 0) then a cosine decay to 0 (per step), label smoothing 0.1, random
  crop (4 px padding) + horizontal flip, top-1 on the test split after every epoch.
Options: cutout (a square of `cutout` px zeroed per image; 16 is the CIFAR choice), an
exponential moving average of the weights (`ema` = its decay per step, e.g. 0.999; the EMA
weights are evaluated and saved), `lr_base_batch` (lr is meant for that batch size and scaled
linearly to batch_size), `compile` (torch.compile; a failure falls back to eager in one line).
Data: the tensor cache (hanna_tui.datacache) for CIFAR and ImageFolder data unless
data.loader = "dataloader". On CUDA: mixed precision (bfloat16 where supported, else float16
with a gradient scaler), channels_last memory format, fused SGD; with the DataLoader path
pinned memory, non-blocking copies and persistent workers.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from torch import nn

from ..config import DataSection
from ..errors import UserError


@dataclass
class TrainConfig:
    epochs: int = 120
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    warmup_epochs: float = 5.0
    label_smoothing: float = 0.1
    cutout: int = 0  # px side of the zeroed square per training image; 0 = none
    ema: float = 0.0  # decay of the weights' moving average per step; 0 = off
    lr_base_batch: int = 0  # > 0: lr is for this batch size, scaled linearly to batch_size
    compile: bool = False  # torch.compile the model (falls back to eager when it fails)
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    amp: bool = True  # CUDA only
    channels_last: bool = True  # CUDA only
    seed: int = 0
    threads: int = 0  # torch intra-op threads on CPU; 0 = torch's default
    log_interval: int = 50  # steps between "interval" metric records
    workers: int = -1  # DataLoader workers; -1 = auto (see default_workers)
    data: DataSection = field(default_factory=DataSection)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in fields(cls)} - {"data"}
        cfg = cls(**{k: v for k, v in data.items() if k in names})
        data_fields = {f.name for f in fields(DataSection)}
        cfg.data = DataSection(**{k: v for k, v in (data.get("data") or {}).items() if k in data_fields})
        return cfg

    def validate(self) -> None:
        def need(cond: bool, flag: str, expected: str) -> None:
            if not cond:
                raise UserError(f"{flag}: {expected}")

        need(self.epochs >= 1, "--epochs", f"expected an integer >= 1, got {self.epochs}")
        need(self.batch_size >= 2, "--batch-size", f"expected an integer >= 2, got {self.batch_size}")
        need(self.lr > 0 and math.isfinite(self.lr), "--lr", f"expected a number > 0, got {self.lr}")
        need(self.weight_decay >= 0, "--weight-decay", f"expected a number >= 0, got {self.weight_decay}")
        need(self.warmup_epochs >= 0, "--warmup-epochs", f"expected a number >= 0, got {self.warmup_epochs}")
        need(0 <= self.label_smoothing < 1, "--label-smoothing", f"expected 0 <= x < 1, got {self.label_smoothing}")
        need(self.cutout >= 0, "--cutout", f"expected an integer >= 0 (pixels), got {self.cutout}")
        need(self.ema == 0 or 0 < self.ema < 1, "--ema", f"expected 0 (off) or a decay 0 < x < 1, got {self.ema}")
        need(self.lr_base_batch >= 0, "--lr-base-batch", f"expected an integer >= 0, got {self.lr_base_batch}")
        need(self.workers >= -1, "--workers", f"expected an integer >= 0 (or -1 for auto), got {self.workers}")
        need(self.data.train_subset >= 0 and self.data.test_subset >= 0, "--subset", "expected an integer >= 0")
        dev = self.device
        need(dev in ("auto", "cpu", "cuda") or dev.startswith("cuda:"), "--device", f"expected auto, cpu, cuda or cuda:N, got {dev!r}")


WARMUP_MAX_FRACTION = 0.2  # warm-up never takes more than this share of the run


def peak_lr(cfg: TrainConfig) -> float:
    """lr, scaled linearly from lr_base_batch to batch_size when lr_base_batch is set."""
    return cfg.lr * cfg.batch_size / cfg.lr_base_batch if cfg.lr_base_batch > 0 else cfg.lr


def warmup_steps(cfg: TrainConfig, steps_per_epoch: int) -> int:
    """warmup_epochs, capped at WARMUP_MAX_FRACTION of the run (a 2-epoch run warms up for 0.4)."""
    epochs = min(cfg.warmup_epochs, WARMUP_MAX_FRACTION * cfg.epochs)
    return int(round(epochs * steps_per_epoch))


def lr_at(cfg: TrainConfig, step: int, steps_per_epoch: int) -> float:
    """Linear warm-up from peak/100 (see warmup_steps), then cosine from the peak to 0 after the last step."""
    peak = peak_lr(cfg)
    total = max(1, cfg.epochs * steps_per_epoch)
    warm = min(total - 1, warmup_steps(cfg, steps_per_epoch))
    if step < warm:
        start = peak / 100
        return start + (peak - start) * step / warm
    progress = min(1.0, (step - warm) / max(1, total - warm))
    return 0.5 * peak * (1 + math.cos(math.pi * progress))


def param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Weight decay on conv and linear weights; none on BatchNorm parameters and biases."""
    decay, no_decay = [], []
    for param in model.parameters():
        if not param.requires_grad:
            continue
        (decay if param.ndim > 1 else no_decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def default_workers(device_type: str) -> int:
    """DataLoader workers when none are asked for: most cores on CUDA; none on CPU, where the
    training itself needs every core and decoding 32x32 images costs little beside it."""
    cpus = os.cpu_count() or 1
    if device_type == "cuda":
        return max(1, min(12, cpus - 2))
    return 0


def apply_toml(cfg: TrainConfig, path: str) -> TrainConfig:
    """Read a recipe file: a [train] table of TrainConfig keys and a [data] table of data keys."""
    from ..config import coerce
    from ..errors import ConfigError
    from ..tomlio import load_toml

    doc = load_toml(path)
    for section, target in (("train", cfg), ("data", cfg.data)):
        table = doc.pop(section, {})
        if not isinstance(table, dict):
            raise ConfigError(path, section, "expected a table")
        types = {f.name: f.type for f in fields(target) if f.name != "data"}
        for key, value in table.items():
            if key not in types:
                raise ConfigError(path, f"{section}.{key}", f"unknown key (expected one of {', '.join(sorted(types))})")
            setattr(target, key, coerce(value, types[key], path, f"{section}.{key}"))
    if doc:
        raise ConfigError(path, next(iter(doc)), "unknown section (expected [train] or [data])")
    return cfg
