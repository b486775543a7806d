"""Batch TOML: [batch], [base] (a full search config), [train], [deploy], [sweep]; validated on load.

    [batch]   name, concurrency, executor ("local" | "ray"), address, runs_root, threads_per_run
    [base]    config = "a search config file" (optional) and the search config sections
              [base.run] [base.space] [base.profile] [base.knobs] [base.data] [base.search]
    [train]   enabled, epochs, device, data, extra_args          (optional step)
    [deploy]  enabled, targets = ["local", "pi@host"], energy, runtime, precision, extra_args   (optional step)
    [sweep]   grid = {alpha = [...], beta = [...]}  (cartesian product) and/or
              [[sweep.settings]] tables (name = "label", then knob names or dotted keys) and/or
              budgets = {kind = "latency" | "energy" | "both", count = N}   (a front sweep, below)

Front sweep: ``budgets`` adds N budget searches ([constraints], hanna_tui/nas/budget.py) spread strictly
inside the range the budget check accepts (nas.budget.budget_range: the predicted cost of the profile's
cheapest to its dearest architecture), at lo + (hi - lo) * (i + 1) / (N + 1) for i = 0..N-1. "latency"
sets constraints.latency_s, "energy" constraints.energy_j (the profile needs an energy table), "both"
sets the pair at the same fraction of each range (the diagonal). Each run is labelled by its budget
("lat-2.93s", "ener-8.59J", "lat-2.93s_ener-8.59J") and otherwise takes [base] as it is, so [base.knobs]
given explicitly stay on beside the budget (without them the paper's terms are off, as for any budget
search). The budget runs come after the explicit settings and the grid; the batch summary gets a
"front" entry (batch/summary.py: budget, final argmax cost, accuracy and the Pareto set of each run).

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

from ..config import SearchConfig, config_from_dict, load_config, resolve_near, set_overrides
from ..errors import ConfigError
from ..knobs import KNOB_NAMES as LOSS_KNOBS
from ..tomlio import load_toml, loads_toml

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
    front: dict[str, Any] | None = None  # the [sweep] budgets spread: kind, count, range per constraint key

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
    settings, front = _expand(data.get("sweep", {}), base, source)
    return BatchConfig(source, batch, base, train, deploy, settings, front)


def batch_warnings(cfg: BatchConfig) -> list[str]:
    """knobs.knob_warnings of the runs, one line per distinct warning naming the runs it concerns."""
    from ..knobs import knob_warnings

    runs: dict[str, list[str]] = {}
    for setting in cfg.settings:
        for text in knob_warnings(setting.config.knobs):
            runs.setdefault(text, []).append(setting.label)
    out = []
    for text, labels in runs.items():
        if len(labels) == len(cfg.settings):
            which = "the run" if len(labels) == 1 else f"all {len(labels)} runs"
        else:
            which = (
                ("run " if len(labels) == 1 else "runs ")
                + ", ".join(labels[:5])
                + (f" and {len(labels) - 5} more" if len(labels) > 5 else "")
            )
        out.append(f"{cfg.path}: {text} ({which})")
    return out


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
        raise ConfigError(
            source,
            "deploy.runtime",
            f'expected runtime "torch" or "onnxruntime" and precision "fp32" or "int8", got {deploy.runtime!r}, {deploy.precision!r}',
        )


# ---------------------------------------------------------------- sweeps


def expand_sweep(sweep: dict[str, Any], base: SearchConfig, source: str) -> list[Setting]:
    """Explicit settings first, then the grid's cartesian product, then the budgets; no sweep = one run of [base]."""
    return _expand(sweep, base, source)[0]


def _expand(sweep: dict[str, Any], base: SearchConfig, source: str) -> tuple[list[Setting], dict[str, Any] | None]:
    """The settings and the budget spread (None without [sweep] budgets)."""
    _check_keys(sweep, ("grid", "settings", "budgets"), source, "sweep.")
    points: list[tuple[str | None, dict[str, Any], str]] = []
    for i, raw in enumerate(_settings_list(sweep.get("settings", []), source)):
        where = f"sweep.settings[{i}]"
        label = raw.pop("name", None)
        if label is not None and not isinstance(label, str):
            raise ConfigError(source, f"{where}.name", f"expected a string, got {label!r}")
        points.append((label, _flatten(raw, source, where), where))
    if "grid" in sweep:
        points += [(None, combo, "sweep.grid") for combo in _grid(sweep["grid"], source)]
    spread = budget_spread(sweep["budgets"], base, source) if "budgets" in sweep else None
    if spread is not None:
        points += [(label, flat, f"sweep.budgets[{i}]") for i, (label, flat) in enumerate(spread["points"])]
    if not points:
        if sweep:
            raise ConfigError(source, "sweep", "expands to no run (expected a grid, budgets or at least one [[sweep.settings]])")
        points = [(None, {}, "base")]
    return _resolve(points, base, source), spread


