"""speed.py: which calibration networks serve as references, the speed factor, and hostile calibration data."""

from __future__ import annotations

import math

import pytest

from hanna_tui.device.speed import Reference, describe, references, speed_factor
from hanna_tui.profiles import load_profile, shipped_profiles_dir


@pytest.fixture()
def profile():
    prof = load_profile(shipped_profiles_dir() / "rpi3b-hanna.toml")
    layers = prof.space().layers
    nets = [",".join(str(layer.allowed[k % len(layer.allowed)]) for layer in layers) for k in range(7)]
    prof.calibration = {"method": "per-candidate", "networks": nets, "networks_ms": [5.0, 1.0, 7.0, 3.0, 2.0, 6.0, 4.0]}
    return prof


def test_references_spread_over_the_range(profile):
    refs = references(profile)
    assert [r.profiled_s for r in refs] == [0.003, 0.005]  # the 1/3 and 2/3 points of 1..7 ms
    assert all(len(r.choices) == len(profile.space().layers) for r in refs)
    assert [r.profiled_s for r in references(profile, 7)] == [k / 1e3 for k in range(1, 8)]


@pytest.mark.parametrize(
    "calibration",
    [
        {},
        {"networks": ["1,2"], "networks_ms": [3.0]},  # wrong length
        {"networks": "0,0", "networks_ms": 3.0},  # not lists
        {"networks": ["x"], "networks_ms": [1.0]},
        {"networks": ["0"] * 2, "networks_ms": [1.0]},  # counts differ
    ],
)
def test_unusable_calibration_data_gives_no_references(profile, calibration):
    profile.calibration = calibration
    assert references(profile) == []


def test_disallowed_choices_and_bad_times_are_left_out(profile):
    layers = profile.space().layers
    good = ",".join(str(layer.allowed[0]) for layer in layers)
    skip_everywhere = ",".join("8" for _ in layers)  # skip is not allowed in every layer
    profile.calibration = {"networks": [good, skip_everywhere, good, good], "networks_ms": [2.0, 1.0, float("nan"), -1.0]}
    assert [r.profiled_s for r in references(profile)] == [0.002]


def test_speed_factor_is_the_geometric_mean():
    refs = [Reference([0], 0.002), Reference([0], 0.004)]
    assert speed_factor(refs, [0.0022, 0.0044]) == pytest.approx(1.1)
    assert speed_factor(refs, [0.001, 0.016]) == pytest.approx(math.sqrt(0.5 * 4))
    with pytest.raises(ValueError):
        speed_factor(refs, [0.0, float("nan")])


def test_describe_says_which_way():
    assert "5.0% slower than when it was profiled" in describe(1.05, 2) and "x1.050" in describe(1.05, 2)
    assert "3.0% faster" in describe(0.97, 1) and "1 reference network of" in describe(0.97, 1)
    assert "as fast as when" in describe(1.0, 2)
