"""LUT fidelity per runtime: does a profile predict whole networks on this machine, and how repeatable is the truth?

For each runtime (torch, onnxruntime, onnxruntime-int8 by default) it profiles this machine (target
local) exactly as `hanna-tui profile` does -- every block, then a handful of whole networks that fit
the profile's calibration -- draws random architectures (none of them used by the calibration;
by default spread from the dearest towards the cheapest, see random_archs),
measures each whole network with the same agent, runtime and settings (--rounds short interleaved
rounds, the median over rounds of each round's statistic), six at a time beside two of the profile's
calibration networks as `hanna-tui deploy` measures (see hanna_tui/device/speed.py), and prints one
JSON line. Per runtime: share within +-10 %, Spearman and MAPE of the plain LUT sum, of a linear
calibration, of the profile's per-candidate calibration as profiled ("calibrated_as_profiled", what
cost, sample and the search use) and at the board's speed of the moment ("calibrated", what deploy
shows beside a measurement; "speed_factor" the range of that speed), and the measurement's own
repeatability: the median and largest relative difference between the even and the odd rounds,
and the Spearman / share within 10 % of the even rounds against the odd ones (the ceiling any
prediction can reach on this machine).

--neighbours K starts K CPU-bound processes beside the whole bench (profile and truth alike: a
single-threaded numpy matrix-product loop each, the kind of work a user's other jobs do) and reports
the CPU seconds they used, so a run "with a busy neighbour" is reproducible and shown to be one.

    .venv/bin/python bench/lut_fidelity.py [--runtimes torch,onnxruntime,onnxruntime-int8] [--archs 50]
        [--neighbours 1] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

from hanna_tui.device.calibration import fit_linear, from_profile, mape, spearman, within
from hanna_tui.device.local import LocalTarget
from hanna_tui.device.profiler import BenchOptions, ConnectOptions, ProfileRequest, network_artifact, profile_target
from hanna_tui.device.runner import AgentSession
from hanna_tui.device.speed import references, speed_factor
from hanna_tui.profiles import DeviceProfile, load_profile
from hanna_tui.space import candidate_index

RUNTIMES = ("torch", "onnxruntime", "onnxruntime-int8")
GOAL = {"within_10pct": 0.90, "spearman": 0.95}
CHUNK = 8  # items the agent measures together in interleaved rounds: test networks and the references


def log(message: str) -> None:
    sys.stderr.write(f"lut_fidelity: {message}\n")
    sys.stderr.flush()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--space", default="fbnet-cifar10")
    p.add_argument("--width-mult", type=float, default=1.0)
    p.add_argument("--runtimes", default=",".join(RUNTIMES), help=f"comma-separated, of {', '.join(RUNTIMES)}, torch-int8")
    p.add_argument("--archs", type=int, default=50, help="random architectures measured whole (default 50)")
    p.add_argument("--calib", type=int, default=12, help="whole networks the profile measures for its calibration (default 12)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--draw", choices=("spread", "uniform"), default="spread", help="how the test networks are drawn (see random_archs)")
    p.add_argument("--clock", choices=("wall", "cpu"), default="cpu", help="default cpu: this machine is shared")
    p.add_argument("--statistic", choices=("p50", "min"), default="min")
    p.add_argument("--min-runs", type=int, default=50)
    p.add_argument("--min-time", type=float, default=0.2)
    p.add_argument("--rounds", type=int, default=BenchOptions.rounds, help=f"interleaved rounds per item (default {BenchOptions.rounds})")
    p.add_argument("--quick", action="store_true", help="width 0.25, 8 networks, few runs: checks the bench end to end")
    p.add_argument("--keep-profiles", help="folder to keep the profiles and the measured networks (networks-RUNTIME.json) in")
    p.add_argument("--neighbours", type=int, default=0, help="CPU-bound processes running beside the bench (default 0)")
    return p.parse_args(argv)


NEIGHBOUR = "import numpy as np\na = np.random.default_rng(0).random((384, 384))\nwhile True:\n    a = a @ a\n    a /= a.max()\n"


@contextlib.contextmanager
def neighbours(count: int) -> Iterator[dict]:
    """count single-threaded CPU-bound processes for the duration; yields a dict that gets their CPU seconds."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", NEIGHBOUR], env=env) for _ in range(count)]
    info: dict = {"count": count, "cpu_s": 0.0, "wall_s": 0.0}
    start = time.monotonic()
    try:
        yield info
    finally:
        info["wall_s"] = round(time.monotonic() - start, 1)
        for proc in procs:
            proc.kill()
        for proc in procs:
            _, _, usage = os.wait4(proc.pid, 0)
            info["cpu_s"] += usage.ru_utime + usage.ru_stime
        info["cpu_s"] = round(info["cpu_s"], 1)


