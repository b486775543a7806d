"""Whole-network latency from a profile: what a plain sum of isolated block times misses.

Isolated blocks run with their weights and activations in cache, with no neighbours; a whole network
adds the stem, the head, per-layer call overheads and cache traffic that depends on the kind of
block. Two models, fitted on a few networks measured whole on the board (`hanna-tui profile` does it):

- "linear":        predicted = scale * LUT sum + offset_s
- "per-candidate": predicted = offset_s + sum over layers of candidate_scales[c] * LUT[layer][c]
                   + skip_s per skip layer. Fitted by ridge least squares (relative errors) toward the
                   linear fit's scale, so a handful of networks is enough. It is linear in the one-hot
                   choice, so it folds into an effective table (effective_table) that every consumer
                   of the LUT (cost, sample, the dashboard, the search's expected latency) uses as is:
                   the offset is spread evenly over the layers.

Stored in the profile's optional [calibration] section (method, scale, offset_s, candidate_scales,
skip_s, fitted_on, fit_mape, repeatability).

weight_params() gives the weights of an architecture (pure Python), the feature of the two-term model
that bench/lut_fidelity.py compares.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from ..profiles import DeviceProfile
from ..space import CANDIDATES, SearchSpace

Table = list[list[float]]
SKIP = next(i for i, c in enumerate(CANDIDATES) if c.is_skip)
RIDGE = 0.05  # weight of the pull toward the global scale, relative to the data term


@dataclass(frozen=True)
class Calibration:
    scale: float = 1.0
    offset_s: float = 0.0
    fitted_on: int = 0
    fit_mape: float = 0.0
    method: str = "linear"
    candidate_scales: list[float] = field(default_factory=list)
    skip_s: float = 0.0
    repeatability: float = 0.0  # median relative difference of the two measurement rounds of the fitted networks

    def predict(self, lut_sum_s: float) -> float:
        """The linear model (the per-candidate one needs the choices: predict_arch)."""
        return self.scale * lut_sum_s + self.offset_s

    def predict_arch(self, table: Table, choices: list[int]) -> float:
        if self.method != "per-candidate":
            return self.predict(sum(table[i][c] for i, c in enumerate(choices)))
        return self.offset_s + sum(self._cell(table, i, c) for i, c in enumerate(choices))

    def _cell(self, table: Table, layer: int, cand: int) -> float:
        if cand == SKIP:
            return self.candidate_scales[cand] * table[layer][cand] + self.skip_s
        return self.candidate_scales[cand] * table[layer][cand]

    def effective_table(self, table: Table) -> Table:
        """A table whose plain sum over any architecture is this calibration's prediction."""
        share = self.offset_s / len(table)
        if self.method != "per-candidate":
            return [[self.scale * v + share for v in row] for row in table]
        return [[self._cell(table, i, c) + share for c in range(len(row))] for i, row in enumerate(table)]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.method != "per-candidate":
            data.pop("candidate_scales")
            data.pop("skip_s")
        return data


def fit_linear(lut_sums: list[float], measured: list[float]) -> Calibration:
    """Least squares of measured = scale * sum + offset (relative errors weigh equally: 1/measured weights)."""
    if len(lut_sums) < 2 or len(lut_sums) != len(measured):
        raise ValueError("need at least two measured networks to fit a calibration")
    w = [1.0 / (m * m) for m in measured]
    sw = sum(w)
    sx = sum(wi * x for wi, x in zip(w, lut_sums, strict=True))
    sy = sum(wi * y for wi, y in zip(w, measured, strict=True))
    sxx = sum(wi * x * x for wi, x in zip(w, lut_sums, strict=True))
    sxy = sum(wi * x * y for wi, x, y in zip(w, lut_sums, measured, strict=True))
    det = sw * sxx - sx * sx
    if det == 0:
        return Calibration(1.0, (sy - sx) / sw, len(measured))
    scale = (sw * sxy - sx * sy) / det
    offset = (sy - scale * sx) / sw
    cal = Calibration(scale, offset, len(measured))
    return Calibration(scale, offset, len(measured), mape([cal.predict(x) for x in lut_sums], measured))


def features(table: Table, choices: list[int]) -> list[float]:
    """[1, LUT sum of the cells of candidate 0..8, number of skip layers]."""
    row = [1.0] + [0.0] * len(CANDIDATES) + [0.0]
    for i, c in enumerate(choices):
        row[1 + c] += table[i][c]
        if c == SKIP:
            row[-1] += 1.0
    return row


def fit_per_candidate(table: Table, archs: list[list[int]], measured: list[float], ridge: float = RIDGE) -> Calibration:
    """Ridge least squares of the per-candidate model on relative errors, pulled toward the linear fit."""
    base = fit_linear([sum(table[i][c] for i, c in enumerate(a)) for a in archs], measured)
    rows = [features(table, a) for a in archs]
    n = len(rows[0])
    weights = [1.0 / (m * m) for m in measured]
    ata = [[sum(w * r[i] * r[j] for w, r in zip(weights, rows, strict=True)) for j in range(n)] for i in range(n)]
    aty = [sum(w * r[i] * y for w, r, y in zip(weights, rows, measured, strict=True)) for i in range(n)]
    # the prior: each candidate scale near the global scale, the skip term near 0, in units where one
    # network's relative error is 1 (a feature's typical share of a network sets its strength)
    prior = [0.0] + [base.scale] * len(CANDIDATES) + [0.0]
    for j in range(1, n):
        typical = sum(w * r[j] * r[j] for w, r in zip(weights, rows, strict=True)) / len(rows)
        strength = ridge * len(rows) * max(typical, 1e-12)
        ata[j][j] += strength
        aty[j] += strength * prior[j]
    solution = solve(ata, aty)
    if solution is None:
        return base
    cal = Calibration(
        base.scale, solution[0], len(archs), 0.0, "per-candidate", [round(v, 6) for v in solution[1 : 1 + len(CANDIDATES)]], solution[-1]
    )
    fit = mape([cal.predict_arch(table, a) for a in archs], measured)
    return Calibration(cal.scale, cal.offset_s, cal.fitted_on, fit, cal.method, cal.candidate_scales, cal.skip_s)


