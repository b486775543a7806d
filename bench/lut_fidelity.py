"""LUT fidelity: does the sum of profiled block latencies predict whole networks on this machine?

Profiles this machine (target local) for a space, draws random architectures, measures each whole
network with the same agent and settings, and prints one JSON line: profiling time, and for the
plain LUT sum, the sum plus stem and head, and a linear calibration fitted on a few networks
(evaluated on the others): MAPE, share within +-10 %, Spearman rank correlation -- for wall-clock
timings (perf_counter) and for the thread's CPU time (which leaves out time the scheduler gave to
other processes: on a shared machine the wall clock measures the neighbours as much as the model).

    .venv/bin/python bench/lut_fidelity.py [--profile EXISTING.toml] [--archs 50] [--calib 10] [--save-profile OUT.toml]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from hanna_tui.device.calibration import Calibration, fit_linear, fit_two, mape, spearman, weight_params, within
from hanna_tui.device.local import LocalTarget
from hanna_tui.device.profiler import BenchOptions, ConnectOptions, ProfileRequest, profile_target
from hanna_tui.device.runner import AgentSession
from hanna_tui.profiles import DeviceProfile, load_profile, save_profile

CLOCKS = ("wall", "cpu")
STATS = ("p50", "min")


def log(message: str) -> None:
    sys.stderr.write(f"lut_fidelity: {message}\n")
    sys.stderr.flush()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--space", default="fbnet-cifar10")
    p.add_argument("--profile", help="use this profile instead of profiling now")
    p.add_argument("--archs", type=int, default=50, help="random architectures to measure (default 50)")
    p.add_argument("--calib", type=int, default=10, help="networks used to fit the calibration (default 10)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--clock", choices=CLOCKS, default="cpu",
                   help="clock of the profile's main table (default cpu: this machine is shared; all are reported)")
    p.add_argument("--statistic", choices=STATS, default="min", help="statistic of the profile's main table (default min)")
    p.add_argument("--save-profile", help="write the profile with its [calibration] section here")
    p.add_argument("--dump", help="write the per-architecture sums and measurements (JSON) here")
    return p.parse_args(argv)


def make_profile(args: argparse.Namespace, folder: Path) -> tuple[DeviceProfile, float | None]:
    if args.profile:
        return load_profile(args.profile), None
    out = folder / "local.toml"
    bench = BenchOptions(threads=args.threads, clock=args.clock, statistic=args.statistic)
    req = ProfileRequest(ConnectOptions("local"), out, space=args.space, bench=bench)
    start = time.monotonic()
    profile_target(req, lambda e: log(f"profile [{e.done}/{e.total}] {e.key}") if e.done % 40 == 0 or e.message else None)
    return load_profile(out), time.monotonic() - start


def random_archs(profile: DeviceProfile, count: int, seed: int) -> list[list[int]]:
    rng = random.Random(seed)
    space = profile.space()
    return [[rng.choice(layer.allowed) for layer in space.layers] for _ in range(count)]


def bench_of(profile: DeviceProfile) -> BenchOptions:
    m = profile.measurement
    return BenchOptions(int(m.get("threads", 1)), int(m.get("warmup_runs", 5)), float(m.get("warmup_s", 0.05)),
                        int(m.get("min_runs", 50)), float(m.get("min_s", 0.2)), float(m.get("max_s", 5.0)),
                        int(m.get("batch", 1)), str(m.get("jit", "freeze")), str(m.get("clock", "wall")), str(m.get("statistic", "p50")))


def measure_networks(profile: DeviceProfile, archs: list[list[int]], folder: Path) -> dict[tuple[str, str], list[float]]:
    """Export every architecture as TorchScript and time them all in one agent run."""
    import torch

    from hanna_tui.export import export_torchscript

    torch.set_num_threads(1)  # tracing only; more threads on a busy 2-core machine just stall
    from hanna_tui.space.blocks import ChildNet

    space = profile.space()
    shape = list(profile.input_shape)
    models = []
    for i, choices in enumerate(archs):
        path = export_torchscript(ChildNet(space, choices).eval(), shape, folder / f"arch{i:03d}.ts")
        models.append({"name": f"arch{i:03d}", "model_path": str(path), "input_shape": shape})
        if (i + 1) % 10 == 0:
            log(f"exported {i + 1}/{len(archs)}")
    log(f"exported {len(models)} networks; measuring")
    session = AgentSession(LocalTarget())
    session.ensure_agent()
    bench = bench_of(profile)
    job = {"mode": "model", "models": models, "bench": asdict(bench)}

    def on_event(event: dict) -> None:
        if event.get("event") == "model" and event["done"] % 10 == 0:
            log(f"measured {event['done']}/{event['total']}")

    doc = session.run_job(job, 120 + len(models) * (3 * bench.max_s + 5), on_event)
    return {(clock, stat): [record[clock][stat] for record in doc["models"]] for clock in CLOCKS for stat in STATS}


def scores(predicted: list[float], measured: list[float]) -> dict[str, float]:
    return {"mape_pct": round(mape(predicted, measured), 2), "within_10pct": round(within(predicted, measured), 3),
            "spearman": round(spearman(predicted, measured), 4), "n": len(measured)}


def lut_sums(profile: DeviceProfile, archs: list[list[int]], clock: str, stat: str) -> list[float]:
    """Sum of the block statistics of one clock (the profile keeps both clocks and stats as extra tables)."""
    table = profile.extra[f"latency_{clock}_{stat}"].in_base_units()
    return [sum(table[i][c] for i, c in enumerate(choices)) for choices in archs]


def fidelity(profile: DeviceProfile, archs: list[list[int]], measured: list[float], clock: str, stat: str, k: int) -> tuple[dict, Calibration]:
    sums = lut_sums(profile, archs, clock, stat)
    m = profile.measurement
    suffix = "" if stat == "p50" else "_min"
    stem_head = (float(m.get(f"stem_{clock}{suffix}_ms", 0)) + float(m.get(f"head_{clock}{suffix}_ms", 0))) / 1e3
    cal = fit_linear(sums[:k], measured[:k])
    held_sums, held = sums[k:], measured[k:]
    params = [weight_params(profile.space(), c) / 1e6 for c in archs]
    a, b, c = fit_two(sums[:k], params[:k], measured[:k])
    two = [a * s + b * p + c for s, p in zip(held_sums, params[k:], strict=True)]
    return {
        "measured_ms": {"min": round(min(measured) * 1e3, 3), "max": round(max(measured) * 1e3, 3)},
        "plain_sum": scores(sums, measured),
        "sum_plus_stem_head": scores([s + stem_head for s in sums], measured),
        "plain_sum_heldout": scores(held_sums, held),
        "calibrated_heldout": scores([cal.predict(s) for s in held_sums], held),
        "calibration": {"fitted_on": k, "scale": round(cal.scale, 4), "offset_ms": round(cal.offset_s * 1e3, 4)},
        "calibrated_with_weights_heldout": scores(two, held),
        "weights_term": {"scale": round(a, 4), "ms_per_mparam": round(b * 1e3, 4), "offset_ms": round(c * 1e3, 4)},
    }, cal


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lut-fidelity-") as tmp:
        folder = Path(tmp)
        profile, profile_s = make_profile(args, folder)
        archs = random_archs(profile, args.archs, args.seed)
        measured = measure_networks(profile, archs, folder)
    result = {
        "bench": "lut_fidelity",
        "space": profile.space_name,
        "device": profile.device_name,
        "profile_s": round(profile_s, 1) if profile_s is not None else None,
        "blocks": sum(len(layer.allowed) for layer in profile.space().layers),
        "archs": len(archs),
        "threads": int(profile.measurement.get("threads", 1)),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    cals = {}
    for clock in CLOCKS:
        for stat in STATS:
            result[f"{clock}_{stat}"], cals[clock, stat] = fidelity(profile, archs, measured[clock, stat], clock, stat, args.calib)
    main = str(profile.measurement.get("clock", "wall")), str(profile.measurement.get("statistic", "p50"))
    if main[1] in STATS:
        headline = result[f"{main[0]}_{main[1]}"]
        result["headline"] = {"table": f"{main[0]}_{main[1]}", "plain_sum": headline["plain_sum"], "calibrated_heldout": headline["calibrated_heldout"]}
        if args.save_profile:  # the calibration of the profile's own table
            profile.calibration = cals[main].to_dict()
            save_profile(profile, args.save_profile)
    if args.dump:
        raw = {"archs": archs, "measured": {f"{c}_{st}": v for (c, st), v in measured.items()},
               "sums": {f"{c}_{st}": lut_sums(profile, archs, c, st) for c in CLOCKS for st in STATS}}
        Path(args.dump).write_text(json.dumps(raw))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