def bench_options(args: argparse.Namespace, label: str) -> BenchOptions:
    runtime, _, precision = label.partition("-")
    return BenchOptions(
        threads=1,
        warmup_runs=5 if not args.quick else 1,
        warmup_s=0.05 if not args.quick else 0,
        min_runs=args.min_runs,
        min_s=args.min_time,
        max_s=5.0 if not args.quick else 1.0,
        clock=args.clock,
        statistic=args.statistic,
        runtime=runtime,
        precision=precision or "fp32",
        rounds=args.rounds,
    )


def random_archs(profile: DeviceProfile, count: int, seed: int, draw: str = "spread") -> list[list[int]]:
    """uniform: every layer's candidate uniformly (sums cluster near the mean, where the noise of
    the truth itself decides any ranking); spread: architecture i skips each skippable layer with
    probability i / count, the other layers uniform among the blocks, so the networks span the
    space from the dearest towards the cheapest, as searches with different knobs or budgets do."""
    rng = random.Random(seed)
    layers = profile.space().layers
    skip = candidate_index("skip") if draw == "spread" else None
    archs = []
    for i in range(count):
        share = i / count
        arch = []
        for layer in layers:
            blocks = [c for c in layer.allowed if c != skip] or list(layer.allowed)
            arch.append(skip if skip in layer.allowed and rng.random() < share else rng.choice(blocks))
        archs.append(arch)
    return archs


def measure_networks(profile: DeviceProfile, archs: list[list[int]], bench: BenchOptions, folder: Path) -> tuple[list[dict], list[float]]:
    """Every architecture exported for the runtime and timed in one agent run (interleaved rounds, see the agent),
    CHUNK - REFERENCES at a time beside the profile's reference networks, as deploy does: the records, and
    per architecture the speed factor of its chunk (the board now against the board when profiled)."""
    space = profile.space()
    refs = references(profile)
    ref_models = []
    for k, ref in enumerate(refs):
        art = network_artifact(space, ref.choices, bench, folder, f"reference{k}")
        ref_models.append({"name": f"reference{k}", "model_path": str(art.path), "input_shape": art.input_shape})
    models, per_chunk = [], CHUNK - len(refs)
    for i, choices in enumerate(archs):
        art = network_artifact(space, choices, bench, folder, f"arch{i:03d}")
        models.append({"name": f"arch{i:03d}", "model_path": str(art.path), "input_shape": art.input_shape})
        if len(models) % CHUNK == per_chunk or i == len(archs) - 1:
            models += ref_models
    log(f"exported {len(archs)} networks and {len(refs)} references; measuring")
    session = AgentSession(LocalTarget())
    session.ensure_agent()
    job = {"mode": "model", "models": models, "bench": {**asdict(bench), "chunk": CHUNK}}
    doc = session.run_job(job, 300 + len(models) * (3 * bench.max_s + 5))
    records, factors, now = [], [], []
    for record in doc["models"]:
        if not record["name"].startswith("reference"):
            records.append(record)
            continue
        now.append(record["latency"][bench.statistic])
        if len(now) == len(refs):  # the chunk's references are in: its networks' factor
            factors += [speed_factor(refs, now)] * (len(records) - len(factors))
            now = []
    factors += [1.0] * (len(records) - len(factors))  # no references (a profile without calibration networks)
    return records, factors


def scores(predicted: list[float], measured: list[float]) -> dict[str, float]:
    return {
        "within_10pct": round(within(predicted, measured), 3),
        "spearman": round(spearman(predicted, measured), 4),
        "mape_pct": round(mape(predicted, measured), 2),
    }


