"""Numbers for people: accuracy in %, latency and energy with units and 4 significant digits.

Pure functions (no torch, no textual) used by the CLI, the batch summary and the dashboard.
Accuracy is a fraction 0..1 everywhere in hanna-tui; pct() shows it in percent.
"""

from __future__ import annotations

import math

MISSING = "-"
SCALES_S = (("s", 1.0), ("ms", 1e-3), ("us", 1e-6))
SCALES_J = (("J", 1.0), ("mJ", 1e-3), ("uJ", 1e-6))


def num(value: float | None, unit: str = "", digits: int = 4) -> str:
    """value with `digits` significant digits and a unit; '-' when missing, 'inf' for infinity."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == 0:
        return f"0 {unit}".strip()
    return f"{value:.{digits}g} {unit}".strip()


def pick_scale(max_value: float, scales: tuple[tuple[str, float], ...]) -> tuple[str, float]:
    """The largest unit in which max_value is >= 1 (or the smallest unit)."""
    for unit, factor in scales:
        if max_value >= factor:
            return unit, factor
    return scales[-1]


def scaled(value: float | None, scales: tuple[tuple[str, float], ...], digits: int = 4) -> str:
    """value (in the base unit) in the unit that gives it an integer part: 0.01234 s -> 12.34 ms."""
    if value is None or not math.isfinite(value) or value == 0:
        return num(value, scales[0][0], digits)
    unit, factor = pick_scale(abs(value), scales)
    return num(value / factor, unit, digits)


def latency(seconds: float | None, digits: int = 4) -> str:
    return scaled(seconds, SCALES_S, digits)


def energy(joules: float | None, digits: int = 4) -> str:
    return scaled(joules, SCALES_J, digits)


def pct(fraction: float | None, decimals: int = 1) -> str:
    """An accuracy (a fraction 0..1) in percent: 0.994 -> 99.4%."""
    if fraction is None or (isinstance(fraction, float) and not math.isfinite(fraction)):
        return MISSING
    return f"{fraction * 100:.{decimals}f}%"


def dominance(ratio: float | None) -> str:
    """A dominance ratio: "-" when undefined (None: 0/0, no cost term at all, alpha = gamma = 0),
    "inf" when only the other term is 0 (x/0)."""
    if ratio is None or (isinstance(ratio, float) and math.isnan(ratio)):
        return MISSING
    return f"{ratio:.3g}"


def count(value: int | None) -> str:
    """A parameter or MAC count: 2_300_000 -> 2.3M."""
    if value is None:
        return MISSING
    for suffix, factor in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= factor:
            return f"{value / factor:.3g}{suffix}"
    return str(value)


def short_date(iso: str) -> str:
    return iso[:16].replace("T", " ") if iso else MISSING


def printable(text: str) -> str:
    """text safe for a terminal: control characters (ESC, BEL, CR, newline...) as visible escapes.

    A run id is a folder name, and a folder name can hold a terminal escape sequence.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
