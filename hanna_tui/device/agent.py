#!/usr/bin/env python3
"""hanna-tui on-device agent: one self-contained file (standard library + torch).

Uploaded by the host once and cached by its hash; it never imports hanna_tui. It reads one
JSON job on stdin and prints one JSON document on stdout. Progress events are written to
stderr as lines starting with "@hanna " followed by JSON.

Jobs:
  {"mode": "probe"}                                        python, torch, CPU arch, disk
  {"mode": "blocks", "space": {...}, "candidates": [...], "cells": [[layer, cand], ...],
   "extras": ["stem", "head"], "bench": {...}, "energy": {...}}
  {"mode": "model", "model_path": "...", "input_shape": [1, 3, 32, 32], "bench": {...}, "energy": {...}}

The block definitions below mirror hanna_tui/space/blocks.py exactly (a test compares the
parameter shapes of every layer x candidate so the two cannot drift).
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
import warnings

AGENT_VERSION = 1
EVENT_PREFIX = "@hanna "


# --------------------------------------------------------------------------- events / small utils


def emit(event: dict) -> None:
    sys.stderr.write(EVENT_PREFIX + json.dumps(event, separators=(",", ":")) + "\n")
    sys.stderr.flush()


def read_text(path: str, default: str = "") -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read().replace("\x00", "").strip()
    except OSError:
        return default


def under(root: str, path: str) -> str:
    """A system path below an overridable root (tests use a fake sysfs tree)."""
    return os.path.join(root, path.lstrip("/"))


def percentile(sorted_values: list, q: float) -> float:
    if not sorted_values:
        return float("nan")
    pos = (len(sorted_values) - 1) * q
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def summarize_times(times: list) -> dict:
    ordered = sorted(times)
    n = len(ordered)
    mean = sum(ordered) / n
    var = sum((t - mean) ** 2 for t in ordered) / (n - 1) if n > 1 else 0.0
    return {
        "n": n,
        "mean": mean,
        "std": math.sqrt(var),
        "min": ordered[0],
        "max": ordered[-1],
        "p50": percentile(ordered, 0.5),
        "p90": percentile(ordered, 0.9),
        "p99": percentile(ordered, 0.99),
    }


# --------------------------------------------------------------------------- board information


def run_tool(argv: list, timeout: float = 5.0) -> str | None:
    if not shutil.which(argv[0]) and not os.path.isfile(argv[0]):
        return None
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def cpu_model(root: str) -> str:
    info = read_text(under(root, "/proc/cpuinfo"))
    for key in ("model name", "Hardware", "Model", "cpu model", "Processor"):
        match = re.search(rf"^{key}\s*:\s*(.+)$", info, re.MULTILINE)
        if match:
            return match.group(1).strip()
    return platform.processor() or platform.machine()


def thermal(root: str, vcgencmd: str) -> dict:
    out: dict = {}
    temp = read_text(under(root, "/sys/class/thermal/thermal_zone0/temp"))
    if temp.lstrip("-").isdigit():
        out["temp_c"] = int(temp) / 1000.0
    measured = run_tool([vcgencmd, "measure_temp"])
    if measured:
        match = re.search(r"([-\d.]+)", measured)
        if match:
            out["vc_temp_c"] = float(match.group(1))
    throttled = run_tool([vcgencmd, "get_throttled"])
    if throttled and "=" in throttled:
        out["throttled"] = throttled.split("=", 1)[1]
    freq = read_text(under(root, "/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq"))
    if freq.isdigit():
        out["freq_khz"] = int(freq)
    return out


def board_info(root: str = "/", vcgencmd: str = "vcgencmd") -> dict:
    cpufreq = "/sys/devices/system/cpu/cpu0/cpufreq/"
    info = {
        "model": read_text(under(root, "/proc/device-tree/model")) or cpu_model(root),
        "cpu": cpu_model(root),
        "machine": platform.machine(),
        "cpus": os.cpu_count() or 1,
        "hostname": platform.node(),
        "os": platform.platform(),
        "governor": read_text(under(root, cpufreq + "scaling_governor")) or None,
        "freq_max_khz": _int_or_none(read_text(under(root, cpufreq + "scaling_max_freq"))),
        "python": platform.python_version(),
    }
    return info


def _int_or_none(text: str) -> int | None:
    return int(text) if text.isdigit() else None


# --------------------------------------------------------------------------- energy sensors


class PowerSensor:
    """Reads instantaneous power in watts (kind 'power') or a cumulative counter in joules ('counter')."""

    kind = "power"
    name = "none"

    def read(self) -> float:
        raise NotImplementedError


class HwmonSensor(PowerSensor):
    """INA219/INA226/INA3221 (and other ina2xx) under /sys/class/hwmon: power or current x voltage."""

    CHIPS = ("ina219", "ina226", "ina3221", "ina2xx", "ina209", "ina230", "ina231", "ina238")

    def __init__(self, root: str = "/", device: str = "") -> None:
        self.dirs = find_hwmon(root, device)
        if not self.dirs:
            want = f" named {device!r}" if device else f" ({', '.join(self.CHIPS)})"
            raise RuntimeError(f"no hwmon power sensor{want} under {under(root, '/sys/class/hwmon')}")
        self.channels = [ch for d in self.dirs for ch in hwmon_channels(d)]
        if not self.channels:
            raise RuntimeError(f"hwmon sensor {self.dirs[0]} has no power or current+voltage inputs")
        self.name = "hwmon:" + ",".join(read_text(os.path.join(d, "name")) for d in self.dirs)

    def read(self) -> float:
        return sum(read_channel(ch) for ch in self.channels)


def find_hwmon(root: str, device: str) -> list:
    base = under(root, "/sys/class/hwmon")
    try:
        entries = sorted(os.listdir(base))
    except OSError:
        return []
    found = []
    for entry in entries:
        path = os.path.join(base, entry)
        name = read_text(os.path.join(path, "name"))
        if device and device not in (name, entry):
            continue
        if not device and name not in HwmonSensor.CHIPS:
            continue
        found.append(path)
    return found


def hwmon_channels(path: str) -> list:
    """(kind, files) per channel: ('power', [powerN_input]) or ('iv', [currN_input, inN_input])."""
    names = set(os.listdir(path))
    channels = []
    for index in range(0, 8):
        power = f"power{index}_input"
        curr, volt = f"curr{index}_input", f"in{index}_input"
        if power in names:
            channels.append(("power", [os.path.join(path, power)]))
        elif curr in names and volt in names:
            channels.append(("iv", [os.path.join(path, curr), os.path.join(path, volt)]))
    return channels


def read_channel(channel: tuple) -> float:
    kind, files = channel
    if kind == "power":  # microwatts
        return float(read_text(files[0], "0")) / 1e6
    milliamps = float(read_text(files[0], "0"))
    millivolts = float(read_text(files[1], "0"))
    return milliamps * millivolts / 1e6


class RaplSensor(PowerSensor):
    """Intel/AMD RAPL package energy counters under /sys/class/powercap (microjoules, wrapping)."""

    kind = "counter"

    def __init__(self, root: str = "/", device: str = "") -> None:
        base = under(root, "/sys/class/powercap")
        try:
            entries = sorted(os.listdir(base))
        except OSError:
            entries = []
        zones = [os.path.join(base, e) for e in entries if re.fullmatch(r"intel-rapl:\d+", e) and (not device or device == e)]
        zones = [z for z in zones if os.path.isfile(os.path.join(z, "energy_uj"))]
        if not zones:
            raise RuntimeError(f"no RAPL package zone (energy_uj) under {base}")
        if not all(os.access(os.path.join(z, "energy_uj"), os.R_OK) for z in zones):
            raise RuntimeError(f"RAPL energy_uj under {base} is not readable (root needed)")
        self.zones = zones
        self.ranges = [float(read_text(os.path.join(z, "max_energy_range_uj"), "0")) / 1e6 for z in zones]
        self.last = [self._raw(z) for z in zones]
        self.total = 0.0
        self.name = "rapl:" + ",".join(read_text(os.path.join(z, "name")) or os.path.basename(z) for z in zones)

    @staticmethod
    def _raw(zone: str) -> float:
        return float(read_text(os.path.join(zone, "energy_uj"), "0")) / 1e6

    def read(self) -> float:
        for i, zone in enumerate(self.zones):
            value = self._raw(zone)
            delta = value - self.last[i]
            if delta < 0 and self.ranges[i] > 0:
                delta += self.ranges[i]
            self.total += max(delta, 0.0)
            self.last[i] = value
        return self.total


class PmicSensor(PowerSensor):
    """Raspberry Pi 5 PMIC: `vcgencmd pmic_read_adc`, the sum of V x I over the rails."""

    def __init__(self, vcgencmd: str = "vcgencmd") -> None:
        self.vcgencmd = vcgencmd
        if run_tool([vcgencmd, "pmic_read_adc"]) is None:
            raise RuntimeError(f"`{vcgencmd} pmic_read_adc` is not available (Raspberry Pi 5 only)")
        self.name = "pmic"

    def read(self) -> float:
        text = run_tool([self.vcgencmd, "pmic_read_adc"]) or ""
        return pmic_power(text)


def pmic_power(text: str) -> float:
    currents: dict = {}
    volts: dict = {}
    for match in re.finditer(r"(\S+)_([AV])\s+\w+\(\d+\)=([-\d.eE+]+)[AV]", text):
        rail, unit, value = match.group(1), match.group(2), float(match.group(3))
        (currents if unit == "A" else volts)[rail] = value
    return sum(current * volts[rail] for rail, current in currents.items() if rail in volts)


def make_sensor(spec: dict) -> PowerSensor | None:
    source = spec.get("source", "none")
    root = spec.get("sysfs_root", "/")
    if source in ("none", "paper"):
        return None
    if source == "hwmon":
        return HwmonSensor(root, spec.get("device", ""))
    if source == "rapl":
        return RaplSensor(root, spec.get("device", ""))
    if source == "pmic":
        return PmicSensor(spec.get("vcgencmd", "vcgencmd"))
    raise RuntimeError(f"unknown energy source {source!r}")


class Sampler:
    """Samples a sensor in a background thread: list of (time, value)."""

    def __init__(self, sensor: PowerSensor, interval_s: float) -> None:
        self.sensor = sensor
        self.interval = interval_s
        self.samples: list = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while True:
            self.samples.append((time.perf_counter(), self.sensor.read()))
            if self._stop.wait(self.interval):
                self.samples.append((time.perf_counter(), self.sensor.read()))
                return

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def integrate(samples: list, kind: str) -> tuple:
    """(joules, seconds) over the samples: trapezoid rule for power, difference for counters."""
    if len(samples) < 2:
        return 0.0, 0.0
    duration = samples[-1][0] - samples[0][0]
    if kind == "counter":
        return samples[-1][1] - samples[0][1], duration
    energy = 0.0
    for i in range(1, len(samples)):  # trapezoid rule (no zip(strict=): the board's python may be old)
        (t0, p0), (t1, p1) = samples[i - 1], samples[i]
        energy += (t1 - t0) * (p0 + p1) / 2
    return energy, duration


def measure_idle(sensor: PowerSensor, seconds: float, interval: float) -> dict:
    with Sampler(sensor, interval) as sampler:
        time.sleep(max(seconds, 2 * interval))
    joules, duration = integrate(sampler.samples, sensor.kind)
    return {"idle_power_w": joules / duration if duration > 0 else 0.0, "idle_samples": len(sampler.samples)}


def energy_result(sampler: Sampler, sensor: PowerSensor, idle: dict, runs: int) -> dict:
    joules, duration = integrate(sampler.samples, sensor.kind)
    active = joules - idle["idle_power_w"] * duration
    return {
        "source": sensor.name,
        "energy_j": active / runs if runs else None,
        "active_power_w": joules / duration if duration > 0 else None,
        "idle_power_w": idle["idle_power_w"],
        "samples": len(sampler.samples),
        "idle_samples": idle["idle_samples"],
        "window_s": duration,
    }


# --------------------------------------------------------------------------- blocks (mirror of blocks.py)


def build_modules():
    """The torch classes, defined lazily so that the sensor code above imports without torch."""
    import torch
    from torch import nn

    class ChannelShuffle(nn.Module):
        def __init__(self, groups: int) -> None:
            super().__init__()
            self.groups = groups

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            n, c, h, w = x.shape
            g = self.groups
            return x.view(n, g, c // g, h, w).transpose(1, 2).reshape(n, c, h, w)

    def conv_bn(c_in, c_out, kernel, stride=1, groups=1, relu=True):
        layers = [nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out)]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        return layers

    class CandidateBlock(nn.Module):
        def __init__(self, c_in, c_out, stride, kernel, expansion, group) -> None:
            super().__init__()
            mid = c_in * expansion
            layers = conv_bn(c_in, mid, 1, groups=group)
            if group > 1:
                layers.append(ChannelShuffle(group))
            layers += conv_bn(mid, mid, kernel, stride, groups=mid)
            layers += conv_bn(mid, c_out, 1, groups=group, relu=False)
            if group > 1:
                layers.append(ChannelShuffle(group))
            self.body = nn.Sequential(*layers)
            self.residual = stride == 1 and c_in == c_out

        def forward(self, x):
            out = self.body(x)
            return out + x if self.residual else out

    return nn, conv_bn, CandidateBlock


def build_block(space: dict, candidates: list, layer_index: int, cand_index: int):
    nn, _, CandidateBlock = build_modules()
    layer = space["layers"][layer_index]
    if cand_index not in layer["allowed"]:
        raise ValueError(f"layer {layer_index}: candidate {cand_index} is not allowed there")
    cand = candidates[cand_index]
    if cand.get("is_skip"):
        return nn.Identity()
    return CandidateBlock(layer["c_in"], layer["c_out"], layer["stride"], cand["kernel"], cand["expansion"], cand["group"])


def build_extra(space: dict, name: str):
    nn, conv_bn, _ = build_modules()
    if name == "stem":
        return nn.Sequential(*conv_bn(3, space["stem_channels"], 3, space["stem_stride"]))
    if name == "head":
        c_last = space["layers"][-1]["c_out"]
        return nn.Sequential(
            *conv_bn(c_last, space["head_channels"], 1),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Identity(),
            nn.Linear(space["head_channels"], space["num_classes"]),
        )
    raise ValueError(f"unknown extra block {name!r}")


def block_input_shape(space: dict, batch: int, layer_index: int) -> list:
    layer = space["layers"][layer_index]
    return [batch, layer["c_in"], layer["input_hw"], layer["input_hw"]]


def extra_input_shape(space: dict, batch: int, name: str) -> list:
    if name == "stem":
        return [batch, 3, space["input_size"], space["input_size"]]
    last = space["layers"][-1]
    return [batch, last["c_out"], last["output_hw"], last["output_hw"]]


# --------------------------------------------------------------------------- benchmarking


DEFAULT_BENCH = {
    "threads": 1,  # 0: all CPUs of the board
    "warmup_runs": 5,
    "warmup_s": 0.05,
    "min_runs": 50,
    "min_s": 0.2,
    "max_s": 5.0,
    "batch": 1,
    "jit": "freeze",  # eager | trace | freeze
    "clock": "wall",  # wall (perf_counter) | cpu (thread CPU time: robust on a busy machine, 1 thread)
}


def prepare(module, shape: list, jit: str):
    import torch

    module.eval()
    example = torch.randn(*shape)
    if jit == "eager":
        return module, example
    with torch.no_grad():
        scripted = module if isinstance(module, torch.jit.ScriptModule) else torch.jit.trace(module, example)
    if jit == "freeze":
        try:
            scripted = torch.jit.freeze(scripted.eval())
        except (RuntimeError, AttributeError):  # an already frozen TorchScript file
            pass
    return scripted, example


def time_module(module, example, bench: dict, sensor: PowerSensor | None, energy: dict) -> dict:
    import torch

    with torch.inference_mode():
        start = time.perf_counter()
        count, last = 0, 0.0
        while count < bench["warmup_runs"] or time.perf_counter() - start < bench["warmup_s"]:
            t0 = time.perf_counter()
            module(example)
            last = time.perf_counter() - t0
            count += 1
            if time.perf_counter() - start > bench["max_s"]:
                break
        idle = None
        if sensor is not None:  # idle power over a window as long as the timed loop will be
            estimate = max(bench["min_s"], bench["min_runs"] * last)
            idle = measure_idle(sensor, min(estimate, bench["max_s"]), energy.get("interval_s", 0.01))
        times, cpu = [], []
        sampler = Sampler(sensor, energy.get("interval_s", 0.01)) if sensor is not None else None
        if sampler:
            sampler.__enter__()
        loop_start = time.perf_counter()
        try:
            while len(times) < bench["min_runs"] or time.perf_counter() - loop_start < bench["min_s"]:
                c0, t0 = time.thread_time(), time.perf_counter()
                module(example)
                times.append(time.perf_counter() - t0)
                cpu.append(time.thread_time() - c0)
                if time.perf_counter() - loop_start > bench["max_s"] and len(times) >= 3:
                    break
        finally:
            if sampler:
                sampler.__exit__(None, None, None)
    wall, cpu_stats = summarize_times(times), summarize_times(cpu)
    # latency: the clock asked for; wall (perf_counter) is the default, cpu (this thread's CPU time)
    # leaves out time the board's scheduler gave to other processes
    result = {"latency": cpu_stats if bench.get("clock") == "cpu" else wall, "wall": wall, "cpu": cpu_stats, "warmup_runs": count}
    if sampler is not None and idle is not None:
        result["energy"] = energy_result(sampler, sensor, idle, len(times))
    return result


def setup_torch(bench: dict) -> dict:
    import torch

    threads = int(bench.get("threads") or 0) or (os.cpu_count() or 1)
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(0)
    return {"threads": threads, "torch": torch.__version__}


def run_blocks(job: dict, bench: dict, sensor, energy: dict) -> dict:
    space, candidates = job["space"], job["candidates"]
    batch = int(bench["batch"])
    work = [("extra", name) for name in job.get("extras", [])] + [("cell", tuple(c)) for c in job.get("cells", [])]
    results = []
    for done, (kind, key) in enumerate(work, 1):
        if kind == "extra":
            module, shape = build_extra(space, key), extra_input_shape(space, batch, key)
        else:
            module, shape = build_block(space, candidates, key[0], key[1]), block_input_shape(space, batch, key[0])
        prepared, example = prepare(module, shape, bench["jit"])
        record = {"kind": kind, "key": key if kind == "extra" else list(key), "input_shape": shape}
        record.update(time_module(prepared, example, bench, sensor, energy))
        results.append(record)
        emit({"event": "block", "done": done, "total": len(work), "record": record})
    return {"blocks": results}


def measure_model(path: str, input_shape: list, bench: dict, sensor, energy: dict) -> dict:
    import torch

    module = torch.jit.load(path, map_location="cpu")
    shape = list(input_shape)
    shape[0] = int(bench["batch"])
    prepared, example = prepare(module, shape, bench["jit"])
    record = {"kind": "model", "input_shape": shape}
    record.update(time_module(prepared, example, bench, sensor, energy))
    return record


def run_model(job: dict, bench: dict, sensor, energy: dict) -> dict:
    """One model (model_path) or several in one process (models: [{name, model_path, input_shape}])."""
    if "models" not in job:
        return {"model": measure_model(job["model_path"], job["input_shape"], bench, sensor, energy)}
    results = []
    for done, item in enumerate(job["models"], 1):
        record = measure_model(item["model_path"], item["input_shape"], bench, sensor, energy)
        record["name"] = item.get("name", str(done))
        results.append(record)
        emit({"event": "model", "done": done, "total": len(job["models"]), "record": record})
    return {"models": results}


def disk_free(path: str) -> int | None:
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


def probe(job: dict) -> dict:
    out = {
        "agent_version": AGENT_VERSION,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "system": platform.system(),
        "disk_free": disk_free(job.get("workdir") or os.path.expanduser("~")),
    }
    out.update(torch_installed())
    return out


def torch_installed() -> dict:
    """Whether torch is installed, without paying for importing it (a broken one fails at job time)."""
    import importlib.util

    try:
        found = importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        return {"torch": None, "torch_error": "ModuleNotFoundError: No module named 'torch'"}
    try:
        from importlib import metadata

        return {"torch": metadata.version("torch")}
    except Exception:  # noqa: BLE001 - metadata missing or python < 3.8
        return {"torch": "unknown"}


def run_job(job: dict) -> dict:
    mode = job.get("mode")
    if mode == "probe":
        return probe(job)
    if mode not in ("blocks", "model"):
        raise ValueError(f"unknown job mode {mode!r} (expected probe, blocks or model)")
    bench = dict(DEFAULT_BENCH)
    bench.update(job.get("bench", {}))
    energy = dict(job.get("energy") or {"source": "none"})
    root, vcgencmd = energy.get("sysfs_root", "/"), energy.get("vcgencmd", "vcgencmd")
    sensor = make_sensor(energy)
    doc = {"agent_version": AGENT_VERSION, "mode": mode, "bench": bench, "energy_source": sensor.name if sensor else "none"}
    doc["board"] = board_info(root, vcgencmd)
    doc["board"].update(setup_torch(bench))
    doc["bench"]["threads"] = doc["board"]["threads"]
    doc["thermal_before"] = thermal(root, vcgencmd)
    started = time.time()
    if mode == "blocks":
        doc.update(run_blocks(job, bench, sensor, energy))
    else:
        doc.update(run_model(job, bench, sensor, energy))
    doc["thermal_after"] = thermal(root, vcgencmd)
    doc["elapsed_s"] = time.time() - started
    return doc


def _deadline(seconds: float) -> None:
    """A watchdog thread: past the deadline, report it as the JSON document and exit (even inside torch)."""
    if not seconds:
        return

    def expire() -> None:
        sys.stdout.write(json.dumps({"ok": False, "error": f"agent deadline of {seconds:g} s exceeded", "kind": "TimeoutError"}) + "\n")
        sys.stdout.flush()
        os._exit(124)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()


def main() -> int:
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    try:
        job = json.loads(sys.stdin.read() or "{}")
    except json.JSONDecodeError as exc:
        sys.stdout.write(json.dumps({"ok": False, "error": f"bad job JSON: {exc}"}) + "\n")
        return 2
    _deadline(float(job.get("deadline_s") or 0))
    try:
        doc = run_job(job)
    except ImportError as exc:
        sys.stdout.write(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}", "kind": "import"}) + "\n")
        return 4
    except Exception as exc:  # noqa: BLE001 - reported to the host as one JSON document
        sys.stdout.write(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}", "kind": type(exc).__name__}) + "\n")
        return 1
    doc["ok"] = True
    sys.stdout.write(json.dumps(doc, allow_nan=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
