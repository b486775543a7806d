"""What makes a training step fast on one GPU: fused optimizers, torch.compile, and a weight EMA."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

EMA_STATS = ("running_mean", "running_var")  # buffers that are averaged like the weights


def optimizer_options(device: torch.device) -> dict[str, Any]:
    """fused=True on CUDA (one kernel for the whole update); torch's default elsewhere."""
    return {"fused": True} if device.type == "cuda" else {}


def compiled(model: nn.Module, say: Callable[[str], None]) -> nn.Module:
    """torch.compile(model), or the model itself (with one line) where compiling is not possible.

    Compilation happens at the first call; a failure there is caught by the trainer's step,
    which falls back to the eager model the same way.
    """
    try:
        return torch.compile(model)  # type: ignore[return-value]
    except Exception as exc:  # noqa: BLE001 - any failure means: run eagerly
        say(f"torch.compile unavailable ({type(exc).__name__}: {str(exc).strip()[:120]}); training eagerly")
        return model


class WeightAverage:
    """An exponential moving average of a model's weights and BatchNorm statistics.

    The decay ramps up as min(decay, (1 + n) / (10 + n)) after n updates, so a short run is not
    dominated by its random start. Other buffers (CondenseNet's masks and stage) are copied.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.updates = 0
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.track(model)

    def track(self, model: nn.Module) -> None:
        """Pair each averaged tensor with the live one (again after a model changed its buffers)."""
        live, mine = model.state_dict(), self.model.state_dict()
        names = {n for n, _ in model.named_parameters()}
        averaged = [k for k, v in live.items() if v.is_floating_point() and (k in names or k.endswith(EMA_STATS))]
        self.pairs = ([mine[k] for k in averaged], [live[k] for k in averaged])
        copied = [k for k in live if k not in set(averaged)]
        self.copies = ([mine[k] for k in copied], [live[k] for k in copied])

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        torch._foreach_lerp_(self.pairs[0], self.pairs[1], 1.0 - decay)
        for mine, live in zip(*self.copies, strict=True):
            mine.copy_(live)

    @torch.no_grad()
    def copy_to(self, model: nn.Module) -> None:
        model.load_state_dict(self.model.state_dict())

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.updates = int(state["updates"])
