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


BOARD = {"model": "Test Board Rev 2", "cpu": "Test CPU", "machine": "aarch64"}


def board_profile(repo_root, folder, name: str, runtime: str = "onnxruntime", calibration: Calibration | None = None):
    """The shipped table re-labelled as a profile of the test board, saved in folder."""
    from hanna_tui.profiles import Runtime

    profile = load_profile(repo_root / "profiles" / "rpi3b-hanna.toml")
    profile.device = {"name": name, "board": "Test Board", "cpu": "Test CPU", "machine": "aarch64"}
    profile.runtime = Runtime(runtime, "fp32", 1)
    profile.calibration = calibration.to_dict() if calibration else {}
    folder.mkdir(parents=True, exist_ok=True)
    save_profile(profile, folder / f"{name}.toml")
    return profile


def test_deploy_prediction_comes_from_a_profile_of_that_board_and_runtime(tmp_path, repo_root):
    import json

    from hanna_tui.device.deploy import prediction
    from hanna_tui.device.profiler import BenchOptions
    from hanna_tui.store import create_run

    folder = tmp_path / "profiles"
    board_profile(repo_root, folder, "plain")
    cal = Calibration(2.0, 0.001, 10)
    board_profile(repo_root, folder, "calibrated", calibration=cal)
    board_profile(repo_root, folder, "torch-one", runtime="torch")
    profile = load_profile(folder / "plain.toml")
    choices = [layer.allowed[-1] for layer in profile.space().layers]
    plain = CostModel(profile).arch_cost(choices).latency_s
    run = create_run("pred", root=tmp_path / "runs")
    from hanna_tui.space import CANDIDATE_NAMES

    arch = {
        "space": "fbnet-cifar10",
        "width_mult": 1.0,
        "num_classes": 10,
        "choices": [CANDIDATE_NAMES[c] for c in choices],
        "profile": str(repo_root / "profiles" / "rpi3b-hanna.toml"),
        "predicted": {"latency_s": 2.7, "energy_j": 0.1},
    }
    (run.path / "arch.json").write_text(json.dumps(arch))
    onnx = BenchOptions(runtime="onnxruntime")
    predicted = prediction(run, BOARD, onnx, "pi", [folder])
    assert predicted["profile"].endswith("calibrated.toml") and predicted["calibrated"] is True
    assert predicted["latency_s"] == pytest.approx(2 * plain + 0.001) and predicted["latency_lut_s"] == pytest.approx(plain)
    torch_pred = prediction(run, BOARD, BenchOptions(), "pi", [folder])
    assert torch_pred["profile"].endswith("torch-one.toml") and torch_pred["latency_s"] == pytest.approx(plain)
    # another board, or a runtime nobody profiled: no prediction (never the Pi's 2.7 s), and how to get one
    for board, bench in ((dict(BOARD, model="AMD EPYC 7B13"), onnx), (BOARD, BenchOptions(runtime="onnxruntime", precision="int8"))):
        none = prediction(run, board, bench, "local", [folder])
        assert none["latency_s"] is None and none["profile"] is None
        assert (
            f"hanna-tui profile --target local --runtime onnxruntime{' --precision int8' if bench.precision == 'int8' else ''}"
            in none["note"]
        )


def test_per_candidate_calibration_recovers_scales_and_folds_into_the_table(repo_root):
    from hanna_tui.device.calibration import calibration_archs, fit_per_candidate

    profile = load_profile(repo_root / "profiles" / "rpi3b-hanna.toml")
    table = profile.latency_s()
    truth = [1.5, 1.2, 1.3, 1.4, 1.1, 1.25, 1.35, 1.45, 0.0]
    archs = calibration_archs(profile.space(), 14, seed=3)
    assert len(archs) == 14 and all(c == 2 or 2 not in layer.allowed for c, layer in zip(archs[2], profile.space().layers, strict=True))
    measured = [0.004 + sum(truth[c] * table[i][c] + (0.0002 if c == 8 else 0) for i, c in enumerate(a)) for a in archs]
    cal = fit_per_candidate(table, archs, measured, ridge=1e-9)
    assert cal.method == "per-candidate" and cal.fit_mape < 0.01
    assert cal.candidate_scales[:8] == pytest.approx(truth[:8], rel=1e-3) and cal.offset_s == pytest.approx(0.004, abs=5e-4)
    profile.calibration = cal.to_dict()
    effective = profile.latency_model_s()
    other = [layer.allowed[len(layer.allowed) // 2] for layer in profile.space().layers]
    assert sum(effective[i][c] for i, c in enumerate(other)) == pytest.approx(cal.predict_arch(table, other))
    assert CostModel(profile).arch_cost(other).latency_s == pytest.approx(profile.predict_latency(other))
    assert from_profile(profile) == cal


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


def test_a_raspberry_pi_3b_finds_the_shipped_profile(tmp_path, monkeypatch):
    from hanna_tui.profiles import Network, find_target_profile

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HANNA_PROFILES", str(tmp_path / "none"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    pi = {"model": "Raspberry Pi 3 Model B Rev 1.2", "cpu": "ARMv7 Processor rev 4 (v7l)", "machine": "armv7l"}
    network = Network("fbnet-cifar10", 1.0, 32, 10)
    assert find_target_profile(pi, "torch", network).device_name == "rpi3b"
    assert find_target_profile(pi, "onnxruntime", network) is None  # the paper timed torch only
    assert find_target_profile(dict(pi, model="Raspberry Pi 4 Model B Rev 1.4"), "torch", network) is None
    assert find_target_profile(pi, "torch", Network("fbnet-cifar10", 0.25, 32, 10)) is None
