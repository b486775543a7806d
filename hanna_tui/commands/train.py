"""hanna-tui train RUN: train a run's sampled childnet (or continue a baseline) to full accuracy.

Recipe (defaults): 120 epochs, batch 128, SGD lr 0.1 momentum 0.9 Nesterov, weight decay 5e-4
(none on BatchNorm and biases), 5 warm-up epochs then cosine to 0, label smoothing 0.1, random
crop + flip; on CUDA mixed precision and channels_last. Top-1 on the test split every epoch.

Writes RUN/train/ (status.json, metrics.jsonl, checkpoint.pt every epoch, model.pt at the end);
a baseline run trains in RUN/ itself. A checkpoint there is resumed automatically with its
saved recipe (--resume insists on one, --restart discards it and starts over). SIGTERM/Ctrl-C
save a checkpoint and mark the training cancelled (exit 130).

Data: --data cifar10|cifar100|imagefolder|synthetic (default: the search's data set from
RUN/config.toml, else cifar10 under data/); an ImageFolder tree ROOT/train/<class>/,
ROOT/test/<class>/ gives the classifier its own class count.
"""

from __future__ import annotations

import argparse
import json
import sys

from ..config import DATA_NAMES, DataSection
from ..errors import EXIT_INTERRUPTED, EXIT_RUN_FAILED, UserError
from ..store import Run, find_run, lead_process
from .common import add_command

RESUME_CHOICES = ("auto", "yes", "no")


def add_train_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("recipe (defaults: the documented CIFAR recipe)")
    g.add_argument("--config", metavar="TOML", help="recipe file: [train] keys (epochs, lr, ...) and [data] keys; flags override it")
    g.add_argument("--epochs", type=int, help="epochs (default 120, as the paper)")
    g.add_argument("--batch-size", type=int, help="batch size (default 128)")
    g.add_argument("--lr", type=float, help="peak learning rate (default 0.1)")
    g.add_argument("--weight-decay", type=float, help="weight decay on conv/linear weights (default 5e-4)")
    g.add_argument("--warmup-epochs", type=float, help="linear warm-up epochs (default 5)")
    g.add_argument("--label-smoothing", type=float, help="label smoothing (default 0.1)")
    g.add_argument("--cutout", type=int, help="zero a square of N px per training image (default 0 = off; 16 for CIFAR)")
    g.add_argument("--ema", type=float, help="evaluate and save a moving average of the weights with this decay (default 0 = off)")
    g.add_argument("--lr-base-batch", type=int, help="--lr is for this batch size; scaled linearly to --batch-size (default 0 = as given)")
    g.add_argument("--compile", action="store_true", help="torch.compile the model (falls back to eager when it fails)")
    g.add_argument("--seed", type=int, help="seed (default 0)")
    g.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    g.add_argument("--no-channels-last", action="store_true", help="keep NCHW memory format on CUDA")
    d = p.add_argument_group("data")
    d.add_argument("--data", choices=DATA_NAMES, help="data set (default: the search's, else cifar10)")
    d.add_argument("--data-root", help="data folder (default data/)")
    d.add_argument("--subset", type=int, help="use N training images (0 = all)")
    d.add_argument("--test-subset", type=int, help="use N test images (0 = all)")
    d.add_argument("--image-size", type=int, help="resize images to N x N (default: the model's 32)")
    d.add_argument(
        "--loader",
        choices=("cache", "dataloader"),
        help="cache: decode once, augment batches on the device (default); dataloader: per-image DataLoader",
    )
    r = p.add_argument_group("runtime")
    r.add_argument("--device", help="auto | cpu | cuda | cuda:N (default auto)")
    r.add_argument("--workers", type=int, help="DataLoader workers (default: auto, 0 on CPU)")
    r.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    r.add_argument("--log-interval", type=int, help="steps between interval records (default 50)")
    r.add_argument("--json", action="store_true", help="print the result as one JSON line")
    r.add_argument("--quiet", action="store_true", help="no per-epoch progress on stderr")


