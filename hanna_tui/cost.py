"""Predicted cost of architectures from a device profile (paper eq. 4) and the knob pre-visualisation.

Pure Python: the TUI reads these numbers without importing torch. Everything is in seconds and
joules, whatever unit the profile stores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .knobs import Knobs, dominance, knob_warnings
from .profiles import DeviceProfile
from .space import CANDIDATE_NAMES, SearchSpace

Probs = list[list[float]]


@dataclass(frozen=True)
class ArchCost:
    latency_s: float
    energy_j: float | None


class CostModel:
    """LUT sums over the allowed candidates of each layer; padded cells never count."""

    def __init__(self, profile: DeviceProfile, space: SearchSpace | None = None) -> None:
        self.profile = profile
        self.space = space or profile.space()
        self.latency = profile.latency_model_s()  # calibrated when the profile has a [calibration]
        self.energy = profile.energy_j()
        self.allowed = [layer.allowed for layer in self.space.layers]

    @property
    def has_energy(self) -> bool:
        return self.energy is not None

    def arch_cost(self, choices: list[int]) -> ArchCost:
        self._check_choices(choices)
        lat = sum(self.latency[i][c] for i, c in enumerate(choices))
        ener = sum(self.energy[i][c] for i, c in enumerate(choices)) if self.energy else None
        return ArchCost(lat, ener)

    def expected_cost(self, probs: Probs) -> ArchCost:
        """E[LAT] and E[ENER] under per-layer probabilities (22 x 9, padded cells ignored)."""
        lat = sum(probs[i][j] * self.latency[i][j] for i, allowed in enumerate(self.allowed) for j in allowed)
        ener = None
        if self.energy:
            ener = sum(probs[i][j] * self.energy[i][j] for i, allowed in enumerate(self.allowed) for j in allowed)
        return ArchCost(lat, ener)

    def uniform_probs(self) -> Probs:
        width = len(CANDIDATE_NAMES)
        return [[1.0 / len(allowed) if j in allowed else 0.0 for j in range(width)] for allowed in self.allowed]

    def initial_cost(self) -> ArchCost:
        """LAT0 and ENER0: the expectation at the initial (uniform) theta."""
        return self.expected_cost(self.uniform_probs())

    def extreme(self, table: list[list[float]], pick=min) -> list[int]:
        return [pick(allowed, key=lambda j, i=i: table[i][j]) for i, allowed in enumerate(self.allowed)]

    def extremes(self) -> dict[str, dict]:
        """Cheapest and dearest architectures by latency and by energy (the sums are separable per layer)."""
        out = {}
        for label, table in (("latency", self.latency), ("energy", self.energy)):
            if table is None:
                continue
            for kind, pick in (("min", min), ("max", max)):
                choices = self.extreme(table, pick)
                cost = self.arch_cost(choices)
                out[f"{label}_{kind}"] = {
                    "choices": [CANDIDATE_NAMES[c] for c in choices],
                    "latency_s": cost.latency_s,
                    "energy_j": cost.energy_j,
                }
        return out

    def _check_choices(self, choices: list[int]) -> None:
        if len(choices) != len(self.allowed):
            raise ValueError(f"expected {len(self.allowed)} layer choices, got {len(choices)}")
        for i, c in enumerate(choices):
            if c not in self.allowed[i]:
                raise ValueError(f"layer {i}: candidate {CANDIDATE_NAMES[c] if 0 <= c < len(CANDIDATE_NAMES) else c} is not allowed there")


def knob_readout(model: CostModel, knobs: Knobs) -> dict:
    """The paper's pre-visualisation: vLAT = alpha*LAT0^beta, vENER = gamma*ENER0^delta and the dominance.

    For the multiplicative form vLAT and vENER are the terms' pulls (see knobs.dominance).
    """
    cost = model.initial_cost()
    lat0, ener0 = cost.latency_s, cost.energy_j
    dom = dominance(lat0, ener0, knobs)
    ext = model.extremes()
    out = {
        "profile": model.profile.path,
        "device": model.profile.device_name,
        "space": model.space.name,
        "alpha": knobs.alpha,
        "beta": knobs.beta,
        "gamma": knobs.gamma,
        "delta": knobs.delta,
        "form": knobs.form,
        "latency_unit": "s",
        "energy_unit": "J",
        "lat0": lat0,
        "ener0": ener0,
        "vlat": dom.vlat,
        "vener": dom.vener,
        "energy_dominance": _finite_or_none(dom.energy_dominance),
        "latency_dominance": _finite_or_none(dom.latency_dominance),
        "dominant": dom.dominant,
        "verdict": dom.verdict,
        "warnings": knob_warnings(knobs),
        "lat_min": ext["latency_min"]["latency_s"],
        "lat_max": ext["latency_max"]["latency_s"],
        "ener_min": ext["energy_min"]["energy_j"] if "energy_min" in ext else None,
        "ener_max": ext["energy_max"]["energy_j"] if "energy_max" in ext else None,
        "cheapest_latency_arch": ext["latency_min"]["choices"],
        "dearest_latency_arch": ext["latency_max"]["choices"],
        "cheapest_energy_arch": ext.get("energy_min", {}).get("choices"),
        "dearest_energy_arch": ext.get("energy_max", {}).get("choices"),
    }
    return out


def _finite_or_none(value: float | None) -> float | None:
    if value is None or math.isinf(value):
        return None
    return value
