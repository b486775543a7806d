"""History rows: what the history table, the Pareto view and the comparison show of each run (no textual)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..knobs import dominance, knobs_from_mapping
from ..pareto import front, run_point
from ..store import RunSummary
from .details import cost_model

_INITIAL: dict[str, tuple[float, float | None] | None] = {}


def initial_cost(profile_path: str) -> tuple[float, float | None] | None:
    """(LAT0, ENER0) of a profile, cached."""
    if profile_path not in _INITIAL:
        model = cost_model(profile_path) if profile_path else None
        cost = model.initial_cost() if model else None
        _INITIAL[profile_path] = (cost.latency_s, cost.energy_j) if cost else None
    return _INITIAL[profile_path]


@dataclass
class HistoryRow:
    s: RunSummary
    energy_dominance: float | None
    dominant: str  # energy, latency, none; "-" without knobs, "?" without a readable profile
    verdict: str = ""

    @property
    def acc(self) -> float | None:
        return self.s.top1 if self.s.top1 is not None else self.s.search_acc

    def point(self, source: str) -> tuple[float, float] | None:
        """(latency, energy) from 'predicted', 'measured' or 'auto' (measured when there is one)."""
        measured = (self.s.measured_latency_s, self.s.measured_energy_j)
        predicted = (self.s.pred_latency_s, self.s.pred_energy_j)
        if source == "measured" or (source == "auto" and None not in measured):
            pick = measured
        else:
            pick = predicted
        return (float(pick[0]), float(pick[1])) if None not in pick else None

    def text(self) -> str:
        s = self.s
        return f"{s.id} {s.name} {s.kind} {s.state} {s.device} {s.mode} {s.space} {s.target}".lower()


def history_row(s: RunSummary) -> HistoryRow:
    knobs = knobs_from_mapping(s.knobs, s.loss_form)
    if knobs is None:
        return HistoryRow(s, None, "-")
    costs = initial_cost(s.profile)
    if costs is None:
        return HistoryRow(s, None, "?")
    dom = dominance(*costs, knobs)
    return HistoryRow(s, dom.energy_dominance, dom.dominant, dom.verdict)


FIELDS = {"state", "kind", "device", "mode", "space", "target", "profile", "name", "id"}


def matches(row: HistoryRow, query: str) -> bool:
    """Words match anywhere; key=value matches one field (state=done kind=baseline device=rpi3b)."""
    haystack = row.text()
    for token in query.lower().split():
        key, sep, value = token.partition("=")
        if sep and key in FIELDS:
            if value not in str(getattr(row.s, key, "")).lower():
                return False
        elif token not in haystack:
            return False
    return True


SORT_KEYS: dict[str, Any] = {
    "run": lambda r: r.s.id,
    "state": lambda r: r.s.state,
    "search acc": lambda r: r.s.search_acc if r.s.search_acc is not None else -1,
    "top-1": lambda r: r.s.top1 if r.s.top1 is not None else -1,
    "E[LAT]": lambda r: r.s.exp_latency_s if r.s.exp_latency_s is not None else float("inf"),
    "argmax LAT": lambda r: r.s.argmax_latency_s if r.s.argmax_latency_s is not None else float("inf"),
    "argmax ENER": lambda r: r.s.argmax_energy_j if r.s.argmax_energy_j is not None else float("inf"),
    "E/L": lambda r: r.energy_dominance if r.energy_dominance is not None else -1,
    "α": lambda r: r.s.knobs.get("alpha", -1),
    "β": lambda r: r.s.knobs.get("beta", -1),
    "γ": lambda r: r.s.knobs.get("gamma", -1),
    "δ": lambda r: r.s.knobs.get("delta", -1),
    "kind": lambda r: r.s.kind,
    "MACs": lambda r: r.s.macs or 0,
    "mLAT": lambda r: r.s.measured_latency_s if r.s.measured_latency_s is not None else float("inf"),
    "mENER": lambda r: r.s.measured_energy_j if r.s.measured_energy_j is not None else float("inf"),
    "device": lambda r: r.s.device,
    "date": lambda r: r.s.created,
}


def pareto(rows: list[HistoryRow], source: str) -> tuple[list[tuple[HistoryRow, tuple[float, float]]], set[str]]:
    """Rows that have a (latency, energy) point, and the ids of the Pareto-optimal finished runs.

    Optimal over latency, energy and accuracy (pareto.ALL), as in the batch summary.
    """
    placed = [(r, p) for r in rows if (p := r.point(source)) is not None]
    points = [run_point(r.s.state, lat, ener, r.acc) for r, (lat, ener) in placed]
    return placed, {placed[i][0].s.id for i in front(points)}
