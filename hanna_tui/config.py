"""Search run configuration (TOML), validated on load: unknown keys and wrong types name the field."""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .knobs import FORMS, KnobError, Knobs
from .tomlio import dumps_toml, load_toml

DATA_NAMES = ("synthetic", "cifar10", "cifar100", "imagefolder")
MODES = ("mixture", "sampled")
LOSS_FORMS = FORMS


@dataclass
class RunSection:
    name: str = "search"
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    threads: int = 0  # torch intra-op threads; 0 = torch's default
    log_interval: int = 20  # training steps between interval metric records


@dataclass
class SpaceSection:
    name: str = "fbnet-cifar10"
    width_mult: float = 1.0
    proxy: bool = False  # true: a smaller proxy (width, image size) of the profile's network


@dataclass
class ProfileSection:
    path: str = "profiles/rpi3b-hanna.toml"
    hash: str = ""  # sha256 of the profile file; written into a run's config snapshot


@dataclass
class DataSection:
    name: str = "cifar10"
    root: str = "data"
    download: bool = False
    train_subset: int = 0  # 0 = the whole training split
    test_subset: int = 0
    val_fraction: float = 0.2  # held-out share of the training split that trains theta
    workers: int = 0
    synthetic_train: int = 2048
    synthetic_test: int = 512
    image_size: int = 0  # 0 = the space's input size
    loader: str = (
        "cache"  # cache: decoded once into a uint8 tensor cache, batches augmented on the device; dataloader: per-image DataLoader
    )


@dataclass
class SearchSection:
    mode: str = "mixture"
    epochs: int = 90
    warmup_epochs: int = 10
    batch_size: int = 256
    w_lr: float = 0.1
    w_momentum: float = 0.9
    w_weight_decay: float = 1e-4
    theta_lr: float = 0.01
    theta_weight_decay: float = 5e-4
    temperature: float = 5.0
    temperature_decay: float = 0.956
    amp: bool = True  # only used on CUDA


@dataclass
class ConstraintsSection:
    """Budgets for the argmax childnet's predicted cost; the search adapts its penalty weights (nas/budget.py)."""

    latency_s: float = 0.0  # seconds (calibrated prediction when the profile has a calibration); 0 = no budget
    energy_j: float = 0.0  # joules; 0 = no budget
    band: float = 0.06  # up to this share below a budget still counts as landing at it
    step: float = 10.0  # dual-ascent step of the multipliers per theta step

    @property
    def active(self) -> bool:
        return self.latency_s > 0 or self.energy_j > 0


@dataclass
class SearchConfig:
    run: RunSection = field(default_factory=RunSection)
    space: SpaceSection = field(default_factory=SpaceSection)
    profile: ProfileSection = field(default_factory=ProfileSection)
    knobs: Knobs = field(default_factory=Knobs)  # [knobs] alpha, beta, gamma, delta, form (hanna_tui/knobs.py)
    data: DataSection = field(default_factory=DataSection)
    search: SearchSection = field(default_factory=SearchSection)
    constraints: ConstraintsSection = field(default_factory=ConstraintsSection)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_toml(self) -> str:
        return dumps_toml(self.to_dict())


def demo_config() -> SearchConfig:
    """The embedded default: the shipped profile, generated data, a slim supernet, sampled mode.

    Tuned to finish in about two minutes on a busy 2-core machine and to learn (about 50-60% test
    accuracy on the 10 generated classes): 16x16 images, one thread, energy-dominant knobs and a
    fast theta learning rate so that the sampled paths settle within a few epochs.
    """
    cfg = SearchConfig()
    cfg.run.name = "demo"
    cfg.run.device = "cpu"
    cfg.run.log_interval = 5
    cfg.run.threads = 1  # one thread: robust on a busy 2-core machine (OpenMP spin-waits multiply the time)
    cfg.space.width_mult = 0.25
    cfg.space.proxy = True  # of the profile's network (width 1.0, 32x32): fast, and says so
    cfg.data.name = "synthetic"
    cfg.data.synthetic_train = 1536
    cfg.data.synthetic_test = 512
    cfg.data.image_size = 16
    cfg.search.mode = "sampled"
    cfg.search.epochs = 16
    cfg.search.warmup_epochs = 1
    cfg.search.batch_size = 64
    cfg.search.w_lr = 0.05
    cfg.search.theta_lr = 0.2
    cfg.search.temperature_decay = 0.9
    cfg.knobs = Knobs(2.0, 0.6, 4.0, 0.6)
    return cfg


