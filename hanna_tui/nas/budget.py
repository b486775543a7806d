"""Search to a budget: one Lagrange multiplier per constraint, adapted by dual ascent during the search.

A search config may state budgets for the argmax childnet's predicted cost in ``[constraints]``:

    [constraints]
    latency_s = 3.2   # seconds, as the profile predicts them (calibrated when it has a calibration)
    energy_j = 6.0    # joules (the LUT sum; energy has no calibration)
    band = 0.06       # landing up to this share below a budget still counts as "at the budget"
    step = 10.0       # dual-ascent step of the multipliers, per theta step and unit of relative gap

Each constraint adds ``lambda * side * E[cost] / budget`` to the loss, E under softmax(theta) (the
noise-free expectation of eq. 4). ``side`` follows the argmax childnet's cost: 0 at the centre of the
band ``[budget * (1 - band), budget]``, rising linearly to +1 at the budget and beyond (cheaper networks
win) and falling to -1 at the band's floor and below (dearer networks win: the budget is a target to
land at, as with TuNAS's absolute-value reward, not only a ceiling). The weight ``lambda`` is adapted
by dual ascent on the argmax's gap: every theta step it grows by ``step * excess`` while the argmax lies
outside the band (excess = the distance to the band, relative to the budget) and decays by 5% while
inside it. The pull reverses on the step the argmax crosses the centre, which a signed integral
multiplier alone does not do (it overshoots by an epoch).

Every epoch record of metrics.jsonl gets, per constraint (``lat``, ``ener``): ``lambda_<c>`` (the
multiplier), ``gap_<c>`` (argmax cost / budget - 1, signed), ``budget_<c>`` and ``cost_<c>``
(the argmax childnet's predicted cost, in s or J).

The module imports no torch at load time: the budget range checks run in the CLI and batch mode.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..cost import CostModel
from ..errors import UserError

if TYPE_CHECKING:
    from ..config import ConstraintsSection
    from ..profiles import DeviceProfile

KINDS = ("lat", "ener")  # metric-key suffixes
CONFIG_KEYS = {"lat": "latency_s", "ener": "energy_j"}
UNITS = {"lat": "s", "ener": "J"}
IN_BAND_DECAY = 0.05  # share of lambda dropped per theta step while the argmax cost is in the band
LAMBDA_START = 1.0
LAMBDA_LIMIT = 50.0


def budget_range(profile: DeviceProfile, kind: str) -> tuple[float, float] | None:
    """Predicted cost of the cheapest and of the dearest architecture (None: the profile has no such table)."""
    model = CostModel(profile)
    table = model.latency if kind == "lat" else model.energy
    if table is None:
        return None
    # the CostModel's latency table is already the calibrated one (DeviceProfile.latency_model_s)
    cheapest, dearest = (sum(table[i][c] for i, c in enumerate(model.extreme(table, pick))) for pick in (min, max))
    return cheapest, dearest


def budgets(constraints: ConstraintsSection) -> dict[str, float]:
    """The constraints that are set: {"lat": seconds, "ener": joules}."""
    values = {kind: float(getattr(constraints, CONFIG_KEYS[kind])) for kind in KINDS}
    return {kind: value for kind, value in values.items() if value > 0}


def check_budgets(constraints: ConstraintsSection, profile: DeviceProfile, where: str = "constraints") -> None:
    """A budget outside what the profile's architectures can cost is refused in one line (exit 2)."""
    for kind, value in budgets(constraints).items():
        key, unit = CONFIG_KEYS[kind], UNITS[kind]
        span = budget_range(profile, kind)
        if span is None:
            raise UserError(f"{where}.{key}: {profile.path} has no energy table (expected no energy budget with this profile)")
        lo, hi = span
        if not lo <= value <= hi:
            raise UserError(
                f"{where}.{key}: {value:g} {unit} is outside what {profile.path} predicts for its architectures "
                f"(expected {lo:.4g} .. {hi:.4g} {unit}, the cheapest to the dearest)"
            )


class BudgetController:
    """The multipliers of one search (on the search's device) and the loss terms they weigh."""

    def __init__(self, constraints: ConstraintsSection, profile: DeviceProfile, latency, energy) -> None:
        import torch

        self.band = float(constraints.band)
        self.step = float(constraints.step)
        self.kinds = list(budgets(constraints))
        self.budget = {kind: value for kind, value in budgets(constraints).items()}
        tables = {"lat": latency, "ener": energy}
        self.tables = {kind: tables[kind] for kind in self.kinds}
        device = latency.device
        self.lam = torch.full((len(self.kinds),), LAMBDA_START, device=device)

    @property
    def active(self) -> bool:
        return bool(self.kinds)

    def penalty(self, probabilities, masked_theta, update: bool):
        """sum of lambda * side * E[cost] / budget for the loss; with update, one dual-ascent step first.

        side is +1 while the argmax childnet costs more than the budget, -1 while it costs less than
        the band's floor and 0 inside the band: the gradient of an absolute-value reward around the
        band, so the pull reverses the step the argmax crosses it (a signed integral alone overshoots).
        """
        import torch

        gaps = self._gaps(masked_theta.detach())
        half = self.band / 2
        if update:
            excess = torch.clamp(gaps, min=0.0) + torch.clamp(gaps + self.band, max=0.0)
            grown = (self.lam + self.step * excess.abs()).clamp(max=LAMBDA_LIMIT)
            self.lam = torch.where(excess == 0, self.lam * (1.0 - IN_BAND_DECAY), grown)
        side = ((gaps + half) / half).clamp(-1.0, 1.0)  # 0 at the band's centre, +-1 at and beyond its edges
        total = torch.zeros((), device=probabilities.device)
        for i, kind in enumerate(self.kinds):
            expected = (probabilities.float() * self.tables[kind]).sum()
            total = total + self.lam[i] * side[i] * expected / self.budget[kind]
        return total

    def _gaps(self, masked_theta):
        """Per constraint: the argmax childnet's cost / budget - 1."""
        import torch

        choices = masked_theta.argmax(dim=-1, keepdim=True)
        return torch.stack([self.tables[kind].gather(1, choices).sum() / self.budget[kind] - 1.0 for kind in self.kinds])

    def epoch_record(self, choices: list[int]) -> dict[str, float]:
        """lambda_<c>, gap_<c>, budget_<c>, cost_<c> of the argmax childnet, for the epoch record."""
        out: dict[str, float] = {}
        lam = self.lam.detach().float().cpu().tolist()
        for i, kind in enumerate(self.kinds):
            table = self.tables[kind]
            cost = sum(float(table[layer, c]) for layer, c in enumerate(choices))
            out[f"lambda_{kind}"] = lam[i]
            out[f"gap_{kind}"] = cost / self.budget[kind] - 1.0
            out[f"budget_{kind}"] = self.budget[kind]
            out[f"cost_{kind}"] = cost
        return out

    def describe(self, record: dict[str, float]) -> str:
        parts = [
            f"{kind} {record[f'cost_{kind}']:.4g}/{self.budget[kind]:.4g} {UNITS[kind]} lambda {record[f'lambda_{kind}']:+.3g}"
            for kind in self.kinds
        ]
        return "budget " + ", ".join(parts)

    def state_dict(self) -> dict[str, Any]:
        return {"kinds": list(self.kinds), "lambda": self.lam.detach().cpu().tolist()}

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        import torch

        if not state or list(state.get("kinds", [])) != self.kinds:
            return
        values = [float(v) if math.isfinite(float(v)) else 0.0 for v in state.get("lambda", [])]
        if len(values) == len(self.kinds):
            self.lam = torch.tensor(values, device=self.lam.device)
