"""hanna-tui export RUN: write a run's model (inference form, trained weights when present) as
TorchScript (loads with torch alone) and/or ONNX (loads with onnxruntime alone; needs the
optional onnx package). Default output: RUN/export/model.ts and RUN/export/model.onnx.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .common import add_command

FORMATS = ("torchscript", "onnx", "both")
SUFFIX = {"torchscript": ".ts", "onnx": ".onnx"}


def register(sub) -> None:
    p = add_command(sub, "export", "export a run's model as TorchScript or ONNX", __doc__)
    p.add_argument("run", metavar="RUN", help="run directory or id")
    p.add_argument("--format", choices=FORMATS, default="torchscript", help="what to write (default torchscript)")
    p.add_argument("--out", metavar="DIR", help="output folder (default RUN/export)")
    p.add_argument("--untrained", action="store_true", help="export fresh weights even when trained ones exist")
    p.add_argument("--json", action="store_true", help="print the result as one JSON line")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..counting import model_cost
    from ..export import export_onnx, export_torchscript
    from ..models import load_run_model, trained_state
    from ..store import find_run

    target = find_run(args.run)
    model, shape = load_run_model(target, trained=not args.untrained)
    out_dir = Path(args.out) if args.out else target.export_dir
    formats = ("torchscript", "onnx") if args.format == "both" else (args.format,)
    writers = {"torchscript": export_torchscript, "onnx": export_onnx}
    written = {fmt: str(writers[fmt](model, shape, out_dir / f"model{SUFFIX[fmt]}")) for fmt in formats}
    cost = model_cost(model, shape)
    result = {
        "run": target.id,
        "input_shape": shape,
        "trained": not args.untrained and trained_state(target) is not None,
        "params": cost.params,
        "macs": cost.macs,
        "files": written,
    }
    if args.json:
        print(json.dumps(result))
    else:
        for fmt, path in written.items():
            print(f"{fmt:11s} {path}")
        print(
            f"input {shape}  {cost.params:,} params  {cost.macs / 1e6:.1f}M MACs  {'trained' if result['trained'] else 'untrained'} weights"
        )
    return 0
