"""Pareto-optimal runs over named objectives (latency and energy minimised, accuracy maximised).

The History screen and the batch summary both mark run_front(): the non-dominated finished runs over
all three objectives, so a high-accuracy run that costs more is optimal in both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

Point = Mapping[str, float | None]


@dataclass(frozen=True)
class Objective:
    name: str
    maximise: bool = False

    def better_or_equal(self, a: float, b: float) -> bool:
        return a >= b if self.maximise else a <= b


LATENCY = Objective("latency")
ENERGY = Objective("energy")
ACCURACY = Objective("accuracy", maximise=True)
ALL = (LATENCY, ENERGY, ACCURACY)
COST = (LATENCY, ENERGY)


def dominates(a: Point, b: Point, objectives: Sequence[Objective] = ALL) -> bool:
    """a is at least as good as b in every objective and better in one."""
    if not all(o.better_or_equal(a[o.name], b[o.name]) for o in objectives):  # type: ignore[arg-type]
        return False
    return any(a[o.name] != b[o.name] for o in objectives)


def complete(point: Point | None, objectives: Sequence[Objective]) -> bool:
    return point is not None and all(
        isinstance(point.get(o.name), (int, float)) and not isinstance(point.get(o.name), bool) for o in objectives
    )


def front(points: Sequence[Point | None], objectives: Sequence[Objective] = ALL) -> set[int]:
    """Indices of the points that no other point dominates; points missing an objective take no part."""
    placed = [i for i, p in enumerate(points) if complete(p, objectives)]
    return {i for i in placed if not any(dominates(points[j], points[i], objectives) for j in placed if j != i)}  # type: ignore[arg-type]


def run_point(state: str, latency: float | None, energy: float | None, accuracy: float | None) -> dict[str, float | None] | None:
    """A run's objectives; only a finished run (state done) competes."""
    if state != "done":
        return None
    return {LATENCY.name: latency, ENERGY.name: energy, ACCURACY.name: accuracy}
