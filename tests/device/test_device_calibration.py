"""Whole-network calibration and the fidelity statistics of bench/lut_fidelity.py."""

from __future__ import annotations

import pytest

from hanna_tui.cost import CostModel
from hanna_tui.device.calibration import Calibration, fit_linear, from_profile, mape, predict_latency, ranks, spearman, within
from hanna_tui.profiles import load_profile, save_profile


def test_fit_recovers_scale_and_offset():
    sums = [0.010, 0.020, 0.030, 0.045]
    measured = [0.8 * s + 0.003 for s in sums]
    cal = fit_linear(sums, measured)
    assert cal.scale == pytest.approx(0.8) and cal.offset_s == pytest.approx(0.003) and cal.fit_mape == pytest.approx(0, abs=1e-9)
    assert cal.fitted_on == 4 and cal.predict(0.05) == pytest.approx(0.043)
    with pytest.raises(ValueError):
        fit_linear([0.01], [0.01])


def test_statistics():
    assert ranks([3.0, 1.0, 2.0, 2.0]) == [4.0, 1.0, 2.5, 2.5]
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert mape([1.1, 0.9], [1.0, 1.0]) == pytest.approx(10.0)
    assert within([1.05, 1.2, 0.95], [1.0, 1.0, 1.0]) == pytest.approx(2 / 3)


def test_calibration_round_trips_through_the_profile(tmp_path, repo_root):
    profile = load_profile(repo_root / "profiles" / "rpi3b-hanna.toml")
    choices = [layer.allowed[0] for layer in profile.space().layers]
    plain = CostModel(profile).arch_cost(choices).latency_s
    assert from_profile(profile) is None and predict_latency(profile, choices) == plain
    profile.calibration = Calibration(0.9, 0.004, 10, 3.2).to_dict()
    save_profile(profile, tmp_path / "cal.toml")
    loaded = load_profile(tmp_path / "cal.toml")
    assert from_profile(loaded) == Calibration(0.9, 0.004, 10, 3.2)
    assert predict_latency(loaded, choices) == pytest.approx(0.9 * plain + 0.004)
    assert predict_latency(loaded, choices, calibrated=False) == pytest.approx(plain)


def test_deploy_prediction_adds_the_calibrated_latency(tmp_path, repo_root):
    import json

    from hanna_tui.device.deploy import predicted_cost
    from hanna_tui.store import create_run

    profile = load_profile(repo_root / "profiles" / "rpi3b-hanna.toml")
    choices = [layer.allowed[-1] for layer in profile.space().layers]
    plain = CostModel(profile).arch_cost(choices).latency_s
    profile.calibration = Calibration(2.0, 0.001, 10).to_dict()
    save_profile(profile, tmp_path / "cal.toml")
    run = create_run("pred", root=tmp_path / "runs")
    arch = {"space": "fbnet-cifar10", "width_mult": 1.0, "indices": choices, "profile": str(tmp_path / "cal.toml"),
            "predicted": {"latency_s": plain, "energy_j": 0.1}}
    (run.path / "arch.json").write_text(json.dumps(arch))
    predicted = predicted_cost(run)
    assert predicted["latency_s"] == plain and predicted["latency_calibrated_s"] == pytest.approx(2 * plain + 0.001)
    arch["profile"] = str(repo_root / "profiles" / "rpi3b-hanna.toml")  # no calibration there
    (run.path / "arch.json").write_text(json.dumps(arch))
    assert "latency_calibrated_s" not in predicted_cost(run)


def test_weight_params_match_the_torch_blocks_and_two_term_fit():
    from hanna_tui.device.calibration import block_params, fit_two
    from hanna_tui.space import get_space
    from hanna_tui.space.blocks import build_layer_block

    space = get_space("fbnet-cifar10", 0.25)
    for layer in space.layers:
        for cand in layer.allowed:
            expected = sum(p.numel() for p in build_layer_block(space, layer.index, cand).parameters())
            assert block_params(space, layer.index, cand) == expected
    a, b, c = fit_two([1, 2, 3, 4], [1, 0, 1, 0], [3, 3, 7, 7])
    assert (a, b, c) == (pytest.approx(2), pytest.approx(2), pytest.approx(-1))
