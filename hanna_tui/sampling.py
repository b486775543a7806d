"""Sampling the childnet from theta: argmax (or a seeded draw) and its predicted cost -> arch.json."""

from __future__ import annotations

import os
from typing import Any

from .cost import CostModel
from .fsutil import atomic_write_json
from .profiles import DeviceProfile
from .space import SearchSpace
from .store import now_iso
from .theta import Theta, argmax_choices, choices_to_names, sample_choices, softmax_allowed


def sample_arch(
    theta: Theta,
    space: SearchSpace,
    profile: DeviceProfile,
    stochastic: bool = False,
    seed: int = 0,
) -> dict[str, Any]:
    choices = sample_choices(theta, space, seed) if stochastic else argmax_choices(theta, space)
    cost = CostModel(profile, space).arch_cost(choices)
    probs = softmax_allowed(theta, space)
    return {
        "space": space.name,
        "width_mult": profile.width_mult,  # the childnet is the profile's network, also after a proxy search
        "num_classes": space.num_classes,
        "method": f"stochastic (seed {seed})" if stochastic else "argmax",
        "choices": choices_to_names(choices),
        "indices": choices,
        "probabilities": [round(probs[i][c], 6) for i, c in enumerate(choices)],
        "predicted": {"latency_s": cost.latency_s, "energy_j": cost.energy_j},
        "units": {"latency": "s", "energy": "J"},
        "profile": profile.path,
        "profile_hash": profile.content_hash,
        "device": profile.device_name,
        "created": now_iso(),
    }


def write_arch(path: str | os.PathLike, arch: dict[str, Any]) -> None:
    atomic_write_json(path, arch)
