"""TOML reading (tomllib / tomli) and a small writer for the plain data we store."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import Any

from .errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def load_toml(path: str | os.PathLike) -> dict[str, Any]:
    """Load a TOML file; a missing or malformed file is one clear ConfigError."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(str(path), None, "file not found (expected a TOML file)") from None
    except IsADirectoryError:
        raise ConfigError(str(path), None, "is a directory (expected a TOML file)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), None, f"not valid TOML ({exc})") from None


def loads_toml(text: str, source: str = "<string>") -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, None, f"not valid TOML ({exc})") from None


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
        return f'"{escaped}"'
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, (list, tuple)) for v in value):
            rows = ",\n".join("  " + _scalar(v) for v in value)
            return "[\n" + rows + ",\n]"
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if value is None:
        raise TypeError("TOML has no null")
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def dumps_toml(data: dict[str, Any], _prefix: str = "") -> str:
    """Write nested dicts of scalars and lists as TOML; None values are left out."""
    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_scalar(value)}")
    out = "\n".join(lines)
    for key, table in tables:
        name = f"{_prefix}{_key(key)}"
        body = dumps_toml(table, name + ".").rstrip("\n")
        out = out.rstrip("\n") + ("\n\n" if out else "") + f"[{name}]" + (f"\n{body}" if body else "")
    return out + ("\n" if out and not out.endswith("\n") else "")


def _key(key: str) -> str:
    if key and all(c.isalnum() or c in "-_" for c in key):
        return key
    return _scalar(key)
