"""What the History charts plot: accuracy vs latency, accuracy vs energy, latency vs energy (no textual).

Every run with both coordinates is a point (searches, baselines, measured results); the Pareto set
is pareto.py's over latency, energy and accuracy. Labels are placed on a character grid so that
they never overlap each other or a point, and a view without points says why.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .. import fmt
from .history import HistoryRow, pareto

VIEWS = {
    "acc-lat": ("latency", "accuracy", "accuracy vs latency"),
    "acc-ener": ("energy", "accuracy", "accuracy vs energy"),
    "lat-ener": ("latency", "energy", "latency vs energy"),
}
AXIS_TITLE = {"latency": "latency (s)", "energy": "energy (J)", "accuracy": "accuracy (%)"}
MARKERS = {"search": "•", "baseline": "■", "optimal": "◆"}
MEASURED_MARK = "▲"


@dataclass
class ChartPoint:
    row: HistoryRow
    x: float
    y: float
    measured: bool  # a coordinate comes from a deploy result (measured on the board)
    optimal: bool

    @property
    def group(self) -> str:
        return "optimal" if self.optimal else ("baseline" if self.row.s.kind == "baseline" else "search")


def axis_value(row: HistoryRow, axis: str, source: str) -> tuple[float | None, bool]:
    """(value, measured?) of one axis: accuracy in %, latency/energy measured or predicted per source."""
    s = row.s
    if axis == "accuracy":
        return (None if row.acc is None else row.acc * 100), False
    measured = s.measured_latency_s if axis == "latency" else s.measured_energy_j
    predicted = s.pred_latency_s if axis == "latency" else s.pred_energy_j
    if source == "measured" or (source == "auto" and measured is not None):
        return measured, measured is not None
    return predicted, False


def chart_points(rows: list[HistoryRow], view: str, source: str) -> list[ChartPoint]:
    x_axis, y_axis, _ = VIEWS[view]
    _placed, front = pareto(rows, source)
    out = []
    for r in rows:
        x, mx = axis_value(r, x_axis, source)
        y, my = axis_value(r, y_axis, source)
        if x is not None and y is not None:
            out.append(ChartPoint(r, float(x), float(y), mx or my, r.s.id in front))
    return out


def empty_reason(rows: list[HistoryRow], view: str, source: str) -> str:
    """Why a view has no point, in words the user can act on."""
    x_axis, y_axis, title = VIEWS[view]
    if not rows:
        return "No runs match the filter."
    axes = {x_axis, y_axis}
    if source == "measured" and not any(axis_value(r, a, "measured")[0] is not None for r in rows for a in axes - {"accuracy"}):
        return f"{title}: no run has been measured on a board yet (Deploy screen, 5), or press u for predicted costs."
    if "energy" in axes and not any(axis_value(r, "energy", source)[0] is not None for r in rows):
        return f"{title}: no run has an energy figure (its profile has no energy table and nothing was measured with a power sensor)."
    if "accuracy" in axes and not any(r.acc is not None for r in rows):
        return f"{title}: no run has an accuracy yet (searches report it after their first epoch, trainings after theirs)."
    return f"{title}: no run has both coordinates yet (sample a childnet with s on the Runs screen to get its predicted cost)."


def whole_ticks(lo: float, hi: float, most: int) -> list[int]:
    """Integer ticks from lo to hi, at most `most` of them, at a step of 1, 2 or 5 times a power of ten."""
    first, last = math.ceil(lo), math.floor(hi)
    if last < first:
        return [round(lo)]
    step = 1
    while (last - first) // step + 1 > max(1, most):
        step = next_step(step)
    ticks = list(range(math.ceil(first / step) * step, last + 1, step))
    if not ticks or ticks[0] - first >= step / 2:
        ticks.insert(0, first)  # the first epoch is labelled when the round ticks start well after it
    return ticks


def next_step(step: int) -> int:
    """1, 2, 5, 10, 20, 50, ..."""
    digits = len(str(step)) - 1
    lead = step // 10**digits
    return (2 if lead == 1 else 5 if lead == 2 else 10) * 10**digits


def limits(values: list[float], axis: str = "") -> tuple[float, float]:
    """An axis range with a margin, so that no point sits on the frame; accuracy stays in 0..100 %."""
    lo, hi = min(values), max(values)
    span = hi - lo or (abs(hi) or 1.0) * 0.2
    low, high = lo - 0.08 * span, hi + 0.08 * span
    if axis == "accuracy":
        low, high = max(0.0, low), min(100.0, high)
        if high <= low:
            low, high = max(0.0, high - 1.0), min(100.0, low + 1.0)
    return low, high


@dataclass
class Grid:
    """The plot's drawing area in character cells (plotext's frame, tick labels and title taken off)."""

    width: int
    height: int
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    left: int = 8  # the y tick labels and the axis line: History passes the width of its labels
    right: int = 1
    top: int = 2  # the title and the frame
    bottom: int = 3  # the frame, the x tick labels and the axis titles

    def cell(self, x: float, y: float) -> tuple[int, int]:
        cols, rows = max(1, self.width - self.left - self.right), max(1, self.height - self.top - self.bottom)
        fx = (x - self.xlim[0]) / ((self.xlim[1] - self.xlim[0]) or 1.0)
        fy = (y - self.ylim[0]) / ((self.ylim[1] - self.ylim[0]) or 1.0)
        return self.left + round(fx * (cols - 1)), self.top + round((1 - fy) * (rows - 1))

    def x_of(self, col: int) -> float:
        """The x of a cell, a quarter cell in: plotext's rounding (or flooring) lands on that cell."""
        cols = max(1, self.width - self.left - self.right)
        return self.xlim[0] + (col - self.left + 0.25) / max(1, cols - 1) * (self.xlim[1] - self.xlim[0])


