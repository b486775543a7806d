"""The loss knobs (alpha, beta, gamma, delta, form): one type, one validator, one dominance verdict.

Pure Python (no torch, no textual): the CLI, the dashboard, the config loader, the batch sweeps
and the search loss all use these.

alpha and gamma weight the latency and energy terms and must be >= 0 (0 switches a term off).
beta and delta are exponents: any finite number. A negative exponent is accepted (the authors'
released models use beta = -0.2) but then the term *decreases* as the cost grows, so the search is
rewarded for slower or costlier networks; knob_warnings() says so.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from .errors import ConfigError

KNOB_NAMES = ("alpha", "beta", "gamma", "delta")
WEIGHTS = ("alpha", "gamma")  # >= 0
FORMS = ("additive", "multiplicative")
NO_ENERGY_VERDICT = "latency only (no energy table)"


class KnobError(ConfigError, ValueError):
    """One knob out of range; .field names it, the message says what was expected."""

    def __init__(self, name: str, expected: str) -> None:
        super().__init__("knobs", name, expected)
        self.expected = expected


def check_knob(name: str, value: Any) -> float:
    """The one validator: a finite number, and >= 0 for the weights alpha and gamma."""
    if name not in KNOB_NAMES:
        raise KnobError(name, f"unknown knob (expected one of {', '.join(KNOB_NAMES)})")
    need = "a finite number >= 0" if name in WEIGHTS else "a finite number"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise KnobError(name, f"expected {need}, got {value!r}")
    if name in WEIGHTS and value < 0:
        raise KnobError(name, f"expected {need}, got {value!r}")
    return float(value)


def check_form(value: Any) -> str:
    if value not in FORMS:
        raise KnobError("form", f"expected one of {', '.join(FORMS)}, got {value!r}")
    return value


@dataclass(frozen=True)
class Knobs:
    """alpha * LAT^beta + gamma * ENER^delta (additive, HANNA eq. 2) or the multiplicative (FBNet) form."""

    alpha: float = 0.2
    beta: float = 0.6
    gamma: float = 0.2
    delta: float = 0.6
    form: str = "additive"

    def __post_init__(self) -> None:
        for name in KNOB_NAMES:
            object.__setattr__(self, name, check_knob(name, getattr(self, name)))
        check_form(self.form)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def knob_warnings(knobs: Knobs) -> list[str]:
    """Settings that are valid but probably not what the user means."""
    out = []
    for name, weight, term in (("beta", "alpha", "latency"), ("delta", "gamma", "energy")):
        exponent = getattr(knobs, name)
        if exponent < 0 and getattr(knobs, weight) > 0:
            slower = "slower" if term == "latency" else "costlier"
            out.append(
                f"{name} = {exponent:g} < 0: the {term} term shrinks as {term} grows, so the search is rewarded for {slower} networks"
            )
    return out


def penalty(value: float, factor: float, exponent: float) -> float:
    """factor * value ** exponent, 0 when the factor is 0; value clamped to 1e-12 as in the loss."""
    if factor == 0:
        return 0.0
    return factor * max(value, 1e-12) ** exponent


def ratio(num: float, den: float) -> float | None:
    """num / den; None for 0/0 and inf for x/0."""
    if den == 0:
        return None if num == 0 else math.inf
    return num / den


def _elasticity(cost_base: float, factor: float, exponent: float) -> float:
    """d log(factor * log(1 + x)^exponent) / d log x at x = cost in ms or mJ: the term's pull on the loss."""
    if factor == 0:
        return 0.0
    x = cost_base * 1e3
    shape = 1.0 if x <= 1e-12 else x / ((1 + x) * math.log1p(x))
    return abs(exponent) * shape


@dataclass(frozen=True)
class Dominance:
    """Which cost term the search will follow at the initial architecture (the paper's pre-visualisation)."""

    vlat: float
    vener: float
    energy_dominance: float | None  # vener / vlat; None when undefined, inf when vlat is 0
    latency_dominance: float | None
    dominant: str  # "energy", "latency" or "none"
    has_energy: bool

    @property
    def verdict(self) -> str:
        if self.dominant == "none":
            return "no cost term (alpha = gamma = 0)"
        if not self.has_energy:
            return NO_ENERGY_VERDICT
        return f"{self.dominant}-dominant"


def dominance(lat0: float, ener0: float | None, knobs: Knobs) -> Dominance:
    """The one dominance function for both loss forms.

    additive:       vLAT = alpha * LAT0^beta and vENER = gamma * ENER0^delta (seconds, joules), compared.
    multiplicative: alpha and gamma only scale the product, so what sets the balance is how strongly each
                    factor [alpha * log(1 + LAT_ms)^beta] reacts to a relative change of its cost at LAT0
                    (its elasticity, |beta| * x / ((1 + x) log(1 + x))); those two pulls are compared.
    A profile without an energy table has no energy term: the verdict says "latency only".
    """
    has_energy = ener0 is not None
    if knobs.form == "multiplicative":
        vlat = _elasticity(lat0, knobs.alpha, knobs.beta)
        vener = _elasticity(ener0, knobs.gamma, knobs.delta) if has_energy else 0.0
    else:
        vlat = penalty(lat0, knobs.alpha, knobs.beta)
        vener = penalty(ener0, knobs.gamma, knobs.delta) if has_energy else 0.0
    if vlat == 0 and vener == 0:
        dominant = "none"
    else:
        dominant = "energy" if vener > vlat else "latency"
    return Dominance(vlat, vener, ratio(vener, vlat), ratio(vlat, vener), dominant, has_energy)


def knobs_from_mapping(values: dict[str, Any], form: str | None = None) -> Knobs | None:
    """Knobs from a run's stored {"alpha": ..} (and loss_form); None when a number is missing or invalid."""
    if not all(isinstance(values.get(n), (int, float)) and not isinstance(values.get(n), bool) for n in KNOB_NAMES):
        return None
    try:
        return Knobs(**{n: values[n] for n in KNOB_NAMES}, form=form or str(values.get("form") or "additive"))
    except KnobError:
        return None
