"""What the knob readouts say beyond the dominance: the hardware penalty against the cross-entropy (no textual)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..knobs import penalty

HARDWARE_DOMINATES = 2.0  # penalty / CE0 above which accuracy hardly pulls the search any more


@dataclass(frozen=True)
class PenaltyVsCE:
    """At the start of a search (uniform theta, untrained weights): CE0 = ln(classes), the penalty beside it."""

    form: str
    ce0: float
    penalty0: float  # additive: vLAT + vENER; multiplicative: the factor CE is multiplied by
    ratio: float | None  # additive: penalty0 / CE0; multiplicative: None (the factor scales CE, it never outweighs it)

    @property
    def dominates(self) -> bool:
        return self.ratio is not None and self.ratio > HARDWARE_DOMINATES

    def sentence(self) -> str:
        if self.form == "multiplicative":
            return f"CE is multiplied by {self.penalty0:.3g}: accuracy keeps its pull (the factor only scales it)"
        if self.dominates:
            return (
                f"hardware terms are {self.ratio:.3g}× the cross-entropy: accuracy hardly matters, the search will "
                "drift to the cheapest network (skip layers); lower α or γ"
            )
        return f"hardware terms are {self.ratio:.3g}× the cross-entropy: accuracy and cost both pull"


def penalty_vs_ce(r: dict[str, Any], num_classes: int) -> PenaltyVsCE:
    """From a knob readout (cost.knob_readout) and the class count of the data."""
    ce0 = math.log(max(2, num_classes))
    if r.get("form") == "multiplicative":
        factor = 1.0
        if r["alpha"] > 0:
            factor *= penalty(math.log1p(r["lat0"] * 1e3), r["alpha"], r["beta"])
        if r["gamma"] > 0 and r.get("ener0") is not None:
            factor *= penalty(math.log1p(r["ener0"] * 1e3), r["gamma"], r["delta"])
        return PenaltyVsCE("multiplicative", ce0, factor, None)
    lat_term = penalty(r["lat0"], r["alpha"], r["beta"])
    ener_term = penalty(r["ener0"], r["gamma"], r["delta"]) if r.get("ener0") is not None else 0.0
    total = lat_term + ener_term
    return PenaltyVsCE("additive", ce0, total, total / ce0)