def one_runtime(args: argparse.Namespace, label: str, folder: Path) -> dict:
    bench = bench_options(args, label)
    out = folder / f"local-{label}.toml"
    width = 0.25 if args.quick else args.width_mult
    start = time.monotonic()
    req = ProfileRequest(ConnectOptions("local"), out, space=args.space, width_mult=width, bench=bench, calib_networks=args.calib)
    profile_target(req, lambda e: log(f"{label} profile {e.message}") if e.message else None)
    profile_s = time.monotonic() - start
    profile = load_profile(out)
    archs = random_archs(profile, args.archs, args.seed, args.draw)
    records, factors = measure_networks(profile, archs, bench, folder / label)
    stat = bench.statistic
    measured = [r["latency"][stat] for r in records]
    halves = [[r["halves"][k][stat] for r in records] for k in (0, 1)]
    table = profile.latency_s()
    sums = [sum(table[i][c] for i, c in enumerate(a)) for a in archs]
    cal = from_profile(profile)
    networks = profile.calibration.get("networks", [])
    calib_archs = [[int(c) for c in n.split(",")] for n in networks]
    calib_measured = [v / 1e3 for v in profile.calibration.get("networks_ms", [])]
    linear = fit_linear([sum(table[i][c] for i, c in enumerate(a)) for a in calib_archs], calib_measured)
    repeat = sorted(r["repeatability"][stat] for r in records)
    kept = {"archs": archs, "measured": measured, "halves": halves, "lut_sums": sums, "speed_factors": factors}
    (folder / f"networks-{label}.json").write_text(json.dumps(kept))
    return {
        "profile_s": round(profile_s, 1),
        "measured_ms": {"min": round(min(measured) * 1e3, 3), "max": round(max(measured) * 1e3, 3)},
        "lut_sum_ms": {"min": round(min(sums) * 1e3, 3), "max": round(max(sums) * 1e3, 3)},
        "plain_sum": scores(sums, measured),
        "linear_calibration": scores([linear.predict(s) for s in sums], measured),
        "calibrated_as_profiled": scores([cal.predict_arch(table, a) for a in archs], measured) if cal else None,
        "calibrated": scores([cal.predict_arch(table, a) * f for a, f in zip(archs, factors, strict=True)], measured) if cal else None,
        "speed_factor": {
            "min": round(min(factors), 4),
            "median": round(sorted(factors)[len(factors) // 2], 4),
            "max": round(max(factors), 4),
        },
        "repeatability": {
            "median_round_diff": round(repeat[len(repeat) // 2], 4),
            "max_round_diff": round(repeat[-1], 4),
            "even_vs_odd_rounds": scores(halves[0], halves[1]),
        },
        "blocks_repeatability_median": profile.measurement.get("repeatability_median"),
        "calibration_networks": len(calib_archs),
        "load_avg_1m_end": round(os.getloadavg()[0], 2),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.quick:
        args.archs, args.calib, args.min_runs, args.min_time = min(args.archs, 8), min(args.calib, 4), 3, 0.0
    labels = [r.strip() for r in args.runtimes.split(",") if r.strip()]
    unknown = [r for r in labels if r not in (*RUNTIMES, "torch-int8")]
    if unknown:
        sys.stderr.write(f"lut_fidelity: --runtimes: unknown {', '.join(unknown)}\n")
        return 2
    if args.neighbours < 0:
        sys.stderr.write(f"lut_fidelity: --neighbours {args.neighbours}: expected 0 or more\n")
        return 2
    result: dict = {
        "bench": "lut_fidelity",
        "space": args.space,
        "width_mult": 0.25 if args.quick else args.width_mult,
        "archs": args.archs,
        "draw": args.draw,
        "clock": args.clock,
        "statistic": args.statistic,
        "threads": 1,
        "rounds": args.rounds,
        "quick": args.quick,
        "load_avg_1m_start": round(os.getloadavg()[0], 2),
        "runtimes": {},
    }
    with tempfile.TemporaryDirectory(prefix="lut-fidelity-") as tmp, neighbours(args.neighbours) as busy:
        folder = Path(args.keep_profiles) if args.keep_profiles else Path(tmp)
        for label in labels:
            log(f"runtime {label}")
            result["runtimes"][label] = one_runtime(args, label, folder)
    result["neighbours"] = busy
    result["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    result["goal"] = GOAL
    result["goal_met"] = {
        label: bool(r["calibrated"]) and all(r["calibrated"][k] >= v for k, v in GOAL.items()) for label, r in result["runtimes"].items()
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
