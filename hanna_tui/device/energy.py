"""Energy sources, pluggable, chosen with --energy SOURCE:

    none                      no energy measurement
    paper:idle=A,active=A[,volts=V][,csv=FILE]
                              the paper's method: (active current - idle current) x supply voltage
                              x latency; currents typed in, or per block/model from a CSV written
                              from an external USB meter (columns layer,candidate,current_a; a row
                              with layer "model" is used by deploy, "idle" sets the idle current)
    hwmon[:NAME]              INA219/INA226/INA3221 under /sys/class/hwmon (power, or current x voltage)
    pmic                      Raspberry Pi 5 PMIC (`vcgencmd pmic_read_adc`, sum of V x I over rails)
    rapl[:ZONE]               Intel/AMD RAPL energy counters under /sys/class/powercap

Sensor sources are sampled on the board by the agent in a thread during the timed loop,
integrated with the trapezoid rule, with the idle power measured over an equal window first and
subtracted. The sensor classes live in agent.py (the board has no hanna_tui); they are re-exported
here for the host and for tests.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..space import CANDIDATE_NAMES
from .agent import HwmonSensor, PmicSensor, RaplSensor, Sampler, integrate, make_sensor, pmic_power

SENSOR_SOURCES = ("hwmon", "pmic", "rapl")
SOURCES = ("none", "paper", *SENSOR_SOURCES)

__all__ = [
    "EnergyConfig",
    "HwmonSensor",
    "PmicSensor",
    "RaplSensor",
    "Sampler",
    "integrate",
    "make_sensor",
    "parse_energy",
    "pmic_power",
]


@dataclass
class EnergyConfig:
    source: str = "none"
    device: str = ""
    sysfs_root: str = "/"
    interval_s: float = 0.01
    vcgencmd: str = "vcgencmd"
    idle_current_a: float | None = None
    active_current_a: float | None = None
    voltage_v: float = 5.1
    cell_currents: dict[str, float] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return self.source != "none"

    @property
    def on_board(self) -> bool:
        return self.source in SENSOR_SOURCES

    def agent_spec(self) -> dict[str, Any]:
        if not self.on_board:
            return {"source": "none"}
        return {
            "source": self.source,
            "device": self.device,
            "sysfs_root": self.sysfs_root,
            "interval_s": self.interval_s,
            "vcgencmd": self.vcgencmd,
        }

    def describe(self) -> str:
        if self.source == "paper":
            return f"paper method: (I_active - I_idle) x {self.voltage_v:g} V x latency, idle {self.idle_current_a} A"
        return self.source + (f":{self.device}" if self.device else "")

    def paper_energy(self, key: str, latency_s: float) -> float:
        """Joules per inference for a block key ('L,C') or 'model' with the paper's formula."""
        current = self.cell_currents.get(key, self.active_current_a)
        if current is None or self.idle_current_a is None:
            raise UserError(f"--energy paper: no active current for {key!r} (give active=A or a CSV row for it)")
        return max(current - self.idle_current_a, 0.0) * self.voltage_v * latency_s


def parse_energy(text: str | None, sysfs_root: str = "/", vcgencmd: str = "vcgencmd") -> EnergyConfig:
    text = (text or "none").strip()
    source, _, arg = text.partition(":")
    if source not in SOURCES:
        raise UserError(f"--energy {text!r}: unknown source (expected one of {', '.join(SOURCES)})")
    cfg = EnergyConfig(source=source, sysfs_root=sysfs_root, vcgencmd=vcgencmd)
    if source == "paper":
        _parse_paper(cfg, arg, text)
    elif arg:
        cfg.device = arg
    return cfg


def _parse_paper(cfg: EnergyConfig, arg: str, text: str) -> None:
    opts = {}
    for part in filter(None, arg.split(",")):
        key, eq, value = part.partition("=")
        if not eq:
            raise UserError(f"--energy {text!r}: expected key=value items (idle, active, volts, csv), got {part!r}")
        opts[key.strip()] = value.strip()
    unknown = set(opts) - {"idle", "active", "volts", "csv"}
    if unknown:
        raise UserError(f"--energy {text!r}: unknown item(s) {', '.join(sorted(unknown))} (expected idle, active, volts, csv)")
    cfg.voltage_v = _positive(opts.get("volts", "5.1"), "volts", text)
    if "csv" in opts:
        read_meter_csv(cfg, Path(opts["csv"]))
    if "idle" in opts:
        cfg.idle_current_a = _positive(opts["idle"], "idle", text, allow_zero=True)
    if "active" in opts:
        cfg.active_current_a = _positive(opts["active"], "active", text)
    if cfg.idle_current_a is None:
        raise UserError(f"--energy {text!r}: the paper method needs the idle current (idle=A or an 'idle' row in the CSV)")


def _positive(value: str, name: str, text: str, allow_zero: bool = False) -> float:
    try:
        number = float(value)
    except ValueError:
        raise UserError(f"--energy {text!r}: {name} must be a number, got {value!r}") from None
    if math.isnan(number) or math.isinf(number) or number < 0 or (number == 0 and not allow_zero):
        raise UserError(f"--energy {text!r}: {name} must be a finite number {'>=' if allow_zero else '>'} 0, got {value!r}")
    return number


def read_meter_csv(cfg: EnergyConfig, path: Path) -> None:
    """CSV from an external meter: layer,candidate,current_a (layer 'idle' or 'model' for those rows)."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise UserError(f"{path}: cannot read the meter CSV ({exc.strerror})") from None
    for number, row in enumerate(rows, 2):
        if "current_a" not in row or "layer" not in row:
            raise UserError(f"{path}: expected columns layer,candidate,current_a")
        try:
            current = float(row["current_a"])
        except (TypeError, ValueError):
            raise UserError(f"{path}:{number}: current_a must be a number, got {row['current_a']!r}") from None
        layer = (row["layer"] or "").strip()
        if layer == "idle":
            cfg.idle_current_a = current
        elif layer == "model":
            cfg.cell_currents["model"] = current
        else:
            cfg.cell_currents[_cell_key(layer, (row.get("candidate") or "").strip(), path, number)] = current


def _cell_key(layer: str, candidate: str, path: Path, number: int) -> str:
    if not layer.isdigit():
        raise UserError(f"{path}:{number}: layer must be a number, 'idle' or 'model', got {layer!r}")
    if candidate.isdigit():
        index = int(candidate)
    elif candidate in CANDIDATE_NAMES:
        index = CANDIDATE_NAMES.index(candidate)
    else:
        raise UserError(f"{path}:{number}: unknown candidate {candidate!r} (expected an index or one of {', '.join(CANDIDATE_NAMES)})")
    return f"{int(layer)},{index}"
