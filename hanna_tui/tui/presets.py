"""Knob presets as small TOML files in the presets directory (see paths.presets_dir)."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from ..config import demo_config
from ..errors import ConfigError
from ..fsutil import atomic_write_text
from ..tomlio import dumps_toml, load_toml
from .paths import presets_dir

FORMAT = "hanna-preset/1"


_DEMO = demo_config()  # the dashboard opens on the embedded demo, so one key starts a search that learns


@dataclass
class Preset:
    alpha: float = _DEMO.knobs.alpha
    beta: float = _DEMO.knobs.beta
    gamma: float = _DEMO.knobs.gamma
    delta: float = _DEMO.knobs.delta
    profile: str = ""
    space: str = _DEMO.space.name
    data: str = _DEMO.data.name
    epochs: int = _DEMO.search.epochs
    mode: str = _DEMO.search.mode
    seed: int = _DEMO.run.seed


FLOATS = ("alpha", "beta", "gamma", "delta")
INTS = ("epochs", "seed")
STRS = ("profile", "space", "data", "mode")


def preset_path(name: str, directory: Path | None = None) -> Path:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "preset"
    return (directory or presets_dir()) / f"{slug}.toml"


def save_preset(name: str, preset: Preset, directory: Path | None = None) -> Path:
    path = preset_path(name, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, dumps_toml({"format": FORMAT, "preset": asdict(preset)}))
    return path


def list_presets(directory: Path | None = None) -> list[Path]:
    base = directory or presets_dir()
    return sorted(base.glob("*.toml")) if base.is_dir() else []


def load_preset(path: Path) -> Preset:
    data = load_toml(path)
    source = str(path)
    if data.get("format") != FORMAT:
        raise ConfigError(source, "format", f'expected "{FORMAT}", got {data.get("format")!r}')
    raw = data.get("preset")
    if not isinstance(raw, dict):
        raise ConfigError(source, "preset", "missing section (expected a TOML table)")
    preset = Preset()
    for key, value in raw.items():
        setattr(preset, key, _check(source, key, value))
    return preset


def _check(source: str, key: str, value: object) -> object:
    field = f"preset.{key}"
    if key in FLOATS:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
        if not ok:
            raise ConfigError(source, field, f"expected a finite number >= 0, got {value!r}")
        return float(value)  # type: ignore[arg-type]
    if key in INTS:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigError(source, field, f"expected an integer >= 0, got {value!r}")
        return value
    if key in STRS:
        if not isinstance(value, str):
            raise ConfigError(source, field, f"expected a string, got {value!r}")
        return value
    raise ConfigError(source, field, f"unknown key (expected one of {', '.join(FLOATS + INTS + STRS)})")