def solve(a: list[list[float]], b: list[float]) -> list[float] | None:
    """Gaussian elimination with partial pivoting (None when singular)."""
    n = len(b)
    m = [row[:] + [v] for row, v in zip(a, b, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        if abs(m[col][col]) < 1e-300:
            return None
        for r in range(n):
            if r != col:
                f = m[r][col] / m[col][col]
                m[r] = [x - f * y for x, y in zip(m[r], m[col], strict=True)]
    return [m[i][n] / m[i][i] for i in range(n)]


def calibration_archs(space: SearchSpace, count: int, seed: int = 0) -> list[list[int]]:
    """Networks to measure whole: one per candidate (that candidate wherever allowed), then seeded random ones
    with a share of skip layers from 0 to 80 %.

    The one-candidate networks make each candidate's scale identifiable with few networks.
    """
    import random

    archs = []
    for cand in range(len(CANDIDATES)):
        archs.append([cand if cand in layer.allowed else layer.allowed[0] for layer in space.layers])
    rng = random.Random(seed)
    while len(archs) < count:  # random ones from sparse (mostly skip) to dense, so the fit spans what searches pick
        p_skip = 0.8 * (len(archs) - len(CANDIDATES)) / max(1, count - len(CANDIDATES) - 1)
        archs.append(
            [
                SKIP if SKIP in layer.allowed and rng.random() < p_skip else rng.choice([c for c in layer.allowed if c != SKIP])
                for layer in space.layers
            ]
        )
    return archs[:count]


def from_profile(profile: DeviceProfile) -> Calibration | None:
    data = getattr(profile, "calibration", None) or {}
    method = data.get("method")
    if method not in ("linear", "per-candidate"):
        return None
    try:
        scales = [float(v) for v in data.get("candidate_scales", [])]
        cal = Calibration(
            float(data["scale"]),
            float(data["offset_s"]),
            int(data.get("fitted_on", 0)),
            float(data.get("fit_mape", 0.0)),
            method,
            scales,
            float(data.get("skip_s", 0.0)),
            float(data.get("repeatability", 0.0)),
        )
    except (KeyError, TypeError, ValueError):
        return None
    if method == "per-candidate" and len(scales) != len(CANDIDATES):
        return None
    values = [cal.scale, cal.offset_s, cal.skip_s, *scales]
    return cal if all(math.isfinite(v) for v in values) else None


def calibrated_table(profile: DeviceProfile) -> Table:
    """The latency table (seconds) whose sums are whole-network predictions: calibrated when the profile has a calibration."""
    cal = from_profile(profile)
    table = profile.latency_s()
    return cal.effective_table(table) if cal else table


def predict_latency(profile: DeviceProfile, choices: list[int], calibrated: bool = True) -> float:
    """Seconds for a whole network: the LUT sum, calibrated when the profile carries a calibration."""
    cal = from_profile(profile) if calibrated else None
    table = profile.latency_s()
    return cal.predict_arch(table, choices) if cal else sum(table[i][c] for i, c in enumerate(choices))


def mape(predicted: list[float], measured: list[float]) -> float:
    return 100.0 * sum(abs(p - m) / m for p, m in zip(predicted, measured, strict=True)) / len(measured)


def within(predicted: list[float], measured: list[float], tolerance: float = 0.10) -> float:
    return sum(abs(p - m) <= tolerance * m for p, m in zip(predicted, measured, strict=True)) / len(measured)


def ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(a: list[float], b: list[float]) -> float:
    ra, rb = ranks(a), ranks(b)
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb, strict=True))
    var = math.sqrt(sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb))
    return cov / var if var else 0.0


def block_params(space: SearchSpace, layer_index: int, cand_index: int) -> int:
    """Weights of one candidate block (convolutions and BatchNorm affine), as blocks.py builds it."""
    cand, layer = CANDIDATES[cand_index], space.layers[layer_index]
    if cand.is_skip:
        return 0
    mid = layer.c_in * cand.expansion
    g = cand.group
    return layer.c_in * mid // g + 2 * mid + mid * cand.kernel * cand.kernel + 2 * mid + mid * layer.c_out // g + 2 * layer.c_out


def weight_params(space: SearchSpace, choices: list[int]) -> int:
    return sum(block_params(space, i, c) for i, c in enumerate(choices))


def fit_two(x1: list[float], x2: list[float], y: list[float]) -> tuple[float, float, float]:
    """Least squares y = a*x1 + b*x2 + c with 1/y^2 weights (relative errors); returns (a, b, c)."""
    rows = [(a, b, 1.0) for a, b in zip(x1, x2, strict=True)]
    w = [1.0 / (v * v) for v in y]
    ata = [[sum(wi * r[i] * r[j] for wi, r in zip(w, rows, strict=True)) for j in range(3)] for i in range(3)]
    aty = [sum(wi * r[i] * v for wi, r, v in zip(w, rows, y, strict=True)) for i in range(3)]
    return tuple(solve(ata, aty) or [0.0, 0.0, 0.0])
