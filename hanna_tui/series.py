"""Plotting long histories: at most K points per series, whatever the length of the run.

The dashboard's plots and any other reader of a metrics history call these on what a
MetricsFollower (hanna_tui/tui/runindex.py) or Run.metrics() returned; nothing here imports
textual or torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MAX_PLOT_POINTS = 2000


def stride_indices(length: int, max_points: int) -> list[int]:
    """At most ``max_points`` evenly spaced indices of range(length), the first and last included."""
    if max_points <= 0 or length <= 0:
        return []
    if length <= max_points:
        return list(range(length))
    if max_points == 1:
        return [length - 1]
    step = (length - 1) / (max_points - 1)
    return sorted({round(i * step) for i in range(max_points)})


def downsample(xs: Sequence[float], ys: Sequence[float], max_points: int = MAX_PLOT_POINTS) -> tuple[list[float], list[float]]:
    """One series (x, y) thinned to at most ``max_points`` points by a stride (ends kept)."""
    keep = stride_indices(min(len(xs), len(ys)), max_points)
    return [xs[i] for i in keep], [ys[i] for i in keep]


def thin_records(records: Sequence[dict[str, Any]], max_intervals: int = MAX_PLOT_POINTS) -> list[dict[str, Any]]:
    """Every record that is not an interval (epochs, resume markers), plus a stride over the
    interval records so that at most ``max_intervals`` of them stay; the order is kept."""
    intervals = [i for i, r in enumerate(records) if r.get("kind") == "interval"]
    keep = {intervals[i] for i in stride_indices(len(intervals), max_intervals)}
    return [r for i, r in enumerate(records) if r.get("kind") != "interval" or i in keep]
