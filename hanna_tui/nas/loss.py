"""The search loss: cross-entropy plus the latency and energy terms.

``additive`` (HANNA, paper eq. 2), LAT in seconds and ENER in joules:

    loss = CE + alpha * LAT^beta + gamma * ENER^delta

``multiplicative`` (FBNet's form, extended with the energy term the same way):

    loss = CE * [alpha * log(LAT_ms)^beta] * [gamma * log(ENER_mJ)^delta]

FBNet's LUT was in milliseconds, so the multiplicative form takes the log of the cost in
milliseconds and millijoules (log(1 + x), so that it stays positive and differentiable on a
fast board). A factor whose knob (alpha or gamma) is 0 is left out (it counts as 1), so
alpha = 0 or gamma = 0 switches that term off in both forms instead of zeroing the loss.
A profile without an energy table contributes no energy term.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..knobs import FORMS, Knobs


@dataclass
class LossParts:
    loss: torch.Tensor
    ce: torch.Tensor
    lat: torch.Tensor  # expected latency, s
    ener: torch.Tensor  # expected energy, J


def _power(value: torch.Tensor, factor: float, exponent: float) -> torch.Tensor:
    return factor * value.clamp_min(1e-12).pow(exponent)


def cost_penalty(lat: torch.Tensor, ener: torch.Tensor, knobs: Knobs, has_energy: bool = True) -> torch.Tensor:
    """alpha*LAT^beta + gamma*ENER^delta (additive) or the multiplicative factor (>0)."""
    use_energy = has_energy and knobs.gamma > 0
    if knobs.form == "additive":
        out = torch.zeros((), device=lat.device)
        if knobs.alpha > 0:
            out = out + _power(lat, knobs.alpha, knobs.beta)
        if use_energy:
            out = out + _power(ener, knobs.gamma, knobs.delta)
        return out
    if knobs.form == "multiplicative":
        out = torch.ones((), device=lat.device)
        if knobs.alpha > 0:
            out = out * _power(torch.log1p(lat * 1e3), knobs.alpha, knobs.beta)
        if use_energy:
            out = out * _power(torch.log1p(ener * 1e3), knobs.gamma, knobs.delta)
        return out
    raise ValueError(f"unknown loss form {knobs.form!r} (expected one of {', '.join(FORMS)})")


def search_loss(
    logits: torch.Tensor, target: torch.Tensor, lat: torch.Tensor, ener: torch.Tensor, knobs: Knobs, has_energy: bool = True
) -> LossParts:
    ce = F.cross_entropy(logits.float(), target)
    penalty = cost_penalty(lat.float(), ener.float(), knobs, has_energy)
    loss = ce + penalty if knobs.form == "additive" else ce * penalty
    return LossParts(loss, ce, lat, ener)
