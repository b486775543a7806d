"""Where the dashboard looks for profiles, presets and runs.

- profiles: $HANNA_PROFILES, else ./profiles when it exists, else the shipped profiles (package data);
- presets:  $HANNA_PRESETS, else ./presets (created on the first save; knob presets are TOML files there);
- runs:     $HANNA_RUNS, else ./runs (the core's run store decides).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..profiles import shipped_profiles_dir  # package data, found by importlib.resources

DEFAULT_PROFILE_NAME = "rpi3b-hanna.toml"


def profiles_dir() -> Path:
    env = os.environ.get("HANNA_PROFILES")
    if env:
        return Path(env)
    local = Path("profiles")
    if local.is_dir():
        return local
    return shipped_profiles_dir()


def presets_dir() -> Path:
    return Path(os.environ.get("HANNA_PRESETS", "presets"))


def default_profile_path() -> Path:
    return profiles_dir() / DEFAULT_PROFILE_NAME
