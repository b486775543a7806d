"""What a long job needs from the machine: the device, mixed precision, seeds, RNG state, the stop flag.

Used by the search service (hanna_tui.nas.run), the search loop and the trainer; imports torch, so the
dashboard never imports it.
"""

from __future__ import annotations

import random
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch

from .errors import UserError
from .stopping import Cancelled, StopFlag  # noqa: F401 - re-exported; the stop flag lives torch-free


def pick_device(name: str, option: str = "run.device") -> torch.device:
    """auto: CUDA when there is one, else the CPU; a CUDA device that is not there is bad input
    (named as the user gave it: run.device in a config, --device on the command line)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"{option}: {name} requested but CUDA is not available here (expected cpu or auto)")
    try:
        return torch.device(name)
    except RuntimeError:
        raise UserError(f"{option}: {name!r} is not a device (expected auto, cpu, cuda or cuda:N)") from None


def amp_dtype(device: torch.device, enabled: bool = True) -> torch.dtype | None:
    """The autocast dtype on CUDA (bfloat16 where supported, else float16); None elsewhere."""
    if device.type != "cuda" or not enabled:
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def memory_format(device: torch.device, channels_last: bool = True) -> torch.memory_format:
    """channels_last on CUDA (cuDNN's fast convolutions under autocast); the default layout elsewhere."""
    return torch.channels_last if channels_last and device.type == "cuda" else torch.contiguous_format


def autocast(dtype: torch.dtype | None) -> AbstractContextManager:
    if dtype is None:
        return nullcontext()
    return torch.autocast("cuda", dtype=dtype)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