def register(sub) -> None:
    p = add_command(sub, "train", "train a run's sampled childnet to full accuracy", __doc__)
    p.add_argument("run", metavar="RUN", help="run directory or id (a search run with arch.json, or a baseline)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help="require a checkpoint and continue it")
    mode.add_argument("--restart", action="store_true", help="discard an existing checkpoint and start over")
    add_train_args(p)
    p.set_defaults(func=run)


def base_data(run: Run | None) -> DataSection:
    """The data set a run names: a search's config.toml [data], else the run.json "data" of a
    baseline, else CIFAR-10 in data/."""
    data = DataSection()
    if run is None:
        return data
    if not run.config_path.is_file():
        stored = run.meta().get("data")
        for key, value in (stored if isinstance(stored, dict) else {}).items():
            if hasattr(data, key) and isinstance(value, type(getattr(data, key))):
                setattr(data, key, value)
        return data
    from ..config import load_config

    try:
        searched = load_config(run.config_path)
    except UserError:
        return data
    proxy = searched.space.proxy  # a proxy search: the childnet trains at the profile's input size
    found = searched.data
    data.name, data.root, data.image_size, data.download = found.name, found.root, 0 if proxy else found.image_size, found.download
    data.synthetic_train, data.synthetic_test = found.synthetic_train, found.synthetic_test
    return data


def config_from_args(args: argparse.Namespace, data: DataSection):
    """A TrainConfig: the recipe's defaults, then every flag given."""
    from ..train import TrainConfig

    cfg = TrainConfig(data=data)
    if getattr(args, "config", None):
        from ..train.recipe import apply_toml

        apply_toml(cfg, args.config)
    simple = (
        "epochs",
        "batch_size",
        "lr",
        "weight_decay",
        "warmup_epochs",
        "label_smoothing",
        "seed",
        "device",
        "workers",
        "threads",
        "log_interval",
        "cutout",
        "ema",
        "lr_base_batch",
    )
    for name in simple:
        value = getattr(args, name, None)
        if value is not None:
            setattr(cfg, name, value)
    cfg.amp = not args.no_amp
    cfg.channels_last = not args.no_channels_last
    cfg.compile = cfg.compile or bool(getattr(args, "compile", False))
    for flag, key in (
        ("data", "name"),
        ("data_root", "root"),
        ("subset", "train_subset"),
        ("test_subset", "test_subset"),
        ("image_size", "image_size"),
        ("loader", "loader"),
    ):
        value = getattr(args, flag, None)
        if value is not None:
            setattr(cfg.data, key, value)
    if cfg.data.image_size < 0:
        raise UserError(f"--image-size: expected an integer >= 0, got {cfg.data.image_size}")
    cfg.validate()
    return cfg


def resume_mode(args: argparse.Namespace) -> str:
    return "yes" if args.resume else "no" if args.restart else "auto"


def execute(target: Run, spec, cfg, mode: str, args: argparse.Namespace, dist=None) -> int:
    """Train in the run's training folder with progress on stderr; print the result; map the outcome
    to an exit code. A baseline's own status follows its training (the run is the training)."""
    from ..distributed import DistContext
    from ..train import Trainer

    dist = dist or DistContext()
    lifecycle = dist.is_main and target.meta().get("kind") == "baseline"

    def say(line: str) -> None:
        if not args.quiet and dist.is_main:
            sys.stderr.write(f"{line}\n")
            sys.stderr.flush()

    if lifecycle:
        target.mark_running(resumed=mode != "no" and target.training().checkpoint_path.is_file())
    try:
        result = Trainer(target.train_path, spec, cfg, mode, progress=say, dist=dist).run()
    except Exception as exc:  # recorded in the training's status.json by the trainer
        line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if lifecycle:
            target.mark_ended("failed", line)
        if isinstance(exc, UserError):
            raise
        sys.stderr.write(f"hanna-tui: training failed: {type(exc).__name__}: {line}\n")
        return EXIT_RUN_FAILED
    if lifecycle:
        error = None if result.state == "done" else "stopped; continue with hanna-tui train RUN"
        target.mark_ended(result.state, error, top1=result.top1, params=result.params, macs=result.macs)
    if not dist.is_main:
        return EXIT_INTERRUPTED if result.state == "cancelled" else 0
    if args.json:
        from dataclasses import asdict

        sys.stdout.write(json.dumps(asdict(result)) + "\n")
    else:
        top1 = "n/a" if result.top1 is None else f"{result.top1:.2%}"
        print(
            f"{result.state}: {spec.label} top-1 {top1} after {result.epochs_done}/{result.total_epochs} epochs, "
            f"{result.params:,} params, {result.macs / 1e6:.1f}M MACs  ({result.out_dir})"
        )
    return EXIT_INTERRUPTED if result.state == "cancelled" else 0


def run(args: argparse.Namespace) -> int:
    target = find_run(args.run)
    lock = target.lock("training") if lead_process() else None  # a second start exits 2 before any torch work
    try:
        return _train(args, target)
    finally:
        if lock is not None:
            lock.release()


def _train(args: argparse.Namespace, target: Run) -> int:
    from ..distributed import barrier, init_from_env
    from ..models import spec_for_run

    dist = init_from_env()  # several processes under torchrun, else one
    training = target.training()
    mode = resume_mode(args)
    if mode == "auto" and training.status().get("state") == "done":
        raise UserError(f"{training.path}: already trained (top-1 {training.status().get('top1')}); use --restart to train again")
    cfg = config_from_args(args, base_data(target))
    spec = spec_for_run(target)
    if cfg.data.image_size:
        spec.input_size = cfg.data.image_size
    barrier(dist)  # every rank has checked the run before rank 0 marks it running
    return execute(target, spec, cfg, mode, args, dist)
