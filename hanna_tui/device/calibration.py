"""Whole-network latency from a profile: the plain LUT sum misses the stem, the head and per-call
overheads; a linear calibration fitted on a few measured networks corrects that.

Stored in the profile's optional [calibration] section:
    method = "linear"; scale; offset_s; fitted_on (networks); fit_mape (on those networks)
predicted_s = scale * sum_of_block_latencies_s + offset_s

weight_params() gives the weights of an architecture (pure Python), the feature of the
two-term model that bench/lut_fidelity.py tries too: isolated blocks keep their weights in cache,
a whole network streams them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from ..cost import CostModel
from ..profiles import DeviceProfile
from ..space import CANDIDATES, SearchSpace


@dataclass(frozen=True)
class Calibration:
    scale: float = 1.0
    offset_s: float = 0.0
    fitted_on: int = 0
    fit_mape: float = 0.0
    method: str = "linear"

    def predict(self, lut_sum_s: float) -> float:
        return self.scale * lut_sum_s + self.offset_s

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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


def from_profile(profile: DeviceProfile) -> Calibration | None:
    data = getattr(profile, "calibration", None) or {}
    if data.get("method") != "linear":
        return None
    return Calibration(float(data["scale"]), float(data["offset_s"]), int(data.get("fitted_on", 0)), float(data.get("fit_mape", 0.0)))


def predict_latency(profile: DeviceProfile, choices: list[int], calibrated: bool = True) -> float:
    """Seconds for a whole network: the LUT sum, calibrated when the profile carries a calibration."""
    lut = CostModel(profile).arch_cost(choices).latency_s
    cal = from_profile(profile) if calibrated else None
    return cal.predict(lut) if cal else lut


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
    return tuple(_solve3(ata, aty))


def _solve3(a: list[list[float]], b: list[float]) -> list[float]:
    m = [row[:] + [v] for row, v in zip(a, b, strict=True)]
    for col in range(3):
        pivot = max(range(col, 3), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        if m[col][col] == 0:
            return [0.0, 0.0, 0.0]
        for r in range(3):
            if r != col:
                f = m[r][col] / m[col][col]
                m[r] = [x - f * y for x, y in zip(m[r], m[col], strict=True)]
    return [m[i][3] / m[i][i] for i in range(3)]