def config_from_dict(data: dict[str, Any], source: str, base: SearchConfig | None = None) -> SearchConfig:
    cfg = base if base is not None else SearchConfig()
    section_names = {f.name for f in fields(SearchConfig)}
    for key, value in data.items():
        if key not in section_names:
            raise ConfigError(source, key, f"unknown section (expected one of {', '.join(sorted(section_names))})")
        if not isinstance(value, dict):
            raise ConfigError(source, key, "expected a table")
        setattr(cfg, key, _apply(getattr(cfg, key), value, source, key))
    validate_config(cfg, source)
    _check_constraints(cfg, data, source)
    return cfg


def _check_constraints(cfg: SearchConfig, data: dict[str, Any], source: str) -> None:
    """Budgets in range; a budget without any knob given explicitly turns the paper's penalty terms off."""
    c = cfg.constraints
    for key in ("latency_s", "energy_j"):
        value = getattr(c, key)
        if not 0 <= value < float("inf"):  # NaN fails too
            raise ConfigError(source, f"constraints.{key}", f"expected a finite number >= 0 (0 = no budget), got {value}")
    if not 0 < c.band < 0.5:
        raise ConfigError(source, "constraints.band", f"expected a number between 0 and 0.5, got {c.band}")
    if not 0 < c.step < float("inf"):
        raise ConfigError(source, "constraints.step", f"expected a finite number > 0, got {c.step}")
    if "knobs" in data:
        cfg.__dict__["explicit_knobs"] = True  # not a field: never written to config.toml
    if "constraints" in data and c.active and not cfg.__dict__.get("explicit_knobs"):
        cfg.knobs = dataclasses.replace(cfg.knobs, alpha=0.0, gamma=0.0)


def load_config(path: str | os.PathLike, base: SearchConfig | None = None) -> SearchConfig:
    return config_from_dict(load_toml(path), str(path), base)


def _apply(section: Any, values: dict[str, Any], source: str, prefix: str) -> Any:
    """The section with the table's values (a new object: the knobs are frozen and validate themselves)."""
    types = {f.name: f.type for f in fields(section)}
    changes = {}
    for key, value in values.items():
        name = f"{prefix}.{key}"
        if key not in types:
            raise ConfigError(source, name, f"unknown key (expected one of {', '.join(sorted(types))})")
        changes[key] = coerce(value, types[key], source, name)
    try:
        return dataclasses.replace(section, **changes)
    except KnobError as exc:
        raise ConfigError(source, f"{prefix}.{exc.field}", exc.expected) from None


def coerce(value: Any, type_name: Any, source: str, name: str) -> Any:
    """Check a TOML value against a dataclass field type (str, int, float, bool)."""
    t = type_name if isinstance(type_name, str) else getattr(type_name, "__name__", str(type_name))
    if t == "bool":
        if isinstance(value, bool):
            return value
        raise ConfigError(source, name, f"expected true or false, got {value!r}")
    if t == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(source, name, f"expected an integer, got {value!r}")
    if t == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(source, name, f"expected a number, got {value!r}")
    if t == "str":
        if isinstance(value, str):
            return value
        raise ConfigError(source, name, f"expected a string, got {value!r}")
    raise ConfigError(source, name, f"unsupported field type {t}")


# What works, per field: (low, high) inclusive; numbers outside are refused on load. The bounds
# are generous for real runs and tight enough that nothing overflows, exhausts memory or turns
# the weights to NaN (a learning rate of inf, a width of 1e5, a seed past 2**32).
INT_RANGES: dict[str, tuple[int, int]] = {
    "run.seed": (0, 2**32 - 1),
    "run.threads": (0, 1024),
    "run.log_interval": (1, 10**6),
    "data.train_subset": (0, 10**9),
    "data.test_subset": (0, 10**9),
    "data.workers": (0, 256),
    "data.synthetic_train": (16, 10**7),
    "data.synthetic_test": (1, 10**7),
    "search.epochs": (1, 10_000),
    "search.batch_size": (1, 65_536),
}
# (low, high, low_open): low_open excludes the low end
FLOAT_RANGES: dict[str, tuple[float, float, bool]] = {
    "space.width_mult": (0.05, 4.0, False),
    "data.val_fraction": (0.0, 0.95, False),  # 0: theta trains on the training split itself
    "search.w_lr": (0.0, 10.0, True),
    "search.w_momentum": (0.0, 0.999, False),
    "search.w_weight_decay": (0.0, 1.0, False),
    "search.theta_lr": (0.0, 100.0, True),
    "search.theta_weight_decay": (0.0, 1.0, False),
    "search.temperature": (0.0, 1e4, True),
    "search.temperature_decay": (0.0, 1.0, True),
}
IMAGE_SIZES = (8, 1024)  # data.image_size: 0 (the space's own) or this range
PATH_FIELDS = ("profile.path", "data.root")


