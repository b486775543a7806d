"""Predicted cost (paper eq. 4) and the knob pre-visualisation, against numbers computed by hand."""

from __future__ import annotations

import pytest
from search_support import EIGHT, PROFILE, by_hand_uniform, reference_tables

from hanna_tui.cost import CostModel, Knobs, knob_readout
from hanna_tui.profiles import load_profile
from hanna_tui.space import get_space


@pytest.fixture(scope="module")
def model() -> CostModel:
    return CostModel(load_profile(PROFILE))


def test_lat0_and_ener0_are_uniform_expectations_over_allowed_cells(model: CostModel) -> None:
    lat, ener = reference_tables()
    cost = model.initial_cost()
    assert cost.latency_s == pytest.approx(by_hand_uniform(lat), rel=1e-12)
    assert cost.energy_j == pytest.approx(by_hand_uniform(ener), rel=1e-12)


def test_arch_cost_is_the_lut_sum(model: CostModel) -> None:
    lat, ener = reference_tables()
    choices = [i % 8 for i in range(22)]
    cost = model.arch_cost(choices)
    assert cost.latency_s == pytest.approx(sum(lat[i][c] for i, c in enumerate(choices)), rel=1e-12)
    assert cost.energy_j == pytest.approx(sum(ener[i][c] for i, c in enumerate(choices)), rel=1e-12)


def test_padded_cell_is_never_a_choice(model: CostModel) -> None:
    with pytest.raises(ValueError, match="not allowed"):
        model.arch_cost([8] * 22)


def test_extremes_by_hand(model: CostModel) -> None:
    lat, ener = reference_tables()
    allowed = [row[:8] if i in EIGHT else row for i, row in enumerate(lat)]
    readout = knob_readout(model, Knobs())
    assert readout["lat_min"] == pytest.approx(sum(min(r) for r in allowed), rel=1e-12)
    assert readout["lat_max"] == pytest.approx(sum(max(r) for r in allowed), rel=1e-12)
    allowed_e = [row[:8] if i in EIGHT else row for i, row in enumerate(ener)]
    assert readout["ener_min"] == pytest.approx(sum(min(r) for r in allowed_e), rel=1e-12)
    assert readout["ener_max"] == pytest.approx(sum(max(r) for r in allowed_e), rel=1e-12)


def test_knob_readout_and_dominance(model: CostModel) -> None:
    lat, ener = reference_tables()
    lat0, ener0 = by_hand_uniform(lat), by_hand_uniform(ener)
    r = knob_readout(model, Knobs(0.3, 1.0, 0.7, 0.45))
    assert r["vlat"] == pytest.approx(0.3 * lat0**1.0, rel=1e-12)
    assert r["vener"] == pytest.approx(0.7 * ener0**0.45, rel=1e-12)
    assert r["energy_dominance"] == pytest.approx(r["vener"] / r["vlat"])
    assert r["latency_dominance"] == pytest.approx(r["vlat"] / r["vener"])
    assert r["dominant"] == ("energy" if r["vener"] > r["vlat"] else "latency")
    none = knob_readout(model, Knobs(0.0, 1.0, 0.0, 1.0))
    assert none["dominant"] == "none" and none["vlat"] == 0 and none["vener"] == 0


def test_expected_cost_ignores_padded_probabilities(model: CostModel) -> None:
    probs = model.uniform_probs()
    for i in EIGHT:
        probs[i][8] = 5.0  # garbage in a padded cell must not count
    assert model.expected_cost(probs).latency_s == pytest.approx(model.initial_cost().latency_s)


def test_cost_model_works_for_a_slim_space(model: CostModel) -> None:
    slim = CostModel(load_profile(PROFILE), get_space("fbnet-cifar10", 0.25))
    assert slim.initial_cost() == model.initial_cost()
