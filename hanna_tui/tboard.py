"""TensorBoard event files for search and training runs (the paper visualised its runs there).

    sink = EventSink(run_dir / "tb")
    sink.scalars(step, {"loss": 1.2, "acc": 0.4, "lat": 0.05})   # tags as given ("search/loss" works)
    sink.theta_image(step, probs)                                  # 22 x 9 probabilities -> heatmap image
    sink.close()

When tensorboard is not installed every call is a no-op and one warning is issued per process.
Non-finite and non-numeric scalars are skipped.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from typing import Any

CELL_PX = 12  # pixels per theta cell in the heatmap
# a perceptually ordered ramp (dark blue -> teal -> yellow), interpolated linearly
RAMP = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))
MISSING_RGB = (128, 128, 128)

_warned = False


def _warn_once(reason: str) -> None:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(f"TensorBoard event files are off: {reason} (pip install 'hanna-tui[tensorboard]')", RuntimeWarning, stacklevel=3)


def _writer_class() -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:
        _warn_once(f"tensorboard is not installed ({exc})")
        return None
    return SummaryWriter


class EventSink:
    """Scalars and the theta heatmap as TensorBoard events under `logdir`."""

    def __init__(self, logdir: str | os.PathLike, flush_secs: int = 10) -> None:
        self.logdir = str(logdir)
        writer_class = _writer_class()
        self._writer = writer_class(log_dir=self.logdir, flush_secs=flush_secs) if writer_class else None

    @property
    def enabled(self) -> bool:
        return self._writer is not None

    def scalars(self, step: int, values: dict[str, Any]) -> None:
        if self._writer is None:
            return
        for tag, value in values.items():
            number = _finite(value)
            if number is not None:
                self._writer.add_scalar(tag, number, global_step=step)

    def theta_image(self, step: int, probs: Sequence[Sequence[float]] | Any, tag: str = "theta") -> None:
        """Layers as rows, candidates as columns; grey where a value is missing (NaN)."""
        if self._writer is None:
            return
        self._writer.add_image(tag, heatmap(probs), global_step=step, dataformats="HWC")

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> EventSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _finite(value: Any) -> float | None:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _rows(probs: Any) -> list[list[float]]:
    if hasattr(probs, "tolist"):
        probs = probs.tolist()
    return [[float(v) for v in row] for row in probs]


def colour(value: float) -> tuple[int, int, int]:
    """A value in [0, 1] on the ramp; NaN is grey."""
    if not math.isfinite(value):
        return MISSING_RGB
    x = min(1.0, max(0.0, value)) * (len(RAMP) - 1)
    i = min(int(x), len(RAMP) - 2)
    t = x - i
    lo, hi = RAMP[i], RAMP[i + 1]
    return tuple(round(a + (b - a) * t) for a, b in zip(lo, hi, strict=True))  # type: ignore[return-value]


def heatmap(probs: Any, cell: int = CELL_PX) -> Any:
    """An H x W x 3 uint8 tensor: each theta cell is a cell x cell block."""
    import torch

    rows = _rows(probs)
    grid = torch.tensor([[colour(v) for v in row] for row in rows], dtype=torch.uint8)
    return grid.repeat_interleave(cell, dim=0).repeat_interleave(cell, dim=1)
