"""Front sweeps: [sweep] budgets = {kind, count} expands to budget searches inside the profile's range,
the batch summary gets the "front" (budget, final argmax cost, accuracy, Pareto set); one real tiny run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hanna_tui.batch.config import load_batch_config
from hanna_tui.batch.summary import front_entry
from hanna_tui.config import ConstraintsSection
from hanna_tui.errors import ConfigError
from hanna_tui.nas.budget import budget_range
from hanna_tui.profiles import load_profile

ROOT = Path(__file__).resolve().parent.parent
PROFILE = ROOT / "profiles" / "rpi3b-hanna.toml"
HEAD = f'[base.profile]\npath = "{PROFILE}"\n'


def write(tmp_path: Path, text: str, name: str = "front.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def no_energy_profile(tmp_path: Path) -> Path:
    lines = PROFILE.read_text(encoding="utf-8").splitlines()
    start = lines.index("[energy]")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("[") and not lines[i].startswith("[energy"))
    path = tmp_path / "no-energy.toml"
    path.write_text("\n".join(lines[:start] + lines[end:]) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- expansion


def test_latency_budgets_are_spread_strictly_inside_the_range(tmp_path: Path) -> None:
    text = (
        HEAD
        + '[base.search]\nepochs = 7\nwarmup_epochs = 2\n[base.constraints]\nband = 0.1\n[sweep]\nbudgets = {kind = "latency", count = 5}\n'
    )
    cfg = load_batch_config(write(tmp_path, text))
    lo, hi = budget_range(load_profile(PROFILE), "lat")
    budgets = [s.config.constraints.latency_s for s in cfg.settings]
    assert len(budgets) == 5 and all(lo < b < hi for b in budgets) and budgets == sorted(budgets)
    for i, b in enumerate(budgets):  # evenly at (i + 1) / (N + 1) of the range (six significant digits)
        assert b == pytest.approx(lo + (hi - lo) * (i + 1) / 6, rel=1e-5)
    assert [s.label for s in cfg.settings] == ["lat-2.93s", "lat-3.37s", "lat-3.81s", "lat-4.25s", "lat-4.69s"]
    for s in cfg.settings:
        assert s.overrides == {"constraints.latency_s": s.config.constraints.latency_s}
        assert s.config.constraints.energy_j == 0.0 and s.config.constraints.band == 0.1  # [base] kept
        assert (s.config.search.epochs, s.config.search.warmup_epochs) == (7, 2)
        assert s.config.knobs.alpha == 0.0 and s.config.knobs.gamma == 0.0  # a pure budget search
    assert len({s.run_name for s in cfg.settings}) == 5
    assert cfg.front["kind"] == "latency" and cfg.front["count"] == 5
    assert cfg.front["range"] == {"latency_s": [lo, hi]}
    assert [s.run_name for s in load_batch_config(tmp_path / "front.toml").settings] == [s.run_name for s in cfg.settings]


def test_the_shipped_front_sweep_example_loads() -> None:
    cfg = load_batch_config(ROOT / "examples" / "front-sweep.toml")
    assert cfg.batch.name == "front-sweep" and cfg.front is not None and cfg.front["kind"] == "latency"
    assert [s.label for s in cfg.settings] == ["lat-2.93s", "lat-3.37s", "lat-3.81s", "lat-4.25s", "lat-4.69s"]
    assert all(s.config.data.name == "synthetic" and s.config.space.proxy for s in cfg.settings)


def test_energy_and_both_kinds(tmp_path: Path) -> None:
    profile = load_profile(PROFILE)
    (llo, lhi), (elo, ehi) = budget_range(profile, "lat"), budget_range(profile, "ener")
    energy = load_batch_config(write(tmp_path, HEAD + '[sweep]\nbudgets = {kind = "energy", count = 2}\n'))
    assert [s.label for s in energy.settings] == ["ener-15.3J", "ener-28.8J"]
    assert all(elo < s.config.constraints.energy_j < ehi and s.config.constraints.latency_s == 0 for s in energy.settings)
    both = load_batch_config(write(tmp_path, HEAD + '[sweep]\nbudgets = {kind = "both", count = 3}\n'))
    assert [s.label for s in both.settings] == ["lat-3.15s_ener-12J", "lat-3.81s_ener-22.1J", "lat-4.47s_ener-32.2J"]
    for i, s in enumerate(both.settings):  # the same fraction of each range: the diagonal
        c = s.config.constraints
        assert (c.latency_s - llo) / (lhi - llo) == pytest.approx((i + 1) / 4, rel=1e-4)
        assert (c.energy_j - elo) / (ehi - elo) == pytest.approx((i + 1) / 4, rel=1e-4)
    assert set(both.front["range"]) == {"latency_s", "energy_j"}


def test_budgets_come_after_settings_and_keep_explicit_knobs(tmp_path: Path) -> None:
    text = (
        HEAD
        + '[base.knobs]\nalpha = 0.3\n[sweep]\nbudgets = {kind = "latency", count = 1}\n[[sweep.settings]]\nname = "paper"\nbeta = 0.5\n'
    )
    cfg = load_batch_config(write(tmp_path, text))
    assert [s.label for s in cfg.settings] == ["paper", "lat-3.81s"]
    assert cfg.settings[0].config.constraints.latency_s == 0.0
    assert cfg.settings[1].config.knobs.alpha == 0.3  # given explicitly in [base]: stays on beside the budget


@pytest.mark.parametrize(
    ("budgets", "field", "expected"),
    [
        ('{kind = "latency", count = 0}', "sweep.budgets.count", "expected an integer from 1"),
        ('{kind = "latency", count = -2}', "sweep.budgets.count", "expected an integer from 1"),
        ('{kind = "latency", count = 2.5}', "sweep.budgets.count", "expected an integer from 1"),
        ('{kind = "latency", count = "3"}', "sweep.budgets.count", "expected an integer from 1"),
        ('{kind = "latency", count = true}', "sweep.budgets.count", "expected an integer from 1"),
        ('{kind = "latency"}', "sweep.budgets.count", "got None"),
        ('{kind = "speed", count = 3}', "sweep.budgets.kind", "expected one of latency, energy, both"),
        ("{count = 3}", "sweep.budgets.kind", "expected one of latency, energy, both"),
        ('{kind = "latency", count = 3, margin = 0.1}', "sweep.budgets.margin", "unknown key"),
        ("5", "sweep.budgets", "expected a table"),
    ],
)
def test_bad_budgets_are_one_line_naming_the_key(tmp_path: Path, budgets: str, field: str, expected: str) -> None:
    path = write(tmp_path, HEAD + f"[sweep]\nbudgets = {budgets}\n")
    with pytest.raises(ConfigError) as err:
        load_batch_config(path)
    message = str(err.value)
    assert err.value.field == field and expected in message and "\n" not in message and str(path) in message


@pytest.mark.parametrize("kind", ["energy", "both"])
def test_energy_budgets_need_an_energy_table(tmp_path: Path, kind: str) -> None:
    profile = no_energy_profile(tmp_path)
    path = write(tmp_path, f'[base.profile]\npath = "{profile}"\n[sweep]\nbudgets = {{kind = "{kind}", count = 2}}\n')
    with pytest.raises(ConfigError, match="sweep.budgets.kind: .*needs an energy table") as err:
        load_batch_config(path)
    assert "\n" not in str(err.value)
    latency = write(tmp_path, f'[base.profile]\npath = "{profile}"\n[sweep]\nbudgets = {{kind = "latency", count = 2}}\n', "lat.toml")
    assert len(load_batch_config(latency).settings) == 2


def test_a_bad_budget_spread_exits_2_in_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + '[sweep]\nbudgets = {kind = "latency", count = 0}\n')
    out = subprocess.run([sys.executable, "-m", "hanna_tui", "--batch", str(path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "sweep.budgets.count" in lines[0]


# ---------------------------------------------------------------- the front entry


def _record(name: str, state: str, lat: float | None, ener: float | None, acc: float | None) -> dict:
    return {"name": name, "label": name, "state": state, "argmax_latency_s": lat, "argmax_energy_j": ener, "accuracy": acc}


def test_front_entry_marks_the_pareto_runs_and_the_gaps() -> None:
    records = [
        _record("cheap", "done", 2.9, 8.0, 0.50),
        _record("dominated", "done", 3.5, 15.0, 0.45),  # dearer and less accurate than "cheap"
        _record("accurate", "done", 4.2, 20.0, 0.70),
        _record("failed", "failed", None, None, None),
        _record("plain", "done", 2.5, 7.0, 0.10),
    ]
    constraints = [ConstraintsSection(latency_s=b) for b in (3.0, 3.4, 4.25, 4.6)] + [ConstraintsSection()]
    entry = front_entry(records, constraints, {"kind": "latency", "count": 4, "range": {"latency_s": [2.49, 5.13]}})
    assert entry is not None and entry["kind"] == "latency" and entry["objectives"] == ["latency", "energy", "accuracy"]
    rows = {r["name"]: r for r in entry["runs"]}
    assert entry["pareto"] == ["cheap", "accurate", "plain"]
    assert [rows[n]["pareto"] for n in ("cheap", "dominated", "accurate", "failed", "plain")] == [True, False, True, False, True]
    assert rows["cheap"]["gap"]["latency_s"] == pytest.approx(2.9 / 3.0 - 1) and rows["cheap"]["landed"]
    assert rows["dominated"]["gap"]["latency_s"] == pytest.approx(3.5 / 3.4 - 1) and not rows["dominated"]["landed"]
    assert rows["failed"]["gap"] == {"latency_s": None} and not rows["failed"]["landed"]
    assert rows["plain"]["budget"] == {} and not rows["plain"]["landed"]
    assert front_entry(records, [ConstraintsSection()] * 5) is None  # no budget anywhere: no front


def test_front_entry_without_energy_compares_latency_and_accuracy() -> None:
    records = [_record("a", "done", 3.0, None, 0.5), _record("b", "done", 4.0, None, 0.4)]
    entry = front_entry(records, [ConstraintsSection(latency_s=3.1), ConstraintsSection(latency_s=4.1)])
    assert entry is not None and entry["objectives"] == ["latency", "accuracy"] and entry["pareto"] == ["a"]
    assert "kind" not in entry  # budgets from [constraints], not from [sweep] budgets


# ---------------------------------------------------------------- a real run


TINY = """
[batch]
name = "tiny-front"
concurrency = 2
runs_root = "{runs}"
[base.run]
device = "cpu"
threads = 1
log_interval = 2
[base.profile]
path = "{profile}"
[base.space]
width_mult = 0.25
proxy = true
[base.data]
name = "synthetic"
synthetic_train = 192
synthetic_test = 64
image_size = 16
val_fraction = 0
[base.search]
mode = "sampled"
epochs = 2
warmup_epochs = 1
batch_size = 48
theta_lr = 0.2
[sweep]
budgets = {{kind = "latency", count = 2}}
"""


@pytest.mark.slow
def test_a_tiny_front_sweep_runs_and_its_summary_holds_the_front(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    path = write(tmp_path, TINY.format(runs=runs, profile=PROFILE))
    out = subprocess.run([sys.executable, "-m", "hanna_tui", "--batch", str(path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    summary = json.loads(out.stdout)
    assert summary == json.loads((runs / "tiny-front" / "summary.json").read_text(encoding="utf-8"))
    front = summary["front"]
    assert front["kind"] == "latency" and front["count"] == 2 and len(front["runs"]) == 2
    lo, hi = front["range"]["latency_s"]
    assert "front:" in out.stderr  # the table for people
    for row, record in zip(front["runs"], summary["runs"], strict=True):
        assert row["name"] == record["name"] and row["state"] == "done"
        budget = row["budget"]["latency_s"]
        assert lo < budget < hi and row["label"] == f"lat-{budget:.3g}s"
        arch = json.loads((Path(record["run_dir"]) / "arch.json").read_text(encoding="utf-8"))
        assert row["argmax_latency_s"] == pytest.approx(arch["predicted"]["latency_s"])
        assert row["argmax_energy_j"] == pytest.approx(arch["predicted"]["energy_j"])
        assert row["gap"]["latency_s"] == pytest.approx(arch["predicted"]["latency_s"] / budget - 1)
        assert row["accuracy"] == record["accuracy"] and isinstance(row["accuracy"], float)
        config = (runs / "tiny-front" / "configs" / f"{record['name']}.toml").read_text(encoding="utf-8")
        assert f"latency_s = {budget!r}" in config  # the budget reached the search step unchanged
    assert front["pareto"] == [r["name"] for r in front["runs"] if r["pareto"]] and front["pareto"]
