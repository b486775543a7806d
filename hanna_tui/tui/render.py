"""Rich renderables for heatmaps and readouts (theta probabilities, profile lookup tables)."""

from __future__ import annotations

from rich.color import Color
from rich.color_triplet import ColorTriplet
from rich.style import Style
from rich.text import Text

from ..space import CANDIDATE_NAMES

RAMP = ("#1b2a4a", "#23577e", "#2a8c8c", "#70b85a", "#e3d23c")
SHORT = ("3e1", "3g2", "3e3", "3e6", "5e1", "5g2", "5e3", "5e6", "skp")


def _rgb(hex_color: str) -> tuple[int, int, int]:
    t = Color.parse(hex_color).get_truecolor()
    return t.red, t.green, t.blue


_RAMP_RGB = [_rgb(c) for c in RAMP]


def ramp(value: float) -> Style:
    """A background from dark blue (0) to yellow (1), with readable text on it."""
    v = min(1.0, max(0.0, value)) * (len(_RAMP_RGB) - 1)
    i = min(int(v), len(_RAMP_RGB) - 2)
    f = v - i
    a, b = _RAMP_RGB[i], _RAMP_RGB[i + 1]
    rgb = tuple(int(a[k] + (b[k] - a[k]) * f) for k in range(3))
    light = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] > 140
    return Style(bgcolor=Color.from_triplet(ColorTriplet(*rgb)), color="black" if light else "white")


def theta_heatmap(probs: list[list[float]], mask: list[list[bool]], argmax: list[int]) -> Text:
    """Candidates as rows, layers as columns (compact); argmax marked with a dot, padded cells blank."""
    text = Text()
    text.append("lyr " + "".join(f"{i % 10:>2d}" for i in range(len(probs))) + "\n", style="dim")
    for j in range(len(CANDIDATE_NAMES)):
        text.append(f"{SHORT[j]} ")
        for i, row in enumerate(probs):
            if not mask[i][j]:
                text.append("  ")
            else:
                text.append(" ●" if argmax[i] == j else "  ", style=ramp(row[j]))
        text.append("\n")
    text.append("p = ", style="dim")
    for k in range(6):
        text.append(f"{k / 5:.1f} ", style=ramp(k / 5))
    text.append(" ● argmax", style="dim")
    return text


def table_heatmap(
    table: list[list[float]], mask: list[list[bool]], unit: str, factor: float, marks: set[tuple[int, int]] | None = None
) -> Text:
    """A lookup table in a display unit (the caller's heading names it), layers as rows; marked cells
    (quirks) get a '!'. 58 columns wide: it fits beside the profile list on an 80-column terminal."""
    marks = marks or set()
    values = [table[i][j] for i in range(len(table)) for j in range(len(table[i])) if mask[i][j]]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    span = (hi - lo) or 1.0
    text = Text()
    text.append(f"{'lyr':<4s}" + "".join(f"{s:>5s} " for s in SHORT).rstrip() + "\n", style="bold")
    for i, row in enumerate(table):
        text.append(f"{i:>3d} ")
        for j, value in enumerate(row):
            if not mask[i][j]:
                text.append("      ")
                continue
            flag = "!" if (i, j) in marks else " "
            text.append(f"{_cell(value / factor)}{flag}", style=ramp((value - lo) / span))
        text.append("\n")
    return text


def _cell(value: float) -> str:
    if value == 0:
        return "    0"
    if value >= 1000:
        return f"{value:5.0f}"
    if value >= 100:
        return f"{value:5.1f}"
    if value >= 10:
        return f"{value:5.2f}"
    return f"{value:5.3f}"[:5]