BUDGET_KINDS = {"latency": ("lat",), "energy": ("ener",), "both": ("lat", "ener")}
MAX_BUDGETS = 1000
_BUDGET_PREFIX = {"lat": "lat", "ener": "ener"}


def budget_spread(spec: Any, base: SearchConfig, source: str) -> dict[str, Any]:
    """[sweep] budgets = {kind, count}: the N budgets strictly inside the profile's range, labelled.

    Returns {"kind", "count", "range": {"latency_s": [lo, hi], ...}, "points": [(label, flat overrides)]}.
    """
    from ..nas.budget import CONFIG_KEYS, UNITS, budget_range
    from ..profiles import load_profile

    where = "sweep.budgets"
    if not isinstance(spec, dict):
        raise ConfigError(source, where, f'expected a table, e.g. budgets = {{kind = "latency", count = 5}}, got {spec!r}')
    _check_keys(spec, ("kind", "count"), source, f"{where}.")
    kind, count = spec.get("kind"), spec.get("count")
    if kind not in BUDGET_KINDS:
        raise ConfigError(source, f"{where}.kind", f"expected one of {', '.join(BUDGET_KINDS)}, got {kind!r}")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_BUDGETS:
        raise ConfigError(source, f"{where}.count", f"expected an integer from 1 to {MAX_BUDGETS} (the number of budgets), got {count!r}")
    profile = load_profile(base.profile.path)  # checked on load of [base]
    spans: dict[str, tuple[float, float]] = {}
    for k in BUDGET_KINDS[kind]:
        span = budget_range(profile, k)
        if span is None:
            raise ConfigError(
                source, f"{where}.kind", f'{kind!r} needs an energy table, and {base.profile.path} has none (expected kind = "latency")'
            )
        if not span[0] < span[1]:
            raise ConfigError(
                source,
                f"{where}.kind",
                f"{base.profile.path} predicts one {CONFIG_KEYS[k]} for every architecture (no range to spread budgets over)",
            )
        spans[k] = span
    values = [{k: _inside(lo + (hi - lo) * (i + 1) / (count + 1), lo, hi) for k, (lo, hi) in spans.items()} for i in range(count)]
    labels = _budget_labels(values, UNITS)
    points = [
        (label, {f"constraints.{CONFIG_KEYS[k]}": v for k, v in budget.items()}) for label, budget in zip(labels, values, strict=True)
    ]
    return {"kind": kind, "count": count, "range": {CONFIG_KEYS[k]: list(span) for k, span in spans.items()}, "points": points}


def _inside(value: float, lo: float, hi: float) -> float:
    """Six significant digits (readable in the run's config.toml) while that stays strictly inside (lo, hi)."""
    short = float(f"{value:.6g}")
    return short if lo < short < hi else value


def _budget_labels(values: list[dict[str, float]], units: dict[str, str]) -> list[str]:
    """lat-2.93s, ener-8.59J, lat-2.93s_ener-8.59J: three significant digits, more when two would be alike."""
    for digits in range(3, 13):
        labels = ["_".join(f"{_BUDGET_PREFIX[k]}-{v:.{digits}g}{units[k]}" for k, v in budget.items()) for budget in values]
        if len(set(labels)) == len(labels):
            return labels
    return labels


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


# ---------------------------------------------------------------- narrowing from the command line


def _toml_value(raw: str) -> Any:
    try:
        return loads_toml(f"v = {raw}", "--set")["v"]
    except ConfigError:
        return raw  # a bare word is a string


def narrow(cfg: BatchConfig, sets: list[str], only: list[str]) -> None:
    """`--batch FILE --only LABEL,... --set SECTION.KEY=VALUE`: keep the named settings and apply
    the overrides (train.* and deploy.* to the batch's steps, the rest to the search config) to every one of them (after its own overrides, so --set search.epochs=2 shortens
    a setting that names its own epochs too). A shortened run gets its own directory (the config
    hash is part of the name), so it never resumes or overwrites the full-length one."""
    if only:
        labels = [s.label for s in cfg.settings]
        unknown = [name for name in only if name not in labels]
        if unknown:
            shown = ", ".join(labels[:8]) + (", ..." if len(labels) > 8 else "")
            raise ConfigError("--only", unknown[0], f"no such setting in {cfg.path} (expected one of {shown})")
        cfg.settings = [s for s in cfg.settings if s.label in only]
    items = []
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError("--set", item, "expected SECTION.KEY=VALUE, e.g. search.epochs=2")
        section, _, name = key.strip().partition(".")
        if section in ("train", "deploy"):  # the batch's own steps (train.epochs=1, train.enabled=false)
            _fill(getattr(cfg, section), {name: _toml_value(value.strip())}, "--set", section)
            if section == "deploy":
                _check_deploy(cfg.deploy, "--set")
            continue
        items.append((key.strip(), value.strip()))
    if items:
        for setting in cfg.settings:
            set_overrides(setting.config, items, f"--set ({setting.label})")
