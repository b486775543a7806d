"""The board's speed now against its speed when it was profiled, from reference networks measured alongside.

A board's speed drifts: thermal throttling on a Raspberry Pi, other tenants on a shared or virtual
machine. Measured on this project's 2-core VM: the same whole networks timed again a few minutes
after `hanna-tui profile` ran from 3 % faster to 14 % slower, with nothing else of ours running, while two
interleaved measurement rounds inside one agent run agreed within 1-2 %. Such a drift moves every
number of a run alike, so `deploy` (and bench/lut_fidelity.py) time two of the profile's calibration
networks in the same agent run as the network under test, interleaved with it, and scale the
prediction by the geometric mean of their times now over their times in the profile. The factor and
the references go into the result, beside the prediction as profiled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..profiles import DeviceProfile

REFERENCES = 2  # reference networks measured beside the network under test


@dataclass(frozen=True)
class Reference:
    choices: list[int]
    profiled_s: float  # in the profile's clock and statistic


def references(profile: DeviceProfile, count: int = REFERENCES) -> list[Reference]:
    """count of the profile's measured calibration networks, spread over their range of latency
    (none when the profile has no usable calibration networks)."""
    data = getattr(profile, "calibration", None) or {}
    names, times = data.get("networks") or [], data.get("networks_ms") or []
    if not isinstance(names, list) or not isinstance(times, list) or len(names) != len(times):
        return []
    layers = profile.space().layers
    usable = []
    for name, ms in zip(names, times, strict=True):
        try:
            choices = [int(c) for c in str(name).split(",")]
            seconds = float(ms) / 1e3
        except ValueError:
            continue
        allowed = len(choices) == len(layers) and all(c in layer.allowed for c, layer in zip(choices, layers, strict=True))
        if allowed and math.isfinite(seconds) and seconds > 0:
            usable.append(Reference(choices, seconds))
    usable.sort(key=lambda r: r.profiled_s)
    if len(usable) <= count:
        return usable
    picks = sorted({round((k + 1) * (len(usable) + 1) / (count + 1)) - 1 for k in range(count)})  # the inner quantiles
    return [usable[i] for i in picks]


def speed_factor(refs: list[Reference], now_s: list[float]) -> float:
    """Geometric mean of now / profiled over the references (1.0: as fast as when profiled)."""
    ratios = [now / ref.profiled_s for ref, now in zip(refs, now_s, strict=True) if now > 0 and math.isfinite(now)]
    if not ratios:
        raise ValueError("no reference network was measured")
    return math.exp(sum(math.log(r) for r in ratios) / len(ratios))


def describe(factor: float, count: int) -> str:
    """One clause for a result's note."""
    change = (factor - 1) * 100
    pace = f"{abs(change):.1f}% {'slower' if change > 0 else 'faster'} than" if abs(change) >= 0.05 else "as fast as"
    return f"{count} reference network{'s' if count != 1 else ''} of the profile ran {pace} when it was profiled: the prediction is scaled by x{factor:.3f}"


def speed_record(refs: list[Reference], now_s: list[float], clock: str, statistic: str) -> dict[str, Any]:
    factor = speed_factor(refs, now_s)
    return {
        "factor": factor,
        "clock": clock,
        "statistic": statistic,
        "references": [
            {"choices": ",".join(str(c) for c in r.choices), "profiled_s": r.profiled_s, "now_s": now}
            for r, now in zip(refs, now_s, strict=True)
        ],
    }
