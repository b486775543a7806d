"""What the monitor shows of one run: config, theta probabilities, argmax arch and its cost (no textual)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..config import load_config
from ..cost import CostModel
from ..errors import UserError
from ..profiles import load_profile
from ..space import SearchSpace, get_space
from ..store import Run
from ..theta import argmax_choices, read_theta, softmax_allowed
from .runindex import MetricsFollower

_MODELS: dict[str, CostModel | None] = {}


def cost_model(profile_path: str, space: SearchSpace | None = None) -> CostModel | None:
    """A cached cost model of a profile (None when it cannot be loaded)."""
    key = f"{profile_path}|{space.name if space else ''}"
    if key not in _MODELS:
        try:
            profile = load_profile(profile_path)
            _MODELS[key] = CostModel(profile, space) if space is not None else CostModel(profile)
        except (UserError, ValueError, OSError):
            _MODELS[key] = None
    return _MODELS[key]


@dataclass
class ThetaView:
    probs: list[list[float]]
    mask: list[list[bool]]
    argmax: list[int]
    names: list[str]
    lat_s: float | None
    ener_j: float | None
    exp_lat_s: float | None
    exp_ener_j: float | None


@dataclass
class RunDetail:
    run: Run
    space: SearchSpace | None = None
    profile_path: str = ""
    follower: MetricsFollower = field(init=False)
    theta: ThetaView | None = None
    theta_error: str = ""
    _theta_mtime: int = -1

    def __post_init__(self) -> None:
        self.follower = MetricsFollower(self.run.metrics_path)
        meta = self.run.meta()
        try:
            cfg = load_config(self.run.config_path)
            self.space = get_space(cfg.space.name, cfg.space.width_mult)
            self.profile_path = cfg.profile.path
        except (UserError, ValueError):
            self.space = _space_or_none(str(meta.get("space") or "fbnet-cifar10"))
            self.profile_path = str(meta.get("profile", ""))

    def poll(self) -> tuple[bool, bool]:
        """(metrics changed, theta changed)."""
        return self.follower.poll(), self._poll_theta()

    def _poll_theta(self) -> bool:
        try:
            mtime = os.stat(self.run.theta_path).st_mtime_ns
        except OSError:
            mtime = 0
        if mtime == self._theta_mtime:
            return False
        self._theta_mtime = mtime
        self.theta, self.theta_error = None, ""
        if mtime == 0 or self.space is None:
            self.theta_error = "no theta yet: it appears after the first search epoch"
            return True
        try:
            self.theta = theta_view(read_theta(self.run.theta_path, self.space), self.space, self.profile_path)
        except UserError as exc:
            self.theta_error = str(exc)
        return True


def theta_view(theta: list[list[float]], space: SearchSpace, profile_path: str) -> ThetaView:
    from ..space import CANDIDATE_NAMES

    probs = softmax_allowed(theta, space)
    argmax = argmax_choices(theta, space)
    model = cost_model(profile_path, space) if profile_path else None
    lat = ener = exp_lat = exp_ener = None
    if model is not None:
        cost, expected = model.arch_cost(argmax), model.expected_cost(probs)
        lat, ener, exp_lat, exp_ener = cost.latency_s, cost.energy_j, expected.latency_s, expected.energy_j
    return ThetaView(probs, space.mask(), argmax, [CANDIDATE_NAMES[c] for c in argmax], lat, ener, exp_lat, exp_ener)


def _space_or_none(name: str) -> SearchSpace | None:
    try:
        return get_space(name)
    except ValueError:
        return None


def latest(detail: RunDetail) -> dict[str, Any]:
    return (detail.run.status().get("latest") or {}) if detail else {}
