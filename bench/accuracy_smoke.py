"""CPU smoke benchmark: the demo childnet and both baselines trained briefly on real CIFAR-10.

Data: the CIFAR-10 JPEG set (../shared/datasets/cifar10-jpeg.tar.gz, an ImageFolder tree),
unpacked into a temporary folder that is removed afterwards (or --data-root DIR, already
unpacked, e.g. data/cifar10-jpeg, which git ignores). Never commit the data.

Models (each trained with the project's trainer and recipe, shortened; runs go to a temporary
runs root unless --runs DIR):
  childnet       the demo childnet: the fixed architecture DEMO_CHOICES below (cheap blocks,
                 the FBNet-CIFAR space at width 0.25), as a search run with arch.json and the
                 predicted latency/energy of profiles/rpi3b-hanna.toml
  mobilenetv2    torchvision MobileNetV2 adapted to 32x32 (a baseline run)
  condensenet86  CondenseNet-86, condensed during the first half of its short training

Subsets and epochs are sized for about 5-8 minutes on 2 CPU cores (one torch thread by
default: on a shared machine a spinning second thread costs more than it gives). Prints one
JSON line: top-1 (fraction of the test subset; chance is 0.10), params, MACs, wall and CPU
seconds per model (on a machine shared with other work, wall time grows; CPU time does not).

    .venv/bin/python bench/accuracy_smoke.py [--data-root DIR] [--threads N] [--scale X]
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hanna_tui.config import DataSection  # noqa: E402
from hanna_tui.fsutil import atomic_write_json  # noqa: E402
from hanna_tui.models import ModelSpec, spec_for_run, train_dir  # noqa: E402
from hanna_tui.store import Run, create_run  # noqa: E402
from hanna_tui.train import TrainConfig, Trainer  # noqa: E402

TARBALL = REPO.parent / "shared" / "datasets" / "cifar10-jpeg.tar.gz"
PROFILE = REPO / "profiles" / "rpi3b-hanna.toml"
# The demo childnet: k3_e3 opens every stage (it changes shape), k3_e1 elsewhere, skips in three
# repeat layers. Fixed, not searched, so the benchmark does not depend on a search run.
DEMO_CHOICES = [
    "k3_e3",
    "k3_e3",
    "k3_e1",
    "k3_e1",
    "skip",
    "k3_e3",
    "k3_e1",
    "k3_e1",
    "skip",
    "k3_e3",
    "k3_e1",
    "k3_e1",
    "skip",
    "k3_e3",
    "k3_e1",
    "k3_e1",
    "k3_e1",
    "k3_e3",
    "k3_e1",
    "k3_e1",
    "k3_e1",
    "k3_e3",
]


@dataclass(frozen=True)
class Plan:
    key: str
    train_images: int
    epochs: int
    batch_size: int = 32
    lr: float = 0.05


PLANS = (
    Plan("childnet", 6000, 3),
    Plan("mobilenetv2", 2500, 2),
    Plan("condensenet86", 1200, 2),
)


def demo_arch(width_mult: float = 0.25) -> dict:
    """arch.json of the demo childnet with the reference profile's predicted latency and energy."""
    from hanna_tui.cost import CostModel
    from hanna_tui.profiles import load_profile
    from hanna_tui.space import candidate_index, get_space

    space = get_space("fbnet-cifar10", width_mult)
    profile = load_profile(PROFILE)
    cost = CostModel(profile, space).arch_cost([candidate_index(n) for n in DEMO_CHOICES])
    return {
        "space": space.name,
        "width_mult": width_mult,
        "num_classes": 10,
        "method": "fixed demo architecture",
        "choices": DEMO_CHOICES,
        "predicted": {"latency_s": cost.latency_s, "energy_j": cost.energy_j},
        "profile": profile.path,
        "device": profile.device_name,
    }


def make_childnet_run(root: str | Path, width_mult: float = 0.25) -> Run:
    run = create_run(f"demo-childnet-w{width_mult:g}", "search", root)
    atomic_write_json(run.arch_path, demo_arch(width_mult))
    return run


def make_baseline_run(root: str | Path, model: str, variant: str = "") -> tuple[Run, ModelSpec]:
    spec = ModelSpec(model, variant=variant)
    run = create_run(
        spec.label.lower(), "baseline", root, {"model": model, "variant": variant, "label": spec.label, "num_classes": 10, "input_size": 32}
    )
    return run, spec


def unpack(tmp: Path) -> Path:
    if not TARBALL.is_file():
        raise SystemExit(f"{TARBALL}: not found (pass --data-root with an unpacked CIFAR-10 ImageFolder tree)")
    with tarfile.open(TARBALL) as tar:
        tar.extractall(tmp, filter="data")
    hits = [p.parent for p in tmp.rglob("train") if p.is_dir() and (p.parent / "test").is_dir()]
    if not hits:
        raise SystemExit(f"{TARBALL}: no train/ and test/ folders inside")
    return hits[0]


def recipe(plan: Plan, data_root: Path, test_images: int, threads: int, scale: float) -> TrainConfig:
    data = DataSection(
        name="imagefolder", root=str(data_root), train_subset=max(64, int(plan.train_images * scale)), test_subset=test_images
    )
    return TrainConfig(
        epochs=plan.epochs,
        batch_size=plan.batch_size,
        lr=plan.lr,
        warmup_epochs=0.3,
        device="cpu",
        threads=threads,
        workers=0,
        log_interval=25,
        data=data,
    )


def run_one(plan: Plan, runs_root: Path, cfg: TrainConfig) -> dict:
    extra: dict = {}
    if plan.key == "childnet":
        run = make_childnet_run(runs_root)
        spec = spec_for_run(run)
        extra["pred_latency_s"] = run.arch()["predicted"]["latency_s"]
        extra["pred_energy_j"] = run.arch()["predicted"]["energy_j"]
        out = train_dir(run)
    else:
        run, spec = make_baseline_run(runs_root, *(("mobilenetv2", "") if plan.key == "mobilenetv2" else ("condensenet", "86")))
        out = run.path
    started, cpu_started = time.perf_counter(), time.process_time()
    result = Trainer(out, spec, cfg, progress=lambda line: print(f"[{plan.key}] {line}", file=sys.stderr, flush=True)).run()
    return {
        "top1": round(result.top1 or 0.0, 4),
        "params": result.params,
        "macs": result.macs,
        "epochs": plan.epochs,
        "train_images": cfg.data.train_subset,
        "seconds": round(time.perf_counter() - started, 1),
        "cpu_seconds": round(time.process_time() - cpu_started, 1),
        **extra,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", help="unpacked CIFAR-10 JPEG tree (default: unpack the tarball to a temp folder)")
    parser.add_argument("--runs", help="keep the runs here (default: a temporary runs root)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--test-images", type=int, default=500, help="test images per evaluation (default 500)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every training subset (default 1)")
    parser.add_argument("--only", choices=[p.key for p in PLANS], action="append", help="train only these models")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hanna-acc-") as tmp:
        data_root = Path(args.data_root) if args.data_root else unpack(Path(tmp) / "data")
        runs_root = Path(args.runs) if args.runs else Path(tmp) / "runs"
        line: dict = {
            "bench": "accuracy_smoke",
            "data": "CIFAR-10 JPEG (ImageFolder)",
            "test_images": args.test_images,
            "threads": args.threads,
        }
        for plan in PLANS:
            if args.only and plan.key not in args.only:
                continue
            line[plan.key] = run_one(plan, runs_root, recipe(plan, data_root, args.test_images, args.threads, args.scale))
        line["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(line))


if __name__ == "__main__":
    main()
