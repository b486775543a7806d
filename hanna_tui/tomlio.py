"""TOML reading (tomllib / tomli) and a small writer for the plain data we store.

Reading takes regular files of at most 16 MB that are UTF-8 text; every other file is one
ConfigError. The writer round-trips any string (control characters, quotes, backslashes and
unicode are escaped or kept as TOML requires); a lone surrogate, which no TOML file can hold,
is a ValueError.
"""

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


def read_toml_bytes(path: str | os.PathLike, what: str = "a TOML file") -> bytes:
    """The bytes of a config or profile file: a regular file of at most 16 MB (never a FIFO,
    a device or a directory); anything else is one ConfigError naming the file."""
    from .fsutil import TEXT_FILE_LIMIT, Unreadable, read_bytes

    path = Path(path)
    try:
        # a config the user names may be a symlink (dotfile managers): its target is read, still
        # as a regular, bounded file
        return read_bytes(path.resolve() if path.is_symlink() else path, TEXT_FILE_LIMIT)
    except FileNotFoundError:
        raise ConfigError(str(path), None, f"file not found (expected {what})") from None
    except Unreadable as exc:
        raise ConfigError(str(path), None, f"{exc.reason} (expected {what})") from None
    except OSError as exc:
        raise ConfigError(str(path), None, f"cannot read ({exc.strerror or exc}; expected {what})") from None


def parse_toml_bytes(raw: bytes, source: str, what: str = "a TOML file") -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(source, None, f"not UTF-8 text (byte {exc.start}; expected {what})") from None
    return loads_toml(text, source)


def load_toml(path: str | os.PathLike) -> dict[str, Any]:
    """Load a TOML file; a missing, binary, oversized or malformed file is one clear ConfigError."""
    return parse_toml_bytes(read_toml_bytes(path), str(path))


def loads_toml(text: str, source: str = "<string>") -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, None, f"not valid TOML ({str(exc).splitlines()[0]})") from None
    except RecursionError:
        raise ConfigError(source, None, "not usable TOML (nested too deeply)") from None
    except ValueError as exc:  # e.g. an integer with too many digits
        raise ConfigError(source, None, f"not usable TOML ({str(exc).splitlines()[0]})") from None


# Basic strings escape what TOML forbids raw: backslash, quote and every control character
# (U+0000-U+001F and U+007F); everything else, any unicode included, is written as it is.
_SHORT_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def toml_string(value: str) -> str:
    out = []
    for ch in value:
        if ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        elif 0xD800 <= ord(ch) <= 0xDFFF:
            raise ValueError(f"cannot write a lone surrogate (U+{ord(ch):04X}) as TOML")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


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
        return toml_string(value)
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
    if key and all(c.isascii() and (c.isalnum() or c in "-_") for c in key):
        return key
    return _scalar(key)
