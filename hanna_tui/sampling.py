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


def sample_run(run: Any, profile_path: str | None = None, stochastic: bool = False, seed: int = 0) -> dict[str, Any]:
    """The childnet of a run's latest theta under its own profile (or another one): plain Python,
    no torch, so the dashboard calls it directly. Raises UserError when there is nothing to sample."""
    from .config import load_config
    from .errors import UserError
    from .profiles import check_profile_matches, load_profile
    from .space import get_space
    from .theta import read_theta

    cfg = load_config(run.config_path)
    profile = load_profile(profile_path or cfg.profile.path)
    check_profile_matches(profile, cfg.space.name)
    space = get_space(cfg.space.name, cfg.space.width_mult, None)
    if not run.theta_path.is_file():
        raise UserError(f"{run.theta_path}: no theta yet (the search has not finished an epoch)")
    arch = sample_arch(read_theta(run.theta_path, space), space, profile, stochastic, seed)
    arch["run"] = run.id
    return arch
