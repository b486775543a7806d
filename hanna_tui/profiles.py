"""Device profiles: latency and energy lookup tables of one board for one search space (TOML).

Format (profiles/*.toml), every field validated on load:

    format = "hanna-profile/1"
    [device]       name, description, (optional) board, cpu, notes
    [space]        the network the tables describe: name (a known space), input_shape = [N, C, H, W],
                   width_mult (default 1.0), num_classes (default: the space's)
    [runtime]      what timed it: name = "torch" | "onnxruntime", precision = "fp32" | "int8",
                   threads (0 = the runtime's default), jit (torch: eager | trace | freeze);
                   absent in old profiles: torch, fp32, the threads of [measurement]
    [latency]      unit = "s" | "ms" | "us", table = 22 rows x 9 columns of finite numbers >= 0
    [energy]       unit = "J" | "mJ" | "uJ", table (optional section: absent when no sensor)
    [extra.NAME]   further tables (unit, table, description), e.g. the authors' power table
    [spread]       optional tables of p90/p50 per entry from the profiler
    [measurement]  how and when measured (free-form strings / numbers)
    [provenance]   where the numbers come from (free-form strings)
    [calibration]  optional whole-network latency model fitted on measured networks
                   (hanna_tui/device/calibration.py: scale, offset_s, per-cell corrections, ...)

Padded cells (a candidate the layer does not allow, e.g. skip in the first layer of a group)
must still hold a finite number >= 0; they are ignored everywhere.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .fsutil import atomic_write_text
from .space import CANDIDATES, SearchSpace, get_space
from .tomlio import dumps_toml, loads_toml, read_toml_bytes

FORMAT = "hanna-profile/1"
RUNTIMES = ("torch", "onnxruntime")
PRECISIONS = ("fp32", "int8")
LATENCY_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6}
ENERGY_UNITS = {"J": 1.0, "mJ": 1e-3, "uJ": 1e-6}
POWER_UNITS = {"W": 1.0, "mW": 1e-3}
ALL_UNITS = {**LATENCY_UNITS, **ENERGY_UNITS, **POWER_UNITS, "ratio": 1.0}

Table = list[list[float]]


@dataclass
class LookupTable:
    unit: str
    table: Table
    description: str = ""

    def in_base_units(self) -> Table:
        """Values in seconds / joules / watts, whatever unit the file stores."""
        factor = ALL_UNITS[self.unit]
        return [[v * factor for v in row] for row in self.table]


@dataclass(frozen=True)
class Network:
    space: str
    width_mult: float
    input_size: int
    num_classes: int

    def describe(self) -> str:
        return f"{self.space} width {self.width_mult:g}, {self.input_size}x{self.input_size}, {self.num_classes} classes"


@dataclass(frozen=True)
class Runtime:
    name: str = "torch"
    precision: str = "fp32"
    threads: int = 0  # 0: the runtime's default
    jit: str = ""  # torch only: eager | trace | freeze

    @property
    def label(self) -> str:
        """torch, onnxruntime, torch-int8, onnxruntime-int8."""
        return self.name if self.precision == "fp32" else f"{self.name}-{self.precision}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "precision": self.precision, "threads": self.threads}
        if self.jit:
            out["jit"] = self.jit
        return out


@dataclass
class DeviceProfile:
    path: str
    device: dict[str, Any]
    space_name: str
    input_shape: list[int]
    width_mult: float
    latency: LookupTable
    energy: LookupTable | None
    extra: dict[str, LookupTable] = field(default_factory=dict)
    spread: dict[str, Table] = field(default_factory=dict)
    measurement: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    content_hash: str = ""
    calibration: dict[str, Any] = field(default_factory=dict)
    num_classes: int = 0  # 0: the space's default
    runtime: Runtime = field(default_factory=lambda: Runtime())

    @property
    def network(self) -> Network:
        """The network the tables describe (what a search must search, or declare a proxy of)."""
        return Network(self.space_name, self.width_mult, int(self.input_shape[2]), self.num_classes or self.space().num_classes)

    def latency_model_s(self) -> Table:
        """The latency table (s) whose sum over an architecture predicts the whole network: calibrated when the profile has a calibration."""
        from .device.calibration import calibrated_table

        return calibrated_table(self)

    def predict_latency(self, choices: list[int]) -> float:
        """Seconds for a whole network: calibrated when the profile carries a calibration, else the LUT sum."""
        from .device.calibration import predict_latency

        return predict_latency(self, choices)

    @property
    def name(self) -> str:
        return Path(self.path).stem if self.path else str(self.device.get("name", "profile"))

    @property
    def device_name(self) -> str:
        return str(self.device.get("name", "?"))

    def space(self, num_classes: int | None = None) -> SearchSpace:
        return get_space(self.space_name, self.width_mult, num_classes)

    def latency_s(self) -> Table:
        return self.latency.in_base_units()

    def energy_j(self) -> Table | None:
        return self.energy.in_base_units() if self.energy else None

    def to_toml_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format": FORMAT,
            "device": dict(self.device),
            "space": {
                "name": self.space_name,
                "input_shape": list(self.input_shape),
                "width_mult": self.width_mult,
                "num_classes": self.network.num_classes,
            },
            "runtime": self.runtime.to_dict(),
            "latency": _table_dict(self.latency),
        }
        if self.energy:
            data["energy"] = _table_dict(self.energy)
        if self.extra:
            data["extra"] = {name: _table_dict(t) for name, t in self.extra.items()}
        if self.spread:
            data["spread"] = {name: t for name, t in self.spread.items()}
        if self.measurement:
            data["measurement"] = dict(self.measurement)
        if self.provenance:
            data["provenance"] = dict(self.provenance)
        if self.calibration:
            data["calibration"] = dict(self.calibration)
        return data


def _table_dict(table: LookupTable) -> dict[str, Any]:
    out: dict[str, Any] = {"unit": table.unit}
    if table.description:
        out["description"] = table.description
    out["table"] = table.table
    return out


SHIPPED_PACKAGE_DIR = "shipped_profiles"  # in the package: a link to the top-level profiles/ (pyproject package-data)


def shipped_profiles_dir() -> Path:
    """The profiles shipped with hanna-tui, as package data (importlib.resources; editable and wheel installs)."""
    return Path(str(resources.files("hanna_tui") / SHIPPED_PACKAGE_DIR))


def resolve_profile(ref: str | os.PathLike) -> Path:
    """The one profile-path resolution: a path as given when it exists, else a name looked up in order in
    $HANNA_PROFILES (os.pathsep-separated), the user's folder ($XDG_CONFIG_HOME or ~/.config)/hanna-tui/profiles,
    ./profiles and the shipped profiles. A name is a file name (rpi3b-hanna.toml), a stem (rpi3b-hanna) or
    profiles/NAME (so the default profiles/rpi3b-hanna.toml resolves from any working directory).
    """
    path = Path(ref).expanduser()
    if path.exists() or path.is_absolute() or (len(path.parts) > 1 and path.parent != Path("profiles")):
        return path
    name = path.name if path.suffix == ".toml" else f"{path.name}.toml"
    folders = [*profile_folders(), shipped_profiles_dir()]
    for folder in folders:
        if (folder / name).is_file():
            return folder / name
    looked = ", ".join(str(f) for f in folders)
    raise ConfigError(
        str(ref), None, f"profile file not found (looked for {name} in {looked}; expected a TOML profile, e.g. rpi3b-hanna.toml)"
    )


def load_profile(path: str | os.PathLike) -> DeviceProfile:
    path = resolve_profile(path)
    raw = read_toml_bytes(path, "a TOML profile, e.g. profiles/rpi3b-hanna.toml")  # regular, bounded file
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(str(path), None, "not UTF-8 text (expected a TOML profile)") from None
    data = loads_toml(text, str(path))
    profile = profile_from_dict(data, str(path))
    profile.content_hash = hashlib.sha256(raw).hexdigest()
    return profile


def profile_from_dict(data: dict[str, Any], source: str) -> DeviceProfile:
    fmt = data.get("format")
    if fmt != FORMAT:
        raise ConfigError(source, "format", f'expected "{FORMAT}", got {fmt!r}')
    device = _section(data, "device", source)
    if not isinstance(device.get("name"), str) or not device["name"]:
        raise ConfigError(source, "device.name", "expected a non-empty string")
    space_sec = _section(data, "space", source)
    space_name = space_sec.get("name")
    width = space_sec.get("width_mult", 1.0)
    if not isinstance(width, (int, float)) or isinstance(width, bool) or not width > 0:
        raise ConfigError(source, "space.width_mult", f"expected a number > 0, got {width!r}")
    try:
        space = get_space(str(space_name), float(width))
    except ValueError as exc:
        raise ConfigError(source, "space.name", str(exc)) from None
    shape = space_sec.get("input_shape")
    if not (isinstance(shape, list) and len(shape) == 4 and all(isinstance(v, int) and v > 0 for v in shape)):
        raise ConfigError(source, "space.input_shape", f"expected [N, C, H, W] of positive integers, got {shape!r}")
    if shape[2] != space.input_size or shape[3] != space.input_size:
        raise ConfigError(source, "space.input_shape", f"expected H = W = {space.input_size} for {space.name}, got {shape[2]}x{shape[3]}")
    latency = _lookup(data.get("latency"), "latency", LATENCY_UNITS, space, source)
    if latency is None:
        raise ConfigError(source, "latency", "missing section (expected unit and table)")
    energy = _lookup(data.get("energy"), "energy", ENERGY_UNITS, space, source)
    extra_raw = data.get("extra", {})
    if not isinstance(extra_raw, dict):
        raise ConfigError(source, "extra", "expected a table of named lookup tables")
    extra = {}
    for name, sec in extra_raw.items():
        extra[name] = _lookup(sec, f"extra.{name}", ALL_UNITS, space, source)
    spread_raw = data.get("spread", {})
    if not isinstance(spread_raw, dict):
        raise ConfigError(source, "spread", "expected a table of named tables")
    spread = {name: _check_table(t, f"spread.{name}", space, source) for name, t in spread_raw.items()}
    for key in ("measurement", "provenance", "calibration"):
        if key in data and not isinstance(data[key], dict):
            raise ConfigError(source, key, "expected a table")
    classes = space_sec.get("num_classes", space.num_classes)
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 2:
        raise ConfigError(source, "space.num_classes", f"expected an integer >= 2, got {classes!r}")
    runtime = _runtime(data, source)
    return DeviceProfile(
        path=source,
        device=dict(device),
        space_name=space.name,
        input_shape=list(shape),
        width_mult=float(width),
        latency=latency,
        energy=energy,
        extra=extra,
        spread=spread,
        measurement=dict(data.get("measurement", {})),
        provenance=dict(data.get("provenance", {})),
        calibration=dict(data.get("calibration", {})),
        num_classes=classes,
        runtime=runtime,
    )


def _runtime(data: dict[str, Any], source: str) -> Runtime:
    sec = data.get("runtime")
    if sec is None:  # an old profile: timed with torch in float32
        threads = (data.get("measurement") or {}).get("threads", 0)
        return Runtime("torch", "fp32", threads if isinstance(threads, int) and not isinstance(threads, bool) else 0)
    if not isinstance(sec, dict):
        raise ConfigError(source, "runtime", "expected a table (name, precision, threads)")
    name, precision = sec.get("name", "torch"), sec.get("precision", "fp32")
    if name not in RUNTIMES:
        raise ConfigError(source, "runtime.name", f"expected one of {', '.join(RUNTIMES)}, got {name!r}")
    if precision not in PRECISIONS:
        raise ConfigError(source, "runtime.precision", f"expected one of {', '.join(PRECISIONS)}, got {precision!r}")
    threads = sec.get("threads", 0)
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
        raise ConfigError(source, "runtime.threads", f"expected an integer >= 0, got {threads!r}")
    jit = sec.get("jit", "")
    if not isinstance(jit, str):
        raise ConfigError(source, "runtime.jit", f"expected a string, got {jit!r}")
    return Runtime(name, precision, threads, jit)


def _section(data: dict[str, Any], key: str, source: str) -> dict[str, Any]:
    sec = data.get(key)
    if not isinstance(sec, dict):
        raise ConfigError(source, key, "missing section (expected a TOML table)")
    return sec


def _lookup(sec: Any, key: str, units: dict[str, float], space: SearchSpace, source: str) -> LookupTable | None:
    if sec is None:
        return None
    if not isinstance(sec, dict):
        raise ConfigError(source, key, "expected a table with unit and table")
    unit = sec.get("unit")
    if unit is None:
        raise ConfigError(source, f"{key}.unit", f"missing unit (expected one of {', '.join(units)})")
    if unit not in units:
        raise ConfigError(source, f"{key}.unit", f"unknown unit {unit!r} (expected one of {', '.join(units)})")
    table = _check_table(sec.get("table"), f"{key}.table", space, source)
    description = sec.get("description", "")
    return LookupTable(unit=unit, table=table, description=str(description))


def _check_table(table: Any, key: str, space: SearchSpace, source: str) -> Table:
    rows, cols = space.num_layers, len(CANDIDATES)
    if not isinstance(table, list) or len(table) != rows:
        got = f"{len(table)} rows" if isinstance(table, list) else type(table).__name__
        raise ConfigError(source, key, f"expected {rows} rows x {cols} columns for {space.name}, got {got}")
    out: Table = []
    for i, row in enumerate(table):
        if not isinstance(row, list) or len(row) != cols:
            got = f"{len(row)} columns" if isinstance(row, list) else type(row).__name__
            raise ConfigError(source, f"{key}[{i}]", f"expected {cols} columns, got {got}")
        clean = []
        for j, value in enumerate(row):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(source, f"{key}[{i}][{j}]", f"expected a number, got {value!r}")
            if math.isnan(value) or math.isinf(value):
                raise ConfigError(source, f"{key}[{i}][{j}]", f"expected a finite number, got {value}")
            if value < 0:
                raise ConfigError(source, f"{key}[{i}][{j}]", f"expected a number >= 0, got {value}")
            clean.append(float(value))
        out.append(clean)
    return out


def save_profile(profile: DeviceProfile, path: str | os.PathLike, header: str = "") -> None:
    text = dumps_toml(profile.to_toml_dict())
    if header:
        text = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines()) + "\n" + text
    atomic_write_text(path, text)


def list_profiles(directory: str | os.PathLike = "profiles") -> list[tuple[Path, DeviceProfile | ConfigError]]:
    """Every *.toml in a directory with its profile, or the error that loading it gave."""
    out: list[tuple[Path, DeviceProfile | ConfigError]] = []
    for path in sorted(Path(directory).glob("*.toml")):
        try:
            out.append((path, load_profile(path)))
        except ConfigError as exc:
            out.append((path, exc))
    return out


def check_profile_matches(profile: DeviceProfile, space_name: str, source: str = "run config") -> None:
    if profile.space_name != space_name:
        raise ConfigError(
            profile.path,
            "space.name",
            f"profile is for {profile.space_name!r} but the {source} searches {space_name!r} (expected a profile of the same space)",
        )


def search_network(space_name: str, width_mult: float, image_size: int, num_classes: int) -> Network:
    """The network a search's supernet is (image_size 0: the space's input size)."""
    space = get_space(space_name, width_mult, num_classes)
    return Network(space.name, float(width_mult), int(image_size or space.input_size), int(num_classes))


def check_search_network(profile: DeviceProfile, cfg: Any, num_classes: int, source: str = "run config") -> None:
    """Refuse a search whose supernet is not the profile's network unless the config declares itself a proxy."""
    searched = search_network(cfg.space.name, cfg.space.width_mult, cfg.data.image_size, num_classes)
    target = profile.network
    if searched.space != target.space:
        raise ConfigError(
            profile.path,
            "space.name",
            f"profile is for {target.space!r} but the {source} searches {searched.space!r} (expected a profile of the same space)",
        )
    if searched == target:
        return
    if searched.num_classes != target.num_classes:
        raise ConfigError(
            profile.path,
            "space.num_classes",
            f"profile's network has {target.num_classes} classes but the {source}'s data has {searched.num_classes} (a proxy may change width and input size only)",
        )
    if not getattr(cfg.space, "proxy", False):
        raise ConfigError(
            source,
            "space.proxy",
            f"the supernet ({searched.describe()}) is not the profile's network ({target.describe()}); "
            "search that network, or set proxy = true in [space] to search a smaller proxy of it",
        )


