"""Training checkpoints, written atomically (the whole file or nothing) and read back safely."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from ..errors import UserError
from ..fsutil import atomic_write_bytes

CHECKPOINT = "checkpoint.pt"


def save_blob(path: Path, blob: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    torch.save(blob, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_blob(path: Path) -> dict[str, Any]:
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torn, foreign or from an incompatible version
        raise UserError(f"{path}: cannot read the checkpoint ({str(exc).splitlines()[0]}); use --restart to start over") from None
    if not isinstance(blob, dict) or "model" not in blob or "epoch" not in blob:
        raise UserError(f"{path}: not a hanna-tui training checkpoint; use --restart to start over")
    return blob
