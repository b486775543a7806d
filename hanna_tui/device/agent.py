#!/usr/bin/env python3
"""hanna-tui on-device agent: one self-contained file (standard library + the chosen runtime).

It imports only what the job's runtime needs: torch (>= 1.13) for "torch", numpy + onnxruntime for
"onnxruntime" (no torch on the board); a missing one is reported in one line with how to install it.

Uploaded by the host once and cached by its hash; it never imports hanna_tui. It reads one
JSON job on stdin and prints one JSON document on stdout. Progress events are written to
stderr as lines starting with "@hanna " followed by JSON.

Jobs:
  {"mode": "probe"}                                        python, installed runtimes, CPU arch, disk
  {"mode": "blocks", "space": {...}, "candidates": [...], "cells": [[layer, cand], ...],
   "extras": ["stem", "head"], "bench": {...}, "energy": {...}
   [, "archive": "blocks.tar", "archive_dir": "..."]}      onnxruntime: the host's ONNX file per block
  {"mode": "model", "model_path": "..." (.ts or .onnx), "input_shape": [1, 3, 32, 32], "bench": {...}, "energy": {...}}
  (or "models": [{"name", "model_path", "input_shape"}, ...] in one process)

bench.runtime is torch | onnxruntime, bench.precision fp32 | int8 (torch: quantized here with torch's
engine; onnxruntime: the host uploads statically quantized ONNX files). Every item is timed in
bench.rounds short interleaved rounds (A B C .. C B A ..), each with its share of the runs; each
statistic is the median over the rounds of that round's statistic, so a busy spell on the board that
hits one or two rounds does not move it. "repeatability" is the relative difference between the
even and the odd rounds' medians.

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
    "runtime": "torch",  # torch | onnxruntime
    "precision": "fp32",  # fp32 | int8
    "threads": 1,  # 0: all CPUs of the board
    "warmup_runs": 5,
    "warmup_s": 0.05,
    "min_runs": 50,
    "min_s": 0.2,
    "max_s": 5.0,
    "batch": 1,
    "jit": "freeze",  # torch: eager | trace | freeze
    "clock": "wall",  # wall (perf_counter) | cpu (thread CPU time: robust on a busy machine, 1 thread)
    "chunk": 8,  # items measured together in interleaved rounds
    "rounds": 8,  # interleaved rounds per item (2 or more); later rounds warm up with WARM_AGAIN runs only
}
WARM_AGAIN = 2  # runs that refill the caches when a round comes back to an item
ROBUST_KEYS = ("p50", "min", "mean")  # the statistics taken per round, then the median over rounds

# what each runtime imports on the board, and how to install it there
NEEDS = {"torch": ("torch",), "onnxruntime": ("numpy", "onnxruntime")}
INSTALL = {"torch": "pip install torch (>= 1.13)", "onnxruntime": "pip install numpy onnxruntime"}


class MissingRuntime(ImportError):
    """The chosen runtime cannot be imported on the board (one line: what is missing, how to install it)."""


def import_runtime(runtime: str) -> dict:
    """Import what the runtime needs; returns its modules by name."""
    if runtime not in NEEDS:
        raise ValueError(f"unknown runtime {runtime!r} (expected {', '.join(NEEDS)})")
    import importlib

    modules = {}
    for name in NEEDS[runtime]:
        try:
            modules[name] = importlib.import_module(name)
        except ImportError as exc:
            raise MissingRuntime(f"{name} is missing for {sys.executable} ({exc}); install it on the board: {INSTALL[runtime]}") from None
    return modules


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


def torch_callable(module, shape: list, bench: dict):
    """A zero-argument call of a torch module (int8: quantized with torch's engine) and its no-grad context."""
    import torch

    if bench.get("precision") == "int8":
        module = quantize_torch(module, shape)
    prepared, example = prepare(module, shape, bench["jit"])
    return (lambda: prepared(example)), torch.inference_mode


def quantize_torch(module, shape: list):
    """Post-training static int8 with torch's quantized engine (FX graph mode; qnnpack on ARM, x86/fbgemm elsewhere)."""
    import torch
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    engine = select_quantized_engine()
    example = torch.randn(*shape)
    prepared = prepare_fx(module.eval(), get_default_qconfig_mapping(engine), (example,))
    with torch.no_grad():
        for _ in range(4):
            prepared(torch.randn(*shape))
    return convert_fx(prepared)


def select_quantized_engine() -> str:
    import torch

    engines = torch.backends.quantized.supported_engines
    engine = next((e for e in ("qnnpack", "x86", "fbgemm") if e in engines), None)
    if engine is None:
        raise RuntimeError(f"torch {torch.__version__} on this board has no quantized engine (supported: {engines})")
    torch.backends.quantized.engine = engine
    return engine


class _NoContext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def ort_callable(path: str, shape: list, bench: dict):
    """A zero-argument run of an ONNX file with ONNX Runtime (numpy input; no torch)."""
    mods = import_runtime("onnxruntime")
    ort, np = mods["onnxruntime"], mods["numpy"]
    opts = ort.SessionOptions()
    threads = int(bench.get("threads") or 0) or (os.cpu_count() or 1)
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    example = np.random.default_rng(0).standard_normal(shape).astype("float32")
    return (lambda: session.run(None, {name: example})), _NoContext


def time_call(call, context, bench: dict, sensor: PowerSensor | None, energy: dict, share: float = 1.0, first: bool = True) -> dict:
    """Warm up, then time call() (min_runs and min_s scaled by share: one of the interleaved rounds).

    The first visit warms up fully (warmup_runs, warmup_s); a later round only refills the caches."""
    min_runs = max(3, int(math.ceil(bench["min_runs"] * share)))
    min_s, max_s = bench["min_s"] * share, bench["max_s"] * share
    warmup_runs = bench["warmup_runs"] if first else min(WARM_AGAIN, bench["warmup_runs"])
    warmup_s = bench["warmup_s"] if first else 0.0
    with context():
        start = time.perf_counter()
        count, last = 0, 0.0
        while count < warmup_runs or time.perf_counter() - start < warmup_s:
            t0 = time.perf_counter()
            call()
            last = time.perf_counter() - t0
            count += 1
            if time.perf_counter() - start > max_s:
                break
        idle = None
        if sensor is not None:  # idle power over a window as long as the timed loop will be
            estimate = max(min_s, min_runs * last)
            idle = measure_idle(sensor, min(estimate, max_s), energy.get("interval_s", 0.01))
        times, cpu = [], []
        sampler = Sampler(sensor, energy.get("interval_s", 0.01)) if sensor is not None else None
        if sampler:
            sampler.__enter__()
        loop_start = time.perf_counter()
        try:
            while len(times) < min_runs or time.perf_counter() - loop_start < min_s:
                c0, t0 = time.thread_time(), time.perf_counter()
                call()
                times.append(time.perf_counter() - t0)
                cpu.append(time.thread_time() - c0)
                if time.perf_counter() - loop_start > max_s and len(times) >= 3:
                    break
        finally:
            if sampler:
                sampler.__exit__(None, None, None)
    result = {"times": times, "cpu_times": cpu, "warmup_runs": count}
    if sampler is not None and idle is not None:
        result["energy"] = energy_result(sampler, sensor, idle, len(times))
    return result


def summarize_rounds(rounds: list, bench: dict) -> dict:
    """Per clock (wall, cpu): the pooled statistics with p50/min/mean replaced by the median over rounds
    of each round's statistic; latency is the clock asked for. The even and the odd rounds' medians
    of that clock ("halves") give the repeatability: |even - odd| / their mean."""
    # wall is perf_counter (the default); cpu, this thread's CPU time, leaves out time the board's
    # scheduler gave to other processes
    clocks = {"wall": "times", "cpu": "cpu_times"}
    per_round = {name: [summarize_times(r[key]) for r in rounds] for name, key in clocks.items()}
    result: dict = {"warmup_runs": rounds[0]["warmup_runs"]}
    for name, key in clocks.items():
        stats = summarize_times([t for r in rounds for t in r[key]])
        stats.update({k: median_of(per_round[name], k) for k in ROBUST_KEYS})
        result[name] = stats
    clock = "cpu" if bench.get("clock") == "cpu" else "wall"
    result["latency"] = result[clock]
    chosen = per_round[clock]  # measure_interleaved times every item in 2 or more rounds
    halves = [{k: median_of(chosen[parity::2], k) for k in ROBUST_KEYS} for parity in (0, 1)]
    result["rounds"] = [{k: st[k] for k in ROBUST_KEYS} for st in chosen]
    result["halves"] = halves
    result["repeatability"] = {k: _rel_diff(halves[0][k], halves[1][k]) for k in ROBUST_KEYS}
    energies = [r["energy"] for r in rounds if "energy" in r]
    if energies:
        result["energy"] = energies[-1] if len(energies) == 1 else _merge_energy(energies)
    return result


def median_of(stats: list, key: str) -> float:
    return percentile(sorted(st[key] for st in stats), 0.5)


def _rel_diff(a: float, b: float) -> float:
    mean = (a + b) / 2
    return abs(a - b) / mean if mean > 0 else 0.0


def _merge_energy(parts: list) -> dict:
    merged = dict(parts[-1])
    values = [p["energy_j"] for p in parts if p.get("energy_j") is not None]
    merged["energy_j"] = sum(values) / len(values) if values else None
    merged["samples"] = sum(p.get("samples", 0) for p in parts)
    return merged


def measure_interleaved(items: list, bench: dict, sensor, energy: dict, on_record) -> list:
    """bench.rounds interleaved rounds per chunk of items, forwards then backwards (A B C C B A ..), so
    drift, neighbours and an item's place in the round hit every item alike.

    items: (record, make_call) pairs; make_call() -> (call, context). on_record(done, record) per item.
    """
    chunk = max(1, int(bench.get("chunk", 8)))
    count = max(2, int(bench.get("rounds", 2)))
    out = []
    for first in range(0, len(items), chunk):
        part = items[first : first + chunk]
        calls = [make() for _, make in part]
        rounds = [[None] * len(part) for _ in range(count)]
        for round_index in range(count):
            order = range(len(part)) if round_index % 2 == 0 else reversed(range(len(part)))
            for index in order:
                call, context = calls[index]
                rounds[round_index][index] = time_call(call, context, bench, sensor, energy, 1.0 / count, round_index == 0)
        for index, (record, _) in enumerate(part):
            record.update(summarize_rounds([r[index] for r in rounds], bench))
            out.append(record)
            on_record(len(out), record)
        del calls
    return out


def setup_runtime(bench: dict) -> dict:
    """Import the runtime (and only it), set its threads; the versions for the profile's provenance."""
    runtime = bench.get("runtime", "torch")
    mods = import_runtime(runtime)
    threads = int(bench.get("threads") or 0) or (os.cpu_count() or 1)
    info = {"threads": threads, "runtime": runtime, "precision": bench.get("precision", "fp32")}
    if runtime == "onnxruntime":
        info.update({"onnxruntime": mods["onnxruntime"].__version__, "numpy": mods["numpy"].__version__})
        info["runtime_version"] = info["onnxruntime"]
        return info
    torch = mods["torch"]
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(0)
    info.update({"torch": torch.__version__, "runtime_version": torch.__version__})
    return info


def run_blocks(job: dict, bench: dict, sensor, energy: dict) -> dict:
    """Every block asked for: built here (torch) or read from the host's ONNX files (onnxruntime)."""
    space, candidates = job["space"], job["candidates"]
    batch = int(bench["batch"])
    work = [("extra", name) for name in job.get("extras", [])] + [("cell", tuple(c)) for c in job.get("cells", [])]
    onnx_dir = unpack_archive(job["archive"], job["archive_dir"]) if bench.get("runtime") == "onnxruntime" else None
    items = []
    for kind, key in work:
        shape = extra_input_shape(space, batch, key) if kind == "extra" else block_input_shape(space, batch, key[0])
        record = {"kind": kind, "key": key if kind == "extra" else list(key), "input_shape": shape}
        if onnx_dir is not None:
            name = key if kind == "extra" else f"{key[0]}_{key[1]}"
            path = os.path.join(onnx_dir, name + ".onnx")
            items.append((record, lambda path=path, shape=shape: ort_callable(path, shape, bench)))
        else:
            items.append(
                (record, lambda kind=kind, key=key, shape=shape: torch_callable(_block_module(space, candidates, kind, key), shape, bench))
            )

    def on_record(done: int, record: dict) -> None:
        emit({"event": "block", "done": done, "total": len(work), "record": record})

    return {"blocks": measure_interleaved(items, bench, sensor, energy, on_record)}


def _block_module(space: dict, candidates: list, kind: str, key):
    return build_extra(space, key) if kind == "extra" else build_block(space, candidates, key[0], key[1])


def unpack_archive(archive: str, folder: str) -> str:
    """The host's tar of ONNX files, unpacked once into folder (plain file names only)."""
    import tarfile

    done = os.path.join(folder, ".complete")
    if os.path.isfile(done):
        return folder
    os.makedirs(folder, exist_ok=True)
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if not member.isfile() or os.path.basename(member.name) != member.name or member.name.startswith("."):
                raise ValueError(f"{archive}: unexpected member {member.name!r} (expected plain .onnx files)")
            source = tar.extractfile(member)
            with open(os.path.join(folder, member.name), "wb") as handle:
                shutil.copyfileobj(source, handle)
    with open(done, "w", encoding="ascii") as handle:
        handle.write("ok\n")
    return folder


def model_callable(path: str, shape: list, bench: dict):
    if bench.get("runtime") == "onnxruntime" or path.endswith(".onnx"):
        return ort_callable(path, shape, bench)
    import torch

    if bench.get("precision") == "int8":  # quantized on the host; its packed weights need this board's engine
        select_quantized_engine()
    prepared, example = prepare(torch.jit.load(path, map_location="cpu"), shape, bench["jit"])
    return (lambda: prepared(example)), torch.inference_mode


def run_model(job: dict, bench: dict, sensor, energy: dict) -> dict:
    """One model (model_path) or several in one process (models: [{name, model_path, input_shape}])."""
    batch = int(bench["batch"])
    entries = job["models"] if "models" in job else [{"model_path": job["model_path"], "input_shape": job["input_shape"]}]
    items = []
    for number, item in enumerate(entries, 1):
        shape = [batch] + list(item["input_shape"])[1:]
        record = {"kind": "model", "input_shape": shape, "name": item.get("name", str(number))}
        items.append((record, lambda path=item["model_path"], shape=shape: model_callable(path, shape, bench)))

    def on_record(done: int, record: dict) -> None:
        if "models" in job:
            emit({"event": "model", "done": done, "total": len(entries), "record": record})

    records = measure_interleaved(items, bench, sensor, energy, on_record)
    return {"models": records} if "models" in job else {"model": records[0]}


def disk_free(path: str) -> int | None:
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


def probe(job: dict) -> dict:
    out = {
        "agent_version": AGENT_VERSION,
        "python": platform.python_version(),
        "executable": sys.executable,
        "machine": platform.machine(),
        "system": platform.system(),
        "disk_free": disk_free(job.get("workdir") or os.path.expanduser("~")),
    }
    out.update(torch_installed())
    out["installed"] = {name: package_version(name) for name in ("torch", "numpy", "onnxruntime")}
    energy = job.get("energy") or {}  # the board read as run_job reads it
    out["board"] = board_info(energy.get("sysfs_root", "/"), energy.get("vcgencmd", "vcgencmd"))
    return out


def package_version(name: str) -> str | None:
    """The installed version of a package, without paying for importing it (None: not installed)."""
    import importlib.util

    try:
        if importlib.util.find_spec(name) is None:
            return None
    except (ImportError, ValueError):
        return None
    try:
        from importlib import metadata

        return metadata.version(name)
    except Exception:  # noqa: BLE001 - metadata missing or python < 3.8
        return "unknown"


def torch_installed() -> dict:
    """Whether torch is installed, without paying for importing it (a broken one fails at job time)."""
    version = package_version("torch")
    if version is None:
        return {"torch": None, "torch_error": "ModuleNotFoundError: No module named 'torch'"}
    return {"torch": version}


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
    doc["board"].update(setup_runtime(bench))
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
    except MissingRuntime as exc:
        sys.stdout.write(json.dumps({"ok": False, "error": str(exc), "kind": "import"}) + "\n")
        return 4
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
