"""Search and training speed with the tensor-cache data path, on whatever device runs it; one JSON line.

    python bench/gpu_speed.py [--data-root DIR] [--device cuda|cpu] [--quick] [--full]
                              [--width 1.0] [--batch 256] [--steps 8] [--compile]

DIR is a class-per-folder tree with train/ and test/ (the shared CIFAR-10 JPEG set unpacked,
default data/cifar10-jpeg); its tensor cache is built on the first run (hanna_tui.datacache).

What it reports:
  loader       batches/s of the tensor-cache loader (cut + crop/flip/normalise/cutout on the
               device) and of the ImageFolder DataLoader with the same augmentations (PIL
               decode + torchvision transforms, --workers processes), and their ratio
               ``loader_speedup``. Both batches end on the device.
  search       per mode (mixture, sampled): seconds per theta step and per weight step (the
               Search class's own run_phase on truncated plans, after warm-up steps), one
               evaluation of the argmax childnet (BatchNorm recalibration + test pass,
               scaled to the whole test split), and from them the seconds of one search epoch
               after warm-up (theta on val_fraction of the training split, weights on the rest)
               and of a 90-epoch search, extrapolated.
  train        a childnet training (the project's Trainer, the recipe below) for
               --train-epochs on --train-subset images: the last epoch's images/s, and from it
               seconds per full epoch and for 120 epochs, extrapolated.
  full         (--full) the childnet and the baselines (--models) trained for --epochs on the
               whole set with the same recipe; top-1 on the whole test split, seconds, and
               state (a model that reaches --limit-s seconds is stopped and reported as
               cancelled at the epoch it reached).
Recipe: SGD Nesterov lr 0.1 per 128 images scaled to the batch, 5 warm-up epochs (at most a
fifth of the run), cosine to 0, weight decay 5e-4, label smoothing 0.1, crop + flip, cutout 16 px;
on CUDA bf16 autocast, channels_last, fused SGD (--compile adds torch.compile).
The childnet: the FBNet-CIFAR architecture ``budget_arch`` picks from the reference profile
under HANNA's latency (2.71 s predicted on rpi3b-hanna; HANNA's own choices are not in this
repository). --quick: width 0.25, batch 8, one timed step per phase, tiny subsets (for tests).
Numbers are timings of this machine; on CPU they are CPU figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hanna_tui.config import DataSection, SearchConfig  # noqa: E402
from hanna_tui.cost import CostModel  # noqa: E402
from hanna_tui.data import build_datasets, split_train_val  # noqa: E402
from hanna_tui.datacache import CacheLoader, cached_view  # noqa: E402
from hanna_tui.models import ModelSpec  # noqa: E402
from hanna_tui.profiles import load_profile  # noqa: E402
from hanna_tui.space import CANDIDATE_NAMES, get_space  # noqa: E402
from hanna_tui.store import create_run  # noqa: E402
from hanna_tui.train import TrainConfig, Trainer  # noqa: E402

PROFILE = ROOT / "profiles" / "rpi3b-hanna.toml"
HANNA_LATENCY_S = 2.71  # HANNA's childnet by the reference tables
LADDER = ("k3_e1", "k3_e3", "k3_e6")  # upgrades budget_arch tries, cheapest first
SEARCH_EPOCHS, TRAIN_EPOCHS = 90, 120


def budget_arch(width: float, budget_s: float = HANNA_LATENCY_S) -> dict:
    """An arch.json whose predicted latency is <= budget_s: every layer starts at its cheapest
    allowed candidate; then, rung by rung of LADDER and from the last layer to the first, a
    layer is upgraded when the total stays within the budget."""
    space = get_space("fbnet-cifar10", width)
    model = CostModel(load_profile(PROFILE), space)
    table = load_profile(PROFILE).latency_s()
    choices = [min(layer.allowed, key=lambda j, i=i: table[i][j]) for i, layer in enumerate(space.layers)]
    for name in LADDER:
        j = CANDIDATE_NAMES.index(name)
        for i in reversed(range(len(choices))):
            if j not in space.layers[i].allowed or table[i][j] <= table[i][choices[i]]:
                continue
            trial = choices[:i] + [j] + choices[i + 1 :]
            if model.arch_cost(trial).latency_s <= budget_s:
                choices = trial
    cost = model.arch_cost(choices)
    return {
        "space": space.name,
        "width_mult": width,
        "num_classes": 10,
        "method": f"greedy under {budget_s} s (bench/gpu_speed.py)",
        "choices": [CANDIDATE_NAMES[c] for c in choices],
        "predicted": {"latency_s": cost.latency_s, "energy_j": cost.energy_j},
    }


class Clock:
    def __init__(self, device: torch.device) -> None:
        self.device = device

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()

    def time(self, fn) -> float:
        self.sync()
        started = time.perf_counter()
        fn()
        self.sync()
        return time.perf_counter() - started


def loader_comparison(root: Path, clock: Clock, batch: int, batches: int, dl_batches: int, workers: int, cutout: int) -> dict:
    from torch.utils.data import DataLoader

    data = DataSection(name="imagefolder", root=str(root))
    load_s = time.perf_counter()
    cache = build_datasets(data, 32, augment=True, cutout=cutout).train
    load_s = time.perf_counter() - load_s
    cache.to(clock.device)
    loader = CacheLoader(cache, None, batch, shuffle=True, drop_last=True)
    batches = min(batches, len(loader))

    def run_cache() -> None:
        for k, _batch in enumerate(loader):
            if k + 1 >= batches:
                break

    run_cache()  # warm-up (first allocations)
    cache_s = clock.time(run_cache)
    data.loader = "dataloader"
    folder = build_datasets(data, 32, augment=True, cutout=cutout).train
    dl = DataLoader(folder, batch_size=batch, shuffle=True, drop_last=True, num_workers=workers, pin_memory=clock.device.type == "cuda")

    def run_folder() -> None:
        for k, (images, labels) in enumerate(dl):
            images.to(clock.device, non_blocking=True), labels.to(clock.device, non_blocking=True)
            if k + 1 >= dl_batches:
                break

    folder_s = clock.time(run_folder)
    cache_rate, folder_rate = batches / cache_s, dl_batches / folder_s
    return {
        "batch": batch,
        "cache_batches": batches,
        "dataloader_batches": dl_batches,
        "workers": workers,
        "cutout": cutout,
        "cache_batches_per_s": round(cache_rate, 3),
        "dataloader_batches_per_s": round(folder_rate, 3),
        "cache_ready_s": round(load_s, 2),
        "train_images": len(cache),
        "loader_speedup": round(cache_rate / folder_rate, 2),
    }


def search_timing(mode: str, root: Path, args: argparse.Namespace, clock: Clock, runs: Path) -> dict:
    from torch.utils.data import Subset

    from hanna_tui.nas.search import PhasePlan, Search

    cfg = SearchConfig()
    cfg.run.device, cfg.run.log_interval, cfg.run.seed = str(clock.device), 10**6, 0
    cfg.space.width_mult = args.width
    cfg.data = DataSection(name="imagefolder", root=str(root))
    cfg.search.mode, cfg.search.batch_size, cfg.search.warmup_epochs = mode, args.batch, 0
    bundle = build_datasets(cfg.data, 32, augment=True, seed=0, num_classes=10)
    train, val = split_train_val(bundle.train, cfg.data.val_fraction, 0)
    eval_images = min(len(bundle.test), args.eval_images)
    search = Search(
        cfg,
        create_run(f"speed-{mode}", "search", runs),
        load_profile(PROFILE),
        train,
        val,
        Subset(bundle.test, range(eval_images)),
        bundle.num_classes,
    )
    out: dict = {"mode": mode}
    epoch_s = 0.0
    for plan in search.phases(0):  # theta, then weights
        warm = PhasePlan(plan.name, plan.split, plan.batches[: args.warmup])
        timed = PhasePlan(plan.name, plan.split, plan.batches[args.warmup : args.warmup + args.steps])
        search.position.batch = 0
        search.run_phase(0, warm)
        search.position.batch = 0
        seconds = clock.time(lambda timed=timed: search.run_phase(0, timed)) / max(1, len(timed.batches))
        out[f"{plan.name}_s_per_step"] = round(seconds, 5)
        out[f"{plan.name}_steps_per_epoch"] = len(plan.batches)
        epoch_s += seconds * len(plan.batches)
    choices = search.model.argmax_choices()
    eval_s = clock.time(lambda: search.evaluate(choices))
    recal = min(len(train), 512)
    eval_s *= (len(bundle.test) + recal) / (eval_images + recal)
    epoch_s += eval_s
    n_images = len(train) + len(val)
    out.update(
        {
            "eval_s": round(eval_s, 3),
            "epoch_s": round(epoch_s, 3),
            "images_per_s": round(n_images / epoch_s, 2),
            "epochs_90_min": round(SEARCH_EPOCHS * epoch_s / 60, 2),
        }
    )
    return out


def recipe(args: argparse.Namespace, device: torch.device, root: Path, epochs: int, subset: int, test_subset: int = 0) -> TrainConfig:
    data = DataSection(name="imagefolder", root=str(root), train_subset=subset, test_subset=test_subset)
    return TrainConfig(
        epochs=epochs,
        batch_size=args.batch,
        lr=0.1,
        lr_base_batch=128,
        warmup_epochs=5.0,
        cutout=args.cutout,
        device=str(device),
        threads=args.threads,
        workers=0,
        log_interval=10**6,
        compile=args.compile,
        data=data,
    )


def spec_of(model: str, width: float) -> ModelSpec:
    if model == "childnet":
        return ModelSpec("childnet", 10, arch=budget_arch(width))
    if model == "mobilenetv2":
        return ModelSpec("mobilenetv2", 10)
    return ModelSpec("condensenet", 10, variant="86")


def train_run(out: Path, spec: ModelSpec, cfg: TrainConfig, limit_s: float = 0.0) -> tuple[dict, list[dict]]:
    trainer = Trainer(out, spec, cfg, progress=lambda line: print(f"[{spec.label}] {line}", file=sys.stderr, flush=True))
    timer = None
    if limit_s > 0:  # stops between steps, saves, and reports the epoch it reached
        timer = threading.Timer(limit_s, lambda: trainer.stop.request(f"time limit {limit_s:g} s"))
        timer.daemon = True
        timer.start()
    started = time.perf_counter()
    result = trainer.run()
    if timer is not None:
        timer.cancel()
    summary = {
        "state": result.state,
        "top1": result.top1,
        "best_top1": result.best_top1,
        "epochs": result.epochs_done,
        "total_epochs": result.total_epochs,
        "params": result.params,
        "macs": result.macs,
        "seconds": round(time.perf_counter() - started, 1),
    }
    return summary, trainer.out.metrics("epoch")


def train_timing(root: Path, args: argparse.Namespace, device: torch.device, runs: Path, train_images: int) -> dict:
    spec = spec_of("childnet", args.width)
    cfg = recipe(args, device, root, args.train_epochs, args.train_subset, test_subset=args.eval_images)
    summary, epochs = train_run(runs / "train-timing", spec, cfg)
    last = epochs[-1]
    epoch_s = train_images / last["images_per_s"]
    return {
        "model": "childnet",
        "arch": spec.arch["choices"],
        "pred_latency_s": round(spec.arch["predicted"]["latency_s"], 4),
        "epochs_timed": len(epochs),
        "train_subset": args.train_subset,
        "images_per_s": round(last["images_per_s"], 2),
        "epoch_s": round(epoch_s, 3),
        "epochs_120_min": round(TRAIN_EPOCHS * epoch_s / 60, 2),
        "params": summary["params"],
        "macs": summary["macs"],
    }


def full_runs(root: Path, args: argparse.Namespace, device: torch.device, runs: Path) -> dict:
    out = {}
    for model in args.models.split(","):
        spec = spec_of(model, args.width)
        summary, _ = train_run(runs / f"full-{model}", spec, recipe(args, device, root, args.epochs, 0), args.limit_s)
        if model == "childnet":
            summary["pred_latency_s"] = round(spec.arch["predicted"]["latency_s"], 4)
        out[model] = summary
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=str(ROOT / "data" / "cifar10-jpeg"), help="ImageFolder tree with train/ and test/")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--quick", action="store_true", help="tiny everything (tests)")
    parser.add_argument("--full", action="store_true", help="also train the childnet and the baselines to the end")
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=8, help="timed steps per search phase")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per search phase first")
    parser.add_argument("--eval-images", type=int, default=2048, help="test images of the timed evaluation")
    parser.add_argument("--loader-batches", type=int, default=40, help="tensor-cache batches timed")
    parser.add_argument("--dataloader-batches", type=int, default=6, help="DataLoader batches timed")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers of the comparison (the trainer's CPU default is 0)")
    parser.add_argument("--cutout", type=int, default=16)
    parser.add_argument("--train-epochs", type=int, default=2, help="epochs of the timed childnet training (the last is reported)")
    parser.add_argument("--train-subset", type=int, default=0, help="training images of the timed training (0 = all; CPU default 2048)")
    parser.add_argument("--epochs", type=int, default=TRAIN_EPOCHS, help="--full: epochs per model")
    parser.add_argument("--models", default="childnet,mobilenetv2,condensenet86", help="--full: comma-separated")
    parser.add_argument("--limit-s", type=float, default=0.0, help="--full: stop a model after this many seconds (0 = none)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the trained models")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--runs", help="keep the run folders here (default: a temporary folder)")
    parser.add_argument("--skip", default="", help="comma-separated parts to leave out: loader,search,train")
    args = parser.parse_args()
    if args.quick:
        args.width, args.batch, args.steps, args.warmup = 0.25, 8, 1, 1
        args.eval_images, args.loader_batches, args.dataloader_batches = 32, 4, 2
        args.train_epochs, args.train_subset, args.epochs = 1, 64, 1
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cpu" and not args.train_subset:
        args.train_subset = 2048
    root = Path(args.data_root)
    if not (root / "train").is_dir():
        raise SystemExit(f"gpu_speed: --data-root {root}: no train/ folder (expected an ImageFolder tree with train/ and test/)")
    clock = Clock(device)
    skip = set(filter(None, args.skip.split(",")))
    line: dict = {
        "bench": "gpu_speed",
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "threads": torch.get_num_threads(),
        "width_mult": args.width,
        "batch": args.batch,
        "data_root": str(root),
        "torch": torch.__version__,
        "quick": args.quick,
    }
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hanna-speed-") as tmp:
        runs = Path(args.runs) if args.runs else Path(tmp)
        if "loader" not in skip:
            line["loader"] = loader_comparison(
                root, clock, args.batch, args.loader_batches, args.dataloader_batches, args.workers, args.cutout
            )
            line["loader_speedup"] = line["loader"]["loader_speedup"]
        if "search" not in skip:
            line["search"] = {mode: search_timing(mode, root, args, clock, runs) for mode in ("mixture", "sampled")}
        train_images = len(cached_view(build_datasets(DataSection(name="imagefolder", root=str(root)), 32).train)[0])
        if "train" not in skip:
            line["train"] = train_timing(root, args, device, runs, train_images)
        if args.full:
            line["full"] = full_runs(root, args, device, runs)
    line["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(line))


if __name__ == "__main__":
    main()
    # the JSON line is out: leave without interpreter teardown, where torch's threads sometimes abort
    # the process ("terminate called without an active exception", exit 134) after a full training
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
