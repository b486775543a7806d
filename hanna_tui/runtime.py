"""What a long job needs from the machine: the device, mixed precision, seeds, RNG state, the stop flag.

Used by the search service (hanna_tui.nas.run), the search loop and the trainer; imports torch, so the
dashboard never imports it.
"""

from __future__ import annotations

import random
import signal
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import torch

from .errors import UserError


class Cancelled(Exception):
    """SIGTERM or SIGINT arrived; the loop stopped at a batch boundary."""


class StopFlag:
    """Turns SIGTERM/SIGINT into a flag the loop checks between batches (one per process)."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._old: dict[int, Any] = {}

    def install(self) -> None:
        if self._old:
            return
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._old[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)
        self._old = {}

    def _handle(self, signum: int, frame: Any) -> None:
        self.signal = signum

    @property
    def reason(self) -> str:
        """The signal's name (SIGTERM) once one arrived, else ''."""
        return signal.Signals(self.signal).name if self.signal is not None else ""

    def __bool__(self) -> bool:
        return self.signal is not None

    def check(self) -> None:
        if self.signal is not None:
            raise Cancelled(self.reason)

    @contextmanager
    def installed(self) -> Iterator[StopFlag]:
        """Installed for the block (signal handlers exist only in the main thread; elsewhere a no-op)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        self.install()
        try:
            yield self
        finally:
            self.restore()


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
