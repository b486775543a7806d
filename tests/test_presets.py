"""Presets are search configs: one the dashboard saves runs with `hanna-tui search --config`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from search_support import PROFILE, run_cli

from hanna_tui.config import load_config
from hanna_tui.errors import ConfigError
from hanna_tui.knobs import Knobs
from hanna_tui.tomlio import load_toml
from hanna_tui.tui.presets import Preset, load_preset, save_preset


def test_saved_preset_is_a_search_config_that_loads_back(tmp_path: Path) -> None:
    preset = Preset(knobs=Knobs(0.7, -0.2, 1.5, 0.45, "multiplicative"), profile=str(PROFILE), epochs=3, seed=5)
    path = save_preset("my knobs", preset, tmp_path)
    assert path.name == "my-knobs.toml"
    cfg = load_config(path)  # the search command's loader accepts it as it is
    assert cfg.knobs == preset.knobs and cfg.search.epochs == 3 and cfg.run.seed == 5
    assert Path(cfg.profile.path) == PROFILE.resolve()
    assert load_toml(path)["knobs"] == {"alpha": 0.7, "beta": -0.2, "gamma": 1.5, "delta": 0.45, "form": "multiplicative"}
    assert load_preset(path) == preset


def test_partial_and_first_format_presets_load(tmp_path: Path) -> None:
    partial = tmp_path / "partial.toml"
    partial.write_text("[knobs]\nalpha = 0.9\nform = 'multiplicative'\n", encoding="utf-8")
    assert load_preset(partial).knobs == Knobs(0.9, Preset().knobs.beta, Preset().knobs.gamma, Preset().knobs.delta, "multiplicative")
    old = tmp_path / "old.toml"
    old.write_text('format = "hanna-preset/1"\n[preset]\nalpha = 0.3\nbeta = 1.0\nepochs = 4\nprofile = ""\n', encoding="utf-8")
    loaded = load_preset(old)
    assert (loaded.knobs.alpha, loaded.knobs.beta, loaded.epochs) == (0.3, 1.0, 4)
    bad = tmp_path / "bad.toml"
    bad.write_text("[knobs]\ngamma = -1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.toml: knobs.gamma: expected a finite number >= 0"):
        load_preset(bad)


def test_search_runs_a_preset_saved_by_the_dashboard(tmp_path: Path) -> None:
    path = save_preset("quick", Preset(knobs=Knobs(0.4, 0.6, 2.0, 0.6), profile=str(PROFILE), epochs=1), tmp_path / "presets")
    run_dir = tmp_path / "run"
    small = ["--set", "data.synthetic_train=64", "--set", "data.synthetic_test=16", "--set", "search.batch_size=16"]
    result = run_cli("search", "--config", str(path), "--run-dir", str(run_dir), *small)
    assert result.returncode == 0, result.stderr
    meta = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert meta["knobs"] == {"alpha": 0.4, "beta": 0.6, "gamma": 2.0, "delta": 0.6}
    assert json.loads((run_dir / "status.json").read_text(encoding="utf-8"))["state"] == "done"
