"""Knob presets: search configs (TOML) in the presets directory (see paths.presets_dir).

A preset file is a full or partial SearchConfig, so `hanna-tui search --config presets/X.toml` runs
it; sections it leaves out come from the dashboard's demo config. Presets of the first format
(format = "hanna-preset/1" with a [preset] table) still load.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import SearchConfig, config_from_dict, demo_config
from ..errors import ConfigError
from ..fsutil import atomic_write_text
from ..knobs import KNOB_NAMES, Knobs
from ..tomlio import load_toml
from .paths import presets_dir

OLD_FORMAT = "hanna-preset/1"
# [preset] keys of the first format -> the search config's section.key
OLD_KEYS = {
    **{name: f"knobs.{name}" for name in KNOB_NAMES},
    "profile": "profile.path",
    "space": "space.name",
    "data": "data.name",
    "epochs": "search.epochs",
    "mode": "search.mode",
    "seed": "run.seed",
}

_DEMO = demo_config()  # the dashboard opens on the embedded demo, so one key starts a search that learns


@dataclass
class Preset:
    """What the knobs screen shows of a search config."""

    knobs: Knobs = field(default_factory=lambda: _DEMO.knobs)
    profile: str = ""
    space: str = _DEMO.space.name
    data: str = _DEMO.data.name
    epochs: int = _DEMO.search.epochs
    mode: str = _DEMO.search.mode
    seed: int = _DEMO.run.seed

    def config(self, base: SearchConfig | None = None) -> SearchConfig:
        """The search config this preset stands for: base (default: the demo) with the preset's fields."""
        values: dict[str, dict[str, Any]] = {
            "knobs": self.knobs.to_dict(),
            "space": {"name": self.space},
            "data": {"name": self.data},
            "search": {"epochs": self.epochs, "mode": self.mode},
            "run": {"seed": self.seed},
        }
        if self.profile:
            values["profile"] = {"path": _absolute(self.profile)}
        cfg = copy.deepcopy(base or _DEMO)
        cfg.search.warmup_epochs = min(cfg.search.warmup_epochs, max(0, self.epochs - 1))
        return config_from_dict(values, "preset", cfg)


def preset_from_config(cfg: SearchConfig) -> Preset:
    """The knob screen's fields from a search config (a preset file, or hanna-tui tui --config FILE)."""
    return Preset(
        knobs=cfg.knobs,
        profile=str(Path(cfg.profile.path)),
        space=cfg.space.name,
        data=cfg.data.name,
        epochs=cfg.search.epochs,
        mode=cfg.search.mode,
        seed=cfg.run.seed,
    )


def preset_path(name: str, directory: Path | None = None) -> Path:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "preset"
    return (directory or presets_dir()) / f"{slug}.toml"


def save_preset(name: str, preset: Preset | SearchConfig, directory: Path | None = None) -> Path:
    """Write the preset as a full search config (runnable with hanna-tui search --config)."""
    cfg = preset.config() if isinstance(preset, Preset) else preset
    path = preset_path(name, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = f"# hanna-tui preset {name!r}: a search config; run it with hanna-tui search --config {path.name}\n\n"
    atomic_write_text(path, header + cfg.to_toml())
    return path


def list_presets(directory: Path | None = None) -> list[Path]:
    base = directory or presets_dir()
    return sorted(base.glob("*.toml")) if base.is_dir() else []


def load_preset_config(path: Path, base: SearchConfig | None = None) -> SearchConfig:
    """The search config of a preset file (sections it leaves out: base, default the demo config)."""
    data = load_toml(path)
    source = str(path)
    if "format" in data:
        data = _upgrade(data, source)
    return config_from_dict(data, source, copy.deepcopy(base or _DEMO))


def load_preset(path: Path) -> Preset:
    return preset_from_config(load_preset_config(path))


def _upgrade(data: dict[str, Any], source: str) -> dict[str, Any]:
    """A first-format preset as search-config sections."""
    if data.get("format") != OLD_FORMAT:
        raise ConfigError(source, "format", f'expected a search config, or a preset of format "{OLD_FORMAT}"; got {data.get("format")!r}')
    raw = data.get("preset")
    if not isinstance(raw, dict):
        raise ConfigError(source, "preset", "missing section (expected a TOML table)")
    sections: dict[str, dict[str, Any]] = {}
    for key, value in raw.items():
        if key not in OLD_KEYS:
            raise ConfigError(source, f"preset.{key}", f"unknown key (expected one of {', '.join(OLD_KEYS)})")
        section, name = OLD_KEYS[key].split(".")
        if not (key == "profile" and value == ""):  # "" meant: the dashboard's default profile
            sections.setdefault(section, {})[name] = value
    return sections


def _absolute(profile: str) -> str:
    path = Path(profile).expanduser()
    return str(path.resolve()) if path.exists() else profile
