"""Batch TOML: [batch], [base] (a full search config), [train], [deploy], [sweep]; validated on load.

    [batch]   name, concurrency, executor ("local" | "ray"), address, runs_root, threads_per_run
    [base]    config = "a search config file" (optional) and the search config sections
              [base.run] [base.space] [base.profile] [base.knobs] [base.data] [base.search]
    [train]   enabled, epochs, device, data, extra_args          (optional step)
    [deploy]  enabled, targets = ["local", "pi@host"], energy, runtime, precision, extra_args   (optional step)
    [sweep]   grid = {alpha = [...], beta = [...]}  (cartesian product) and/or
              [[sweep.settings]] tables (name = "label", then knob names or dotted keys)

Every error names the file, the field and what was expected (ConfigError, exit code 2).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import SearchConfig, config_from_dict, load_config, resolve_near
from ..errors import ConfigError
from ..knobs import KNOB_NAMES as LOSS_KNOBS
from ..tomlio import load_toml

EXECUTORS = ("local", "ray")
KNOB_NAMES = (*LOSS_KNOBS, "form")
TOP_SECTIONS = ("batch", "base", "train", "deploy", "sweep")


@dataclass
class BatchSection:
    name: str = ""
    concurrency: int = 1
    executor: str = "local"
    address: str = ""
    runs_root: str = ""
    threads_per_run: int = 0  # 0 = max(1, cores // concurrency)


@dataclass
class TrainStep:
    enabled: bool = False
    epochs: int = 0  # 0 = the train command's default
    device: str = ""
    data: str = ""
    extra_args: list[str] = field(default_factory=list)


@dataclass
class DeployStep:
    enabled: bool = False
    targets: list[str] = field(default_factory=list)
    energy: str = ""
    extra_args: list[str] = field(default_factory=list)
    runtime: str = "torch"  # torch | onnxruntime (hanna-tui deploy --runtime)
    precision: str = "fp32"  # fp32 | int8


@dataclass
class Setting:
    """One point of the sweep: a label, the overrides it applies and the resolved search config."""

    index: int
    label: str
    overrides: dict[str, Any]
    config: SearchConfig

    @property
    def config_hash(self) -> str:
        """Of the values that differ from the defaults: a field added to the config later changes no name."""
        defaults = SearchConfig().to_dict()
        changed = {
            f"{section}.{key}": value
            for section, values in self.config.to_dict().items()
            for key, value in values.items()
            if defaults.get(section, {}).get(key) != value
        }
        return hashlib.sha256(json.dumps(changed, sort_keys=True).encode()).hexdigest()[:8]

    @property
    def run_name(self) -> str:
        """Deterministic directory name: the same config gives the same run directory."""
        return f"{self.label}-{self.config_hash}"


@dataclass
class BatchConfig:
    path: str
    batch: BatchSection
    base: SearchConfig
    train: TrainStep
    deploy: DeployStep
    settings: list[Setting]

    @property
    def runs_root(self) -> Path:
        return Path(self.batch.runs_root or os.environ.get("HANNA_RUNS", "runs"))

    @property
    def batch_dir(self) -> Path:
        """Manifest, summary, configs and logs; it holds no run.json, so run lists skip it."""
        return self.runs_root / self.batch.name

    def run_dir(self, setting: Setting) -> Path:
        """Beside the other runs (runs/<batch>-<label>-<hash>), so `hanna-tui runs` and the dashboard list it."""
        return self.runs_root / f"{self.batch.name}-{setting.run_name}"


# ---------------------------------------------------------------- loading


def load_batch_config(path: str | os.PathLike) -> BatchConfig:
    source = str(path)
    data = load_toml(path)
    _check_keys(data, TOP_SECTIONS, source, "", "section")
    for key, value in data.items():
        if not isinstance(value, dict):
            raise ConfigError(source, key, "expected a table")
    batch = _batch_section(data.get("batch", {}), source, Path(path).stem)
    base = _base_config(dict(data.get("base", {})), source, Path(path).parent)
    train = _step(TrainStep(), data.get("train"), source, "train")
    deploy = _step(DeployStep(), data.get("deploy"), source, "deploy")
    _check_deploy(deploy, source)
    settings = expand_sweep(data.get("sweep", {}), base, source)
    return BatchConfig(source, batch, base, train, deploy, settings)


def _check_keys(table: dict[str, Any], allowed: tuple[str, ...] | list[str], source: str, prefix: str, what: str = "key") -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(source, f"{prefix}{key}", f"unknown {what} (expected one of {', '.join(sorted(allowed))})")


def _typed(value: Any, default: Any, source: str, name: str) -> Any:
    """Check a value against the type of the dataclass default (bool, int, str, list of str)."""
    if isinstance(default, bool):
        ok, expected = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok, expected = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif isinstance(default, str):
        ok, expected = isinstance(value, str), "a string"
    else:
        ok, expected = isinstance(value, list) and all(isinstance(v, str) for v in value), "a list of strings"
    if not ok:
        raise ConfigError(source, name, f"expected {expected}, got {value!r}")
    return value


def _fill(obj: Any, table: dict[str, Any], source: str, prefix: str) -> Any:
    allowed = list(vars(obj))
    _check_keys(table, allowed, source, f"{prefix}.")
    for key, value in table.items():
        setattr(obj, key, _typed(value, getattr(obj, key), source, f"{prefix}.{key}"))
    return obj


def _batch_section(table: dict[str, Any], source: str, default_name: str) -> BatchSection:
    sec = _fill(BatchSection(), table, source, "batch")
    sec.name = sec.name or default_name
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", sec.name):
        raise ConfigError(source, "batch.name", f"expected letters, digits, '_', '.', '-' (a directory name), got {sec.name!r}")
    if sec.concurrency < 1:
        raise ConfigError(source, "batch.concurrency", f"expected an integer >= 1, got {sec.concurrency}")
    if sec.executor not in EXECUTORS:
        raise ConfigError(source, "batch.executor", f"expected one of {', '.join(EXECUTORS)}, got {sec.executor!r}")
    if sec.threads_per_run < 0:
        raise ConfigError(source, "batch.threads_per_run", f"expected an integer >= 0, got {sec.threads_per_run}")
    return sec


def _base_config(table: dict[str, Any], source: str, here: Path) -> SearchConfig:
    start = SearchConfig()
    ref = table.pop("config", None)
    if ref is not None:
        if not isinstance(ref, str):
            raise ConfigError(source, "base.config", f"expected a path to a search config (string), got {ref!r}")
        start = load_config(resolve_near(ref, here))
    cfg = config_from_dict(table, f"{source}: base", start)
    cfg.profile.path = str(resolve_near(cfg.profile.path, here))
    _check_profile(cfg, source)
    return cfg


def _check_profile(cfg: SearchConfig, source: str) -> None:
    from ..profiles import load_profile

    try:
        load_profile(cfg.profile.path)
    except ConfigError as exc:
        raise ConfigError(source, "base.profile.path", str(exc)) from None


def _step(step: Any, table: dict[str, Any] | None, source: str, name: str) -> Any:
    if table is None:
        return step
    step.enabled = True  # a section that is present runs unless it says enabled = false
    return _fill(step, table, source, name)


def _check_deploy(deploy: DeployStep, source: str) -> None:
    if deploy.enabled and not deploy.targets:
        raise ConfigError(source, "deploy.targets", 'expected a non-empty list of targets ("local" or an SSH target)')
    if len(set(deploy.targets)) != len(deploy.targets):
        raise ConfigError(source, "deploy.targets", "expected each target once")
    if deploy.runtime not in ("torch", "onnxruntime") or deploy.precision not in ("fp32", "int8"):
        raise ConfigError(source, "deploy.runtime", f'expected runtime "torch" or "onnxruntime" and precision "fp32" or "int8", got {deploy.runtime!r}, {deploy.precision!r}')


# ---------------------------------------------------------------- sweeps


def expand_sweep(sweep: dict[str, Any], base: SearchConfig, source: str) -> list[Setting]:
    """Explicit settings first, then the grid's cartesian product; no sweep = one run of [base]."""
    _check_keys(sweep, ("grid", "settings"), source, "sweep.")
    points: list[tuple[str | None, dict[str, Any], str]] = []
    for i, raw in enumerate(_settings_list(sweep.get("settings", []), source)):
        where = f"sweep.settings[{i}]"
        label = raw.pop("name", None)
        if label is not None and not isinstance(label, str):
            raise ConfigError(source, f"{where}.name", f"expected a string, got {label!r}")
        points.append((label, _flatten(raw, source, where), where))
    if "grid" in sweep:
        points += [(None, combo, "sweep.grid") for combo in _grid(sweep["grid"], source)]
    if not points:
        if sweep:
            raise ConfigError(source, "sweep", "expands to no run (expected a grid or at least one [[sweep.settings]])")
        points = [(None, {}, "base")]
    return _resolve(points, base, source)


