"""Throughput and memory of one supernet training step, mixture vs sampled mode; prints one JSON line.

    python bench/search_step.py [--width 1.0] [--batch 64] [--steps 6] [--mixture-steps 3] [--device cpu]

Throughput: both modes in this process on the same batch (a weight step as the search does it:
Gumbel draw, forward, CE + latency/energy loss, backward, SGD step), timed after warm-up steps;
sampled mode averages over the random paths it draws. Peak memory: each mode again in a fresh
child process, reporting its peak resident set (VmHWM) and the rise over the resident set
just before the first step (on CUDA also torch's peak allocated memory).
Goal (issue 2): sampled >= 6x mixture at batch 64 on fbnet-cifar10, width 1.0, CPU.

Sampled vs plain childnet (issue 14): for each of --paths seeded paths, a sampled supernet step
that draws that path and a plain training step of the childnet built for it (ChildNet, same
batch, CE loss, SGD), alternated in rounds so both see the same machine load; the ratio is
plain seconds over sampled seconds (images/s of sampled over images/s of the childnet).
Goal: >= 0.9.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hanna_tui.knobs import Knobs  # noqa: E402
from hanna_tui.nas.loss import search_loss  # noqa: E402
from hanna_tui.nas.supernet import CostTables, Supernet  # noqa: E402
from hanna_tui.profiles import load_profile  # noqa: E402
from hanna_tui.space import CANDIDATE_NAMES, get_space  # noqa: E402
from hanna_tui.space.blocks import childnet_from_arch  # noqa: E402

GOAL = 6.0
GOAL_OVER_CHILDNET = 0.9


def _status_mb(field: str) -> float:
    """A VmRSS/VmHWM line of /proc/self/status, MiB (VmHWM is this process image's peak, not the parent's)."""
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def rss_mb() -> float:
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    return _status_mb("VmHWM")


class Bench:
    def __init__(self, width: float, batch: int, device: str) -> None:
        torch.manual_seed(0)
        self.device = torch.device(device)
        self.width = width
        space = get_space("fbnet-cifar10", width)
        self.num_classes = space.num_classes
        profile = load_profile(ROOT / "profiles" / "rpi3b-hanna.toml")
        self.model = Supernet(space).to(self.device).train()
        self.model.set_trainable(weights=True, theta=False)
        self.costs = CostTables(profile.latency_s(), profile.energy_j(), space.mask()).to(self.device)
        self.knobs = Knobs(0.2, 0.6, 0.2, 0.6)
        self.opt = torch.optim.SGD(self.model.weight_parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
        self.images = torch.randn(batch, 3, space.input_size, space.input_size, device=self.device)
        self.labels = torch.randint(0, space.num_classes, (batch,), device=self.device)

    def step(self, mode: str) -> None:
        self.opt.zero_grad(set_to_none=True)
        weights = self.model.draw(mode, len(self.labels), 5.0)
        logits = self.model(self.images, weights)
        lat, ener = self.costs.expected(weights.soft)
        search_loss(logits, self.labels, lat, ener, self.knobs).loss.backward()
        self.opt.step()

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()

    def path_seed(self, k: int) -> None:
        torch.manual_seed(10_000 + k)  # the k-th path: the same Gumbel draw every time

    def sampled_over_childnet(self, paths: int, steps: int, warmup: int) -> dict:
        """(plain childnet seconds) / (sampled supernet seconds) over the same paths and batch."""
        nets = []
        for k in range(paths):
            self.path_seed(k)
            choices = self.model.draw("sampled", len(self.labels), 5.0).choices
            arch = {"space": "fbnet-cifar10", "width_mult": self.width, "choices": [CANDIDATE_NAMES[c] for c in choices]}
            net = childnet_from_arch(arch, num_classes=self.num_classes).to(self.device).train()
            nets.append((net, torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)))
        sampled_s = plain_s = 0.0
        for rnd in range(warmup + steps):
            for k, (net, opt) in enumerate(nets):
                self.path_seed(k)
                a = self._timed(lambda: self.step("sampled"))
                b = self._timed(lambda net=net, opt=opt: self.plain_step(net, opt))
                if rnd >= warmup:
                    sampled_s, plain_s = sampled_s + a, plain_s + b
        n = steps * paths * len(self.labels)
        return {
            "sampled_images_per_s": round(n / sampled_s, 2),
            "childnet_images_per_s": round(n / plain_s, 2),
            "ratio": round(plain_s / sampled_s, 3),
            "paths": paths,
            "steps_per_path": steps,
        }

    def plain_step(self, net: torch.nn.Module, opt: torch.optim.Optimizer) -> None:
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(net(self.images), self.labels).backward()
        opt.step()

    def _timed(self, fn) -> float:
        self.sync()
        started = time.perf_counter()
        fn()
        self.sync()
        return time.perf_counter() - started

    def images_per_s(self, mode: str, steps: int, warmup: int) -> float:
        for _ in range(warmup):
            self.step(mode)
        self.sync()
        started = time.perf_counter()
        for _ in range(steps):
            self.step(mode)
        self.sync()
        return steps * len(self.labels) / (time.perf_counter() - started)


def child(args: argparse.Namespace) -> None:
    bench = Bench(args.width, args.batch, args.device)
    before = rss_mb()
    if bench.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for _ in range(2):
        bench.step(args.child)
    bench.sync()
    out = {"peak_rss_mb": round(peak_rss_mb(), 1), "step_rss_rise_mb": round(peak_rss_mb() - before, 1)}
    if bench.device.type == "cuda":
        out["cuda_peak_allocated_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    print(json.dumps(out))


def memory_of(mode: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, "--width", str(args.width), "--batch", str(args.batch), "--device", args.device]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=6, help="timed sampled-mode steps")
    parser.add_argument("--mixture-steps", type=int, default=3, help="timed mixture-mode steps")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--paths", type=int, default=3, help="paths of the sampled vs plain-childnet comparison")
    parser.add_argument("--path-steps", type=int, default=3, help="timed steps per path of that comparison")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    parser.add_argument("--child", choices=["mixture", "sampled"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.child:
        child(args)
        return
    bench = Bench(args.width, args.batch, args.device)
    sampled = bench.images_per_s("sampled", args.steps, args.warmup)
    mixture = bench.images_per_s("mixture", args.mixture_steps, 1)
    versus = bench.sampled_over_childnet(args.paths, args.path_steps, 1)
    del bench
    mem = {mode: memory_of(mode, args) for mode in ("mixture", "sampled")}
    ratio = sampled / mixture
    result = {
        "bench": "search_step",
        "space": "fbnet-cifar10",
        "width_mult": args.width,
        "batch": args.batch,
        "device": args.device,
        "threads": torch.get_num_threads(),
        "mixture_images_per_s": round(mixture, 2),
        "sampled_images_per_s": round(sampled, 2),
        "ratio_sampled_over_mixture": round(ratio, 2),
        "goal_ratio": GOAL,
        "meets_goal": ratio >= GOAL,
        "sampled_vs_childnet": versus,
        "ratio_sampled_over_childnet": versus["ratio"],
        "goal_ratio_over_childnet": GOAL_OVER_CHILDNET,
        "meets_goal_over_childnet": versus["ratio"] >= GOAL_OVER_CHILDNET,
        "mixture_memory": mem["mixture"],
        "sampled_memory": mem["sampled"],
        "steps": {"sampled": args.steps, "mixture": args.mixture_steps, "warmup": args.warmup},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