def place_labels(points: list[ChartPoint], texts: list[str], grid: Grid) -> list[tuple[str, float, float]]:
    """(text, x, y) for the labels that fit beside their point without touching another label or point.

    Pareto-optimal points and baselines are placed first; a label that fits on neither side is left out.
    """
    cells = [grid.cell(p.x, p.y) for p in points]
    taken = {c for c in cells}
    order = sorted(range(len(points)), key=lambda i: (points[i].group == "search", points[i].x))
    placed = []
    labelled: set[tuple[int, int]] = set()
    for i in order:
        text = texts[i]
        if not text or cells[i] in labelled:
            continue  # a point drawn over another one: one label for the cell (the first in order)
        col, row = cells[i]
        sharing = sum(1 for c in cells if c == cells[i]) - 1
        if sharing:
            text = f"{text} +{sharing}"
        for start in (col + 2, col - 1 - len(text)):
            span = {(c, row) for c in range(start - 1, start + len(text) + 1)}
            inside = start >= grid.left and start + len(text) <= grid.width - grid.right
            if inside and not (span & taken):
                taken |= span
                labelled.add(cells[i])
                placed.append((text, grid.x_of(start), points[i].y))
                break
    return placed


LABEL_MAX = 16
STAMP = re.compile(r"^(\d{8})-(\d{2})(\d{2})(\d{2})")  # a run id made by the store: YYYYMMDD-HHMMSS-name


def short_name(name: str) -> str:
    """A run's name for a point label: the last part of a sweep's name ("front-sweep/lat-4.69s" ->
    "lat-4.69s"), its end kept when it is long (where sweep members differ)."""
    name = name.rsplit("/", 1)[-1]
    return name if len(name) <= LABEL_MAX else "…" + name[-(LABEL_MAX - 1) :]


def _stamp(run_id: str, seconds: bool) -> str:
    match = STAMP.match(run_id)
    if not match:
        return run_id[-6:]
    return f"{match[2]}:{match[3]}" + (f":{match[4]}" if seconds else "")


def unique_labels(points: list[ChartPoint]) -> list[str]:
    """Short labels that tell the points apart: the name, and where names repeat the id's time
    (HH:MM, else HH:MM:SS) or, for an id without one, its last characters."""
    names = [short_name(p.row.s.name or p.row.s.id) for p in points]
    out = list(names)
    for seconds in (False, True):
        counts: dict[str, int] = {}
        for label in out:
            counts[label] = counts.get(label, 0) + 1
        if all(n == 1 for n in counts.values()):
            break
        out = [
            f"{names[i]} {_stamp(p.row.s.id, seconds)}" if counts[out[i]] > 1 or (seconds and out[i] != names[i]) else out[i]
            for i, p in enumerate(points)
        ]
    return out


def point_labels(points: list[ChartPoint], view: str) -> list[str]:
    """Accuracy on the cost view; a short unique name where accuracy is an axis."""
    if view == "lat-ener":
        return [fmt.pct(p.row.acc, 0) if p.row.acc is not None else "" for p in points]
    return unique_labels(points)


def label_of(p: ChartPoint, view: str) -> str:
    """One point's label without the others to tell it from (point_labels names a whole chart's)."""
    if view == "lat-ener":
        return fmt.pct(p.row.acc, 0) if p.row.acc is not None else ""
    return short_name(p.row.s.name or p.row.s.id)
