"""hanna-tui baseline mobilenetv2|condensenet: a paper baseline trained as a run of kind "baseline".

Creates runs/<id>/ (run.json: kind "baseline", model, variant, classes, data) and trains it in
RUN/train/ with the childnet recipe (see hanna-tui train --help), the same layout as a childnet's
training (status.json with top1, params and MACs; metrics.jsonl, checkpoint.pt, model.pt); the
run's own status.json follows the training (state, pid, host, started/ended, error). Continue
an interrupted baseline with hanna-tui train RUN.

  mobilenetv2   torchvision's MobileNetV2, stride 1 in the stem and the first 24-channel stage
  condensenet   CondenseNet (Huang et al. 2018) with learned group convolutions condensed
                during the first half of training; --variant 86 (CIFAR, 14-14-14, growth
                8-16-32) or 74 (4-6-8-10-8, growth 8-16-32-64-128)
"""

from __future__ import annotations

import argparse
import sys

from ..baselines import BASELINE_NAMES, CONDENSENET_VARIANTS
from ..errors import UserError
from .common import add_command
from .train import add_train_args, config_from_args, execute


def register(sub) -> None:
    p = add_command(sub, "baseline", "train a baseline (MobileNetV2, CondenseNet) as a run", __doc__)
    p.add_argument("model", choices=BASELINE_NAMES, help="baseline network")
    p.add_argument("--variant", choices=CONDENSENET_VARIANTS, help="CondenseNet variant (default 86)")
    p.add_argument("--name", help="run name (default: the model's)")
    p.add_argument("--runs", metavar="DIR", help="runs folder (default runs/ or $HANNA_RUNS)")
    add_train_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..config import DataSection
    from ..distributed import init_from_env, share_from_main
    from ..models import ModelSpec
    from ..store import Run, create_run, data_meta

    dist = init_from_env()  # under torchrun rank 0 creates the run and every rank trains it

    if args.variant and args.model != "condensenet":
        raise UserError(f"--variant: only condensenet has variants (got {args.model})")
    variant = (args.variant or "86") if args.model == "condensenet" else ""
    cfg = config_from_args(args, DataSection())
    spec = ModelSpec(args.model, input_size=cfg.data.image_size or 32, variant=variant)
    name = args.name or spec.label.lower()
    extra = {
        "model": args.model,
        "variant": variant,
        "label": spec.label,
        "num_classes": spec.num_classes,
        "input_size": spec.input_size,
        "data": data_meta(cfg.data),
        "origin": "cli",
    }
    created = create_run(name, kind="baseline", root=args.runs, extra=extra) if dist.is_main else None
    lock = created.lock("baseline") if created is not None else None
    try:
        target = Run(share_from_main(str(created.path) if created else None, dist))
        if not args.quiet and dist.is_main:
            sys.stderr.write(f"run {target.id}: {spec.label} baseline ({target.path})\n")
        return execute(target, spec, cfg, "auto", args, dist)
    finally:
        if lock is not None:
            lock.release()
