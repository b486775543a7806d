"""Budget-constrained search: [constraints], the range check, the multipliers and one search that lands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hanna_tui.config import config_from_dict, demo_config, set_override
from hanna_tui.errors import ConfigError, UserError
from hanna_tui.nas.budget import BudgetController, budget_range, check_budgets
from hanna_tui.nas.supernet import CostTables
from hanna_tui.profiles import load_profile

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "profiles" / "rpi3b-hanna.toml"


@pytest.fixture(scope="module")
def profile():
    return load_profile(PROFILE)


def test_a_budget_alone_turns_the_paper_terms_off() -> None:
    cfg = demo_config()  # energy-heavy knobs (gamma 4) that would fight a latency budget
    set_override(cfg, "constraints.latency_s", "3.2")
    assert (cfg.knobs.alpha, cfg.knobs.gamma) == (0.0, 0.0)
    assert cfg.knobs.beta == 0.6  # the exponents stay as they were


def test_knobs_given_with_a_budget_stay() -> None:
    cfg = config_from_dict({"knobs": {"alpha": 0.5, "gamma": 0.3}, "constraints": {"energy_j": 6.0}}, "t.toml")
    assert (cfg.knobs.alpha, cfg.knobs.gamma) == (0.5, 0.3)
    cfg = config_from_dict({"knobs": {"alpha": 0.5}}, "t.toml")
    config_from_dict({"constraints": {"latency_s": 3.0}}, "--set", cfg)  # knobs were explicit before
    assert cfg.knobs.alpha == 0.5


def test_the_snapshot_of_a_budget_search_resumes_with_the_same_knobs() -> None:
    from hanna_tui.tomlio import loads_toml

    cfg = demo_config()
    set_override(cfg, "constraints.latency_s", "3.2")
    again = config_from_dict(loads_toml(cfg.to_toml(), "config.toml"), "config.toml")
    assert again.knobs == cfg.knobs and again.constraints == cfg.constraints


@pytest.mark.parametrize(("key", "value"), [("latency_s", "-1"), ("energy_j", "nan"), ("band", "0.7"), ("step", "0")])
def test_bad_constraint_values_name_the_field(key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"constraints.{key}"):
        set_override(demo_config(), f"constraints.{key}", value)


def test_the_range_is_the_cheapest_to_the_dearest_architecture(profile) -> None:
    lo, hi = budget_range(profile, "lat")
    assert 2.48 < lo < 2.50 and 5.12 < hi < 5.13  # rpi3b-hanna: LUT sums of the extremes
    cfg = demo_config()
    set_override(cfg, "constraints.latency_s", "2.0")
    with pytest.raises(UserError, match=r"constraints.latency_s: 2 s is outside .* \(expected 2.49 .. 5.125 s"):
        check_budgets(cfg.constraints, profile)


def test_an_out_of_range_budget_exits_2_before_a_run_directory(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    env = dict(os.environ, OMP_NUM_THREADS="1", HANNA_RUNS=str(tmp_path))
    out = subprocess.run(
        [sys.executable, "-m", "hanna_tui", "search", "--demo", "--set", "constraints.energy_j=99", "--run-dir", str(run_dir)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "constraints.energy_j" in lines[0] and "1.844 .. 42.31 J" in lines[0]
    assert not run_dir.exists()


def _controller(profile, **constraints) -> tuple[BudgetController, CostTables]:
    cfg = demo_config()
    for key, value in constraints.items():
        set_override(cfg, f"constraints.{key}", str(value))
    space = profile.space()
    costs = CostTables(profile.latency_s(), profile.energy_j(), space.mask())
    return BudgetController(cfg.constraints, profile, costs.latency, costs.energy), costs


def test_above_the_budget_the_pull_is_toward_cheaper_and_lambda_grows(profile) -> None:
    ctl, costs = _controller(profile, latency_s=2.7)
    mask = costs.latency > 0
    theta = torch.zeros(costs.latency.shape, requires_grad=True)
    dear = costs.latency.masked_fill(~mask, -1).argmax(dim=-1)
    with torch.no_grad():
        theta[torch.arange(len(dear)), dear] = 1.0  # the argmax is the dearest network (5.1 s)
    masked = theta.masked_fill(~mask, float("-inf"))
    before = float(ctl.lam[0])
    ctl.penalty(torch.softmax(masked, -1), masked, update=True).backward()
    assert float(ctl.lam[0]) > before
    # gradient descent lowers the logit of the dear candidate in every layer
    assert all(float(theta.grad[i, c]) > 0 for i, c in enumerate(dear.tolist()))


def test_below_the_band_the_pull_is_toward_dearer(profile) -> None:
    ctl, costs = _controller(profile, latency_s=4.5)
    mask = costs.latency > 0
    theta = torch.zeros(costs.latency.shape, requires_grad=True)
    cheap = costs.latency.masked_fill(~mask, 1e9).argmin(dim=-1)
    with torch.no_grad():
        theta[torch.arange(len(cheap)), cheap] = 1.0
    masked = theta.masked_fill(~mask, float("-inf"))
    ctl.penalty(torch.softmax(masked, -1), masked, update=True).backward()
    assert all(float(theta.grad[i, c]) > 0 for i, c in enumerate(cheap.tolist()))  # the cheap logit falls


def test_the_multipliers_survive_a_checkpoint(profile) -> None:
    ctl, _ = _controller(profile, latency_s=3.0, energy_j=6.0)
    ctl.lam = torch.tensor([2.5, -0.5])
    other, _ = _controller(profile, latency_s=3.0, energy_j=6.0)
    other.load_state_dict(ctl.state_dict())
    assert other.lam.tolist() == [2.5, -0.5]
    record = other.epoch_record([0] * 22)
    assert set(record) == {f"{k}_{c}" for k in ("lambda", "gap", "budget", "cost") for c in ("lat", "ener")}


def test_a_tiny_budget_search_lands_at_its_budget(tmp_path: Path) -> None:
    """A short search on generated data: the argmax childnet ends at most 2% above, 10% below."""
    run_dir = tmp_path / "run"
    sets = [
        "search.epochs=6",
        "data.synthetic_train=384",
        "data.synthetic_test=64",
        "data.val_fraction=0",
        "search.batch_size=48",
        "constraints.energy_j=8",
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1", HANNA_RUNS=str(tmp_path))
    cmd = [sys.executable, "-m", "hanna_tui", "search", "--demo", "--run-dir", str(run_dir)]
    for item in sets:
        cmd += ["--set", item]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    evals = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in evals if r.get("kind") == "epoch" and r.get("phase") == "eval"]
    assert len(evals) == 6 and all("lambda_ener" in r and "gap_ener" in r for r in evals)
    final = evals[-1]
    assert -0.10 <= final["gap_ener"] <= 0.02, final
    assert abs(final["cost_ener"] - final["ener"]) < 1e-5  # the logged cost is the argmax net's energy
    arch = json.loads((run_dir / "arch.json").read_text())
    assert abs(arch["predicted"]["energy_j"] / 8 - 1 - final["gap_ener"]) < 1e-5  # float32 tables in the search
