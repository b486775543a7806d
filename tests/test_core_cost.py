"""Predicted cost (paper eq. 4) and the knob pre-visualisation, against numbers computed by hand."""

from __future__ import annotations

import math

import pytest
from search_support import EIGHT, PROFILE, by_hand_uniform, reference_tables

from hanna_tui.config import config_from_dict
from hanna_tui.cost import CostModel, knob_readout
from hanna_tui.errors import ConfigError
from hanna_tui.knobs import NO_ENERGY_VERDICT, KnobError, Knobs, dominance, knob_warnings
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


@pytest.mark.parametrize(
    "bad", [{"alpha": -0.1}, {"gamma": -1.0}, {"beta": math.nan}, {"delta": math.inf}, {"alpha": True}, {"form": "sum"}]
)
def test_knobs_refuse_what_the_one_validator_refuses(bad: dict) -> None:
    with pytest.raises(KnobError) as err:
        Knobs(**bad)
    assert err.value.field == next(iter(bad))


def test_negative_exponent_is_accepted_with_a_warning() -> None:
    knobs = Knobs(beta=-0.2)
    assert knobs.beta == -0.2
    (warning,) = knob_warnings(knobs)
    assert "beta = -0.2" in warning and "slower" in warning
    assert knob_warnings(Knobs()) == [] and knob_warnings(Knobs(alpha=0.0, beta=-1.0)) == []


def test_config_knobs_use_the_same_validator() -> None:
    cfg = config_from_dict({"knobs": {"beta": -0.2, "form": "multiplicative"}}, "t.toml")
    assert cfg.knobs == Knobs(beta=-0.2, form="multiplicative")
    with pytest.raises(ConfigError, match=r"t.toml: knobs.alpha: expected a finite number >= 0, got -1.0"):
        config_from_dict({"knobs": {"alpha": -1}}, "t.toml")


def test_multiplicative_dominance_compares_the_factors_pulls() -> None:
    lat0, ener0 = 0.004, 0.02  # 4 ms, 20 mJ
    knobs = Knobs(0.5, 1.0, 3.0, 0.5, "multiplicative")
    d = dominance(lat0, ener0, knobs)
    x, y = 4.0, 20.0
    assert d.vlat == pytest.approx(1.0 * x / ((1 + x) * math.log1p(x)))
    assert d.vener == pytest.approx(0.5 * y / ((1 + y) * math.log1p(y)))
    assert d.dominant == "latency" and d.energy_dominance == pytest.approx(d.vener / d.vlat)
    scaled = dominance(lat0, ener0, Knobs(5.0, 1.0, 0.3, 0.5, "multiplicative"))
    assert scaled.vlat == pytest.approx(d.vlat)  # alpha, gamma only scale the product
    additive = dominance(lat0, ener0, Knobs(0.5, 1.0, 3.0, 0.5))
    assert additive.dominant == "energy" and additive.vener == pytest.approx(3.0 * 0.02**0.5)


def test_profile_without_energy_says_latency_only() -> None:
    d = dominance(3.8, None, Knobs())
    assert d.verdict == NO_ENERGY_VERDICT and d.vener == 0 and d.dominant == "latency"
    assert dominance(3.8, None, Knobs(alpha=0.0)).verdict.startswith("no cost term")


def test_history_dominance_honours_the_multiplicative_form() -> None:
    from hanna_tui.store import RunSummary
    from hanna_tui.tui.history import history_row

    values = {"alpha": 0.3, "beta": 1.0, "gamma": 0.7, "delta": 0.45}
    model = CostModel(load_profile(PROFILE))
    for form in ("additive", "multiplicative"):
        summary = RunSummary(
            id="r", path="", kind="search", name="r", state="done", created="", knobs=values, loss_form=form, profile=str(PROFILE)
        )
        row = history_row(summary)
        readout = knob_readout(model, Knobs(**values, form=form))
        assert row.energy_dominance == pytest.approx(readout["energy_dominance"])
        assert row.dominant == readout["dominant"]