def _settings_list(value: Any, source: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(source, "sweep.settings", "expected an array of tables ([[sweep.settings]])")
    return [dict(v) for v in value]


def _grid(grid: Any, source: str) -> list[dict[str, Any]]:
    if not isinstance(grid, dict):
        raise ConfigError(source, "sweep.grid", "expected a table of lists, e.g. grid = {alpha = [0.2, 0.4]}")
    flat = _flatten(grid, source, "sweep.grid")
    if not flat:
        raise ConfigError(source, "sweep.grid", "expands to no run (expected at least one key with a non-empty list)")
    for key, values in flat.items():
        name = f"sweep.grid.{key[6:] if key.startswith('knobs.') and key[6:] in grid else key}"
        if not isinstance(values, list):
            raise ConfigError(source, name, f"expected a list of values, got {values!r}")
        if not values:
            raise ConfigError(source, name, "expected a non-empty list (an empty list expands the grid to no run)")
    keys = list(flat)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(flat[k] for k in keys))]


def _flatten(table: dict[str, Any], source: str, where: str, prefix: str = "") -> dict[str, Any]:
    """Nested tables and dotted keys to 'section.key'; bare knob names map to knobs.NAME."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, source, where, dotted + "."))
            continue
        if "." not in dotted:
            if dotted not in KNOB_NAMES:
                raise ConfigError(
                    source, f"{where}.{dotted}", f"unknown key (expected a knob name {', '.join(KNOB_NAMES)}, name, or SECTION.KEY)"
                )
            dotted = f"knobs.{dotted}"
        out[dotted] = value
    return out


def _nest(flat: dict[str, Any], source: str, where: str) -> dict[str, dict[str, Any]]:
    nested: dict[str, dict[str, Any]] = {}
    for dotted, value in flat.items():
        section, _, key = dotted.partition(".")
        if not key or "." in key:
            raise ConfigError(source, f"{where}.{dotted}", "expected SECTION.KEY (e.g. search.epochs)")
        nested.setdefault(section, {})[key] = value
    return nested


def _resolve(points: list[tuple[str | None, dict[str, Any], str]], base: SearchConfig, source: str) -> list[Setting]:
    settings: list[Setting] = []
    seen: dict[str, str] = {}
    for index, (label, flat, where) in enumerate(points):
        cfg = config_from_dict(_nest(flat, source, where), f"{source}: {where}", copy.deepcopy(base))
        setting = Setting(index, _slug(label) if label else auto_label(flat), flat, cfg)
        if setting.run_name in seen:
            raise ConfigError(source, where, f"duplicates {seen[setting.run_name]} (same label and config)")
        seen[setting.run_name] = where
        settings.append(setting)
    return settings


def auto_label(flat: dict[str, Any]) -> str:
    if not flat:
        return "base"
    parts = [f"{key.rsplit('.', 1)[-1]}{_short(value)}" for key, value in flat.items()]
    return _slug("_".join(parts))


def _short(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:g}"
    return str(value)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:48] or "run"