def proxy_record(cfg: Any, profile: DeviceProfile) -> dict[str, Any]:
    """run.json's "proxy" entry of a proxy search (checked by check_search_network), else nothing.

    {"proxy": {"width_mult": 0.25, "image_size": 16, "of": "fbnet-cifar10 width 1, 32x32, 10 classes"}}
    """
    target = profile.network
    image_size = int(cfg.data.image_size or target.input_size)
    if not getattr(cfg.space, "proxy", False) or (float(cfg.space.width_mult), image_size) == (target.width_mult, target.input_size):
        return {}
    return {"proxy": {"width_mult": float(cfg.space.width_mult), "image_size": image_size, "of": target.describe()}}


def profile_folders() -> list[Path]:
    """Where profiles of targets are looked for: $HANNA_PROFILES (os.pathsep-separated), the user's folder, ./profiles."""
    env = os.environ.get("HANNA_PROFILES", "")
    folders = [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    folders += [config_home / "hanna-tui" / "profiles", Path("profiles")]
    return folders


def same_board(profile: DeviceProfile, board: dict[str, Any]) -> bool:
    """The profile was measured on a board of this kind: model (a prefix, e.g. without "Rev 1.2"), and the
    CPU and architecture when the profile records them (profiles made by hanna-tui profile do)."""
    model = str(board.get("model", "")).strip().lower()
    mine = str(profile.device.get("board", "")).strip().lower()
    if not mine or not model.startswith(mine):
        return False
    for key, theirs in (("machine", board.get("machine")), ("cpu", board.get("cpu"))):
        if profile.device.get("machine") and str(profile.device.get(key, "")) != str(theirs or ""):
            return False
    return True


def find_target_profile(
    board: dict[str, Any], runtime_label: str, network: Network, first: str | None = None, folders: list[Path] | None = None
) -> DeviceProfile | None:
    """A profile of this board and runtime for this network: calibrated ones first, then the newest file."""
    paths = [Path(first)] if first else []
    for folder in folders if folders is not None else [*profile_folders(), shipped_profiles_dir()]:
        if folder.is_dir():
            paths += sorted(folder.glob("*.toml"), key=lambda p: p.stat().st_mtime, reverse=True)
    found: list[DeviceProfile] = []
    seen: set[Path] = set()
    for path in paths:
        key = path.resolve()
        if key in seen or not path.is_file():
            continue
        seen.add(key)
        try:
            profile = load_profile(path)
        except ConfigError:
            continue
        if profile.runtime.label == runtime_label and profile.network == network and same_board(profile, board):
            found.append(profile)
    found.sort(key=lambda p: not p.calibration)  # stable: calibrated first, newest first within each
    return found[0] if found else None
