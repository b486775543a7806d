"""Latency of one childnet and the two baselines (MobileNetV2, CondenseNet) per runtime on this machine.

Each model (CIFAR-10, 32x32, random weights: latency does not depend on them) is exported for
torch (TorchScript), torch-int8 (FX static quantization), onnxruntime and onnxruntime-int8
(static QDQ quantization, 8 calibration images), and timed by the on-device agent on target
local with one thread, in interleaved rounds. Prints one JSON line: per model and runtime the
wall-clock p50, the CPU-time min (robust on a shared machine; each the median over the rounds of
that round's statistic) and the difference between the even and the odd rounds.

    .venv/bin/python bench/runtimes.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from hanna_tui.device.artifacts import export_model
from hanna_tui.device.local import LocalTarget
from hanna_tui.device.profiler import BenchOptions
from hanna_tui.device.runner import AgentSession
from hanna_tui.models import ModelSpec, build_model, inference_form
from hanna_tui.space import CANDIDATE_NAMES

RUNTIMES = ("torch", "torch-int8", "onnxruntime", "onnxruntime-int8")
# the childnet: an argmax architecture of the kind the demo search picks (k3/k5, e1..e6, a few skips)
CHILDNET = [
    "k3_e1",
    "k3_e1_g2",
    "skip",
    "k5_e3",
    "k3_e6",
    "k5_e1",
    "skip",
    "k3_e3",
    "k5_e6",
    "k3_e1",
    "skip",
    "k5_e1_g2",
    "k3_e3",
    "k3_e1",
    "k3_e1",
    "skip",
    "k5_e3",
    "k3_e6",
    "skip",
    "k5_e1",
    "k3_e3",
    "k5_e6",
]


def models() -> dict[str, object]:
    arch = {"space": "fbnet-cifar10", "width_mult": 1.0, "num_classes": 10, "choices": CHILDNET}
    specs = {
        "childnet": ModelSpec("childnet", 10, 32, arch=arch),
        "mobilenetv2": ModelSpec("mobilenetv2", 10, 32),
        "condensenet": ModelSpec("condensenet", 10, 32),
    }
    return {name: inference_form(build_model(spec)).eval() for name, spec in specs.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="few runs: checks the bench end to end")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    assert all(c in CANDIDATE_NAMES for c in CHILDNET)
    session = AgentSession(LocalTarget())
    session.ensure_agent()
    table: dict[str, dict] = {}
    built = models()
    with tempfile.TemporaryDirectory(prefix="hanna-runtimes-") as tmp:
        for label in RUNTIMES:
            runtime, _, precision = label.partition("-")
            bench = BenchOptions(
                threads=1,
                warmup_runs=10,
                warmup_s=0.2,
                min_runs=3 if args.quick else 100,
                min_s=0 if args.quick else 1.0,
                max_s=10.0,
                clock="wall",
                statistic="p50",
                runtime=runtime,
                precision=precision or "fp32",
            )
            jobs = []
            for name, model in built.items():
                art = export_model(model, [1, 3, 32, 32], Path(tmp) / label, runtime, bench.precision, name=name)
                jobs.append({"name": name, "model_path": str(art.path), "input_shape": art.input_shape})
            sys.stderr.write(f"runtimes: measuring {label}\n")
            doc = session.run_job({"mode": "model", "models": jobs, "bench": asdict(bench)}, 1800)
            for record in doc["models"]:
                table.setdefault(record["name"], {})[label] = {
                    "wall_p50_ms": round(record["wall"]["p50"] * 1e3, 3),
                    "cpu_min_ms": round(record["cpu"]["min"] * 1e3, 3),
                    "round_diff": round(record["repeatability"]["p50"], 4),
                }
    result = {
        "bench": "runtimes",
        "threads": 1,
        "input": [1, 3, 32, 32],
        "quick": args.quick,
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "versions": {k: v for k, v in doc["board"].items() if k in ("onnxruntime", "numpy")},
        "torch": torch.__version__,
        "models": table,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