def _field(cfg: SearchConfig, dotted: str) -> Any:
    section, key = dotted.split(".", 1)
    return getattr(getattr(cfg, section), key)


def _range_text(low: float, high: float, low_open: bool = False) -> str:
    return f"expected a number {'>' if low_open else '>='} {low:g} and <= {high:g}"


def validate_config(cfg: SearchConfig, source: str) -> None:
    """Every field in the range that works (INT_RANGES, FLOAT_RANGES), names and paths usable."""
    from .space import SPACE_NAMES

    def need(cond: bool, name: str, expected: str) -> None:
        if not cond:
            raise ConfigError(source, name, expected)

    for name, (low, high) in INT_RANGES.items():
        value = _field(cfg, name)
        need(low <= value <= high, name, f"expected an integer from {low} to {high}, got {value}")
    for name, (low, high, low_open) in FLOAT_RANGES.items():
        value = _field(cfg, name)
        inside = math.isfinite(value) and (value > low if low_open else value >= low) and value <= high
        need(inside, name, f"{_range_text(low, high, low_open)}, got {value}")
    for section in (cfg.run, cfg.space, cfg.profile, cfg.data, cfg.search):
        for f in fields(section):
            value = getattr(section, f.name)
            if isinstance(value, str):
                name = f"{type(section).__name__.removesuffix('Section').lower()}.{f.name}"
                need(_is_text(value), name, "expected UTF-8 text without control characters")
    for name in PATH_FIELDS:
        need(len(_field(cfg, name)) <= 4096, name, "expected a path of at most 4096 characters")
    size = cfg.data.image_size
    need(
        size == 0 or IMAGE_SIZES[0] <= size <= IMAGE_SIZES[1],
        "data.image_size",
        f"expected 0 (the space's input size) or an integer from {IMAGE_SIZES[0]} to {IMAGE_SIZES[1]}, got {size}",
    )
    need(cfg.space.name in SPACE_NAMES, "space.name", f"expected one of {', '.join(SPACE_NAMES)}, got {cfg.space.name!r}")
    need(cfg.data.name in DATA_NAMES, "data.name", f"expected one of {', '.join(DATA_NAMES)}, got {cfg.data.name!r}")
    need(cfg.search.mode in MODES, "search.mode", f"expected one of {', '.join(MODES)}, got {cfg.search.mode!r}")
    need(
        0 <= cfg.search.warmup_epochs <= cfg.search.epochs,
        "search.warmup_epochs",
        f"expected 0..epochs ({cfg.search.epochs}), got {cfg.search.warmup_epochs}",
    )
    dev = cfg.run.device
    need(
        dev in ("auto", "cpu", "cuda") or (dev.startswith("cuda:") and dev[5:].isdigit() and len(dev) <= 8),
        "run.device",
        f"expected auto, cpu, cuda or cuda:N, got {dev!r}",
    )


def _is_text(value: str) -> bool:
    """No control characters (a tab aside) and no undecodable bytes (lone surrogates from argv)."""
    return not any((ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F or 0xD800 <= ord(c) <= 0xDFFF for c in value)


def set_override(cfg: SearchConfig, dotted: str, raw: str, source: str = "--set") -> None:
    """Apply one command-line override such as search.epochs=3 (value parsed as TOML)."""
    set_overrides(cfg, [(dotted, raw)], source)


def set_overrides(cfg: SearchConfig, items: list[tuple[str, str]], source: str = "--set") -> None:
    """Apply several overrides at once, checked together (epochs=2 with warmup_epochs=1, in any order)."""
    from .tomlio import loads_toml

    table: dict[str, dict[str, Any]] = {}
    for dotted, raw in items:
        if "." not in dotted:
            raise ConfigError(source, dotted, "expected SECTION.KEY=VALUE")
        section, key = dotted.split(".", 1)
        try:
            value = loads_toml(f"v = {raw}", source)["v"]
        except ConfigError:
            value = raw  # a bare word is a string
        table.setdefault(section, {})[key] = value
    config_from_dict(table, source, cfg)


def resolve_near(path: str, base: Path) -> Path:
    """A relative path as given when it exists from the working directory, else next to its config file."""
    p = Path(path)
    if p.is_absolute() or p.exists() or not (base / p).exists():
        return p
    return base / p
