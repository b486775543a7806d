"""Number formatting for the dashboard (pure functions, no textual)."""

from __future__ import annotations

import math

SCALES_S = (("s", 1.0), ("ms", 1e-3), ("us", 1e-6))
SCALES_J = (("J", 1.0), ("mJ", 1e-3), ("uJ", 1e-6))


def num(value: float | None, unit: str = "", digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return "inf" if value == math.inf else "-"
    if value == 0:
        return f"0 {unit}".strip()
    return f"{value:.{digits}g} {unit}".strip()


def pick_scale(max_value: float, scales: tuple[tuple[str, float], ...]) -> tuple[str, float]:
    """The largest unit in which max_value is >= 1 (or the smallest unit)."""
    for unit, factor in scales:
        if max_value >= factor:
            return unit, factor
    return scales[-1]


def pct(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 100:.1f}%" if value <= 1.0 else f"{value:.1f}%"


def dominance(ratio: float | None) -> str:
    return "inf" if ratio is None else f"{ratio:.3g}"


def short_date(iso: str) -> str:
    return iso[:16].replace("T", " ") if iso else "-"
