"""The search loop: warm-up, then per epoch one theta pass and one weight pass; eval; checkpoints.

Schedule (paper/FBNet defaults in config.SearchSection): ``warmup_epochs`` epochs train the
weights only (theta stays uniform); every later epoch first trains theta (Adam) on the held-out
``val_fraction`` of the training split, then the weights (SGD, cosine over all epochs) on the
rest. The temperature is ``temperature`` during warm-up and ``temperature * decay^k`` in the k-th
epoch after it. After every epoch the argmax childnet is evaluated on the test split.

What the run directory gets (see hanna_tui.store):

- status.json: state, pid, host, started/ended, error, epoch (epochs completed), total_epochs,
  phase, progress (0..1), latest {loss, ce, lat, ener, acc, temperature}, best_acc;
- metrics.jsonl: ``interval`` records (means over the last ``log_interval`` steps) and ``epoch``
  records (means over a phase of an epoch; phase ``eval`` holds the argmax net's test accuracy,
  test CE and its LUT latency/energy). ``epoch`` is 1-based; lat in s, ener in J; ``lr`` is the
  learning rate of the optimizer that stepped (theta's in the theta phase);
- theta.txt and theta/epoch_NNN.txt (NNN = epochs completed), arch.json (argmax) per epoch;
- a ``resume`` record where a resumed run continues (records before it with a larger step belong
  to the stretch that a kill -9 lost and was done again);
- checkpoint.pt, atomically, after every epoch and on cancel (mid-epoch position included, so a
  cancelled run resumes at the next batch; a killed one at the start of the unfinished epoch).
"""

from __future__ import annotations

import io
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..config import SearchConfig
from ..distributed import DistContext, average_gradients, broadcast_module, theta_in_sync
from ..errors import UserError
from ..fsutil import atomic_write_bytes, open_regular
from ..profiles import DeviceProfile
from ..runtime import Cancelled, StopFlag, amp_dtype, autocast, memory_format, pick_device, rng_state, seed_everything, set_rng_state
from ..sampling import sample_arch, write_arch
from ..store import Run
from ..theta import write_theta
from . import data_iter
from .budget import BudgetController
from .loss import search_loss
from .supernet import CostTables, Supernet, temperature_at

CHECKPOINT_VERSION = 1


@dataclass
class Position:
    """Where the next step starts: epoch (0-based), phase index within it, batch within the phase."""

    epoch: int = 0
    phase: int = 0
    batch: int = 0


@dataclass
class Meter:
    """Sums since the last reset; means on demand."""

    loss: float = 0.0
    ce: float = 0.0
    lat: float = 0.0
    ener: float = 0.0
    correct: int = 0
    images: int = 0
    batches: int = 0
    seconds: float = 0.0

    def add(self, loss: float, ce: float, lat: float, ener: float, correct: int, images: int, seconds: float) -> None:
        self.loss += loss * images
        self.ce += ce * images
        self.lat += lat * images
        self.ener += ener * images
        self.correct += correct
        self.images += images
        self.batches += 1
        self.seconds += seconds

    def means(self) -> dict[str, float]:
        n = max(1, self.images)
        return {
            "loss": self.loss / n,
            "ce": self.ce / n,
            "lat": self.lat / n,
            "ener": self.ener / n,
            "acc": self.correct / n,
            "images_per_s": self.images / self.seconds if self.seconds > 0 else 0.0,
        }


@dataclass
class PhasePlan:
    name: str  # warmup | theta | weights
    split: str  # train | val
    batches: list[list[int]] = field(default_factory=list)


class Search:
    """One search in one run directory. Build with everything validated; then run()."""

    def __init__(
        self,
        cfg: SearchConfig,
        run: Run,
        profile: DeviceProfile,
        train_set,
        val_set,
        test_set,
        num_classes: int,
        dist: DistContext | None = None,
        stop: StopFlag | None = None,
    ) -> None:
        from ..space import get_space

        self.cfg, self.run, self.profile = cfg, run, profile
        self.dist = dist or DistContext()
        s = cfg.search
        self.device = pick_device(self.dist.device_name(cfg.run.device))
        if cfg.run.threads:
            torch.set_num_threads(cfg.run.threads)
        seed_everything(cfg.run.seed)
        self.space = get_space(cfg.space.name, cfg.space.width_mult, num_classes)
        self.memory_format = memory_format(self.device)
        self.model = Supernet(self.space).to(self.device, memory_format=self.memory_format)
        self.costs = CostTables(profile.latency_model_s(), profile.energy_j(), self.space.mask()).to(self.device)
        self.budget = BudgetController(cfg.constraints, profile, self.costs.latency, self.costs.energy)  # [constraints]
        self.knobs = cfg.knobs
        self.w_opt = torch.optim.SGD(self.model.weight_parameters(), lr=s.w_lr, momentum=s.w_momentum, weight_decay=s.w_weight_decay)
        self.t_opt = torch.optim.Adam(self.model.theta_parameters(), lr=s.theta_lr, weight_decay=s.theta_weight_decay)
        self.w_sched = torch.optim.lr_scheduler.CosineAnnealingLR(self.w_opt, T_max=s.epochs)
        self.splits = {"train": train_set, "val": val_set}
        self.test_set = test_set
        data_iter.place([train_set, val_set, test_set], self.device)  # tensor caches batch on the device
        self.amp_dtype = amp_dtype(self.device, cfg.search.amp)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        self.position = Position()
        self.best_acc: float | None = None
        self.global_step = 0
        self.epoch_meter = Meter()
        self.stop = stop or StopFlag()  # the service passes the one it installed at start
        if self.dist.is_main:
            run.enable_events()
        _QUIET["on"] = not self.dist.is_main

    # set-up helpers
    def autocast(self):
        return autocast(self.amp_dtype)

    def on_device(self, images: torch.Tensor) -> torch.Tensor:
        return images.to(self.device, non_blocking=True).to(memory_format=self.memory_format)

    def phases(self, epoch: int) -> list[PhasePlan]:
        s = self.cfg.search
        names = [("warmup", "train")] if epoch < s.warmup_epochs else [("theta", "val"), ("weights", "train")]
        plans = []
        for index, (name, split) in enumerate(names):
            n = len(self.splits[split])
            batches = data_iter.batch_plan(n, s.batch_size, self.cfg.run.seed, epoch, index)
            if self.dist.enabled:  # every rank takes its share of each global batch, in the same order
                batches = [self.dist.shard(b) for b in batches if len(b) >= 2 * self.dist.world_size]
            plans.append(PhasePlan(name, split, batches))
        return plans

    def steps_per_epoch(self, epoch: int) -> int:
        return sum(len(p.batches) for p in self.phases(epoch))

    def temperature(self, epoch: int) -> float:
        s = self.cfg.search
        return temperature_at(epoch, s.temperature, s.temperature_decay, s.warmup_epochs)

    # checkpoints
    def state_dict(self) -> dict[str, Any]:
        return {
            "version": CHECKPOINT_VERSION,
            "model": self.model.state_dict(),
            "w_opt": self.w_opt.state_dict(),
            "t_opt": self.t_opt.state_dict(),
            "w_sched": self.w_sched.state_dict(),
            "scaler": self.scaler.state_dict(),
            "position": vars(self.position).copy(),
            "global_step": self.global_step,
            "best_acc": self.best_acc,
            "epoch_meter": vars(self.epoch_meter).copy(),
            "budget": self.budget.state_dict(),
            "rng": rng_state(),
            "config": self.cfg.to_dict(),
        }

    def save_checkpoint(self) -> None:
        if not self.dist.is_main:
            return
        buffer = io.BytesIO()
        torch.save(self.state_dict(), buffer)
        atomic_write_bytes(self.run.checkpoint_path, buffer.getvalue())

    def load_checkpoint(self) -> bool:
        path = self.run.checkpoint_path
        try:  # a regular file only: a symlink or FIFO planted as checkpoint.pt is refused, not followed
            fd, _ = open_regular(path)
        except FileNotFoundError:
            return False
        try:
            # weights_only: a checkpoint is data (tensors, numbers, strings); a pickle that
            # names any other callable is refused instead of executed.
            with open(fd, "rb") as handle:
                state = torch.load(handle, map_location=self.device, weights_only=True)
        except Exception as exc:  # booby-trapped, torn or foreign
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise UserError(f"{path}: refused to load the checkpoint ({first[:160]}); expected one written by hanna-tui search") from None
        if not isinstance(state, dict):
            raise UserError(f"{path}: not a hanna-tui search checkpoint (expected a dict)")
        try:
            self.model.load_state_dict(state["model"])
            self.w_opt.load_state_dict(state["w_opt"])
            self.t_opt.load_state_dict(state["t_opt"])
            self.w_sched.load_state_dict(state["w_sched"])
            self.scaler.load_state_dict(state["scaler"])
        except (RuntimeError, KeyError, ValueError, EOFError, TypeError) as exc:
            raise UserError(
                f"{path}: cannot resume from this checkpoint ({str(exc).splitlines()[0]}); expected one written by the same config"
            ) from None
        self.position = Position(**state["position"])
        self.global_step = int(state["global_step"])
        self.best_acc = state["best_acc"]
        self.epoch_meter = Meter(**state["epoch_meter"])
        self.budget.load_state_dict(state.get("budget"))
        set_rng_state(state["rng"])
        return True

    # the loop
    def run_all(self) -> None:
        s = self.cfg.search
        while self.position.epoch < s.epochs:
            self.run_epoch(self.position.epoch)

    def run_epoch(self, epoch: int) -> None:
        plans = self.phases(epoch)
        while self.position.phase < len(plans):
            self.run_phase(epoch, plans[self.position.phase])
            self.position.phase += 1
            self.position.batch = 0
        self.finish_epoch(epoch)

    def run_phase(self, epoch: int, plan: PhasePlan) -> None:
        train_theta = plan.name == "theta"
        self.model.train()
        self.model.set_trainable(weights=not train_theta, theta=train_theta)
        opt = self.t_opt if train_theta else self.w_opt
        temperature = self.temperature(epoch)
        interval = Meter()
        batches = data_iter.iterate(self.splits[plan.split], plan.batches, self.position.batch, self.cfg.data.workers)
        pending: list[tuple[torch.Tensor, int]] = []  # per-step numbers still on the device
        started = time.perf_counter()
        for images, labels in batches:
            if self.stop.signal is not None:  # what the steps so far measured goes into the checkpoint
                self.drain(pending, interval, started)
            self.stop.check()
            parts, correct = self.train_step(images, labels, opt, temperature)
            pending.append((torch.stack([t.detach().float() for t in (parts.loss, parts.ce, parts.lat, parts.ener, correct)]), len(labels)))
            self.position.batch += 1
            self.global_step += 1
            if len(pending) >= self.cfg.run.log_interval:
                self.drain(pending, interval, started)
                self.log("interval", epoch, plan, interval, opt, temperature)
                interval, started = Meter(), time.perf_counter()
        self.drain(pending, interval, started)
        if interval.batches:
            self.log("interval", epoch, plan, interval, opt, temperature)
        if self.epoch_meter.batches:
            self.log("epoch", epoch, plan, self.epoch_meter, opt, temperature)
        self.epoch_meter = Meter()

    def train_step(self, images: torch.Tensor, labels: torch.Tensor, opt: torch.optim.Optimizer, temperature: float):
        images = self.on_device(images)
        labels = labels.to(self.device, non_blocking=True)
        opt.zero_grad(set_to_none=True)
        with self.autocast():
            weights = self.model.draw(self.cfg.search.mode, len(labels), temperature)
            logits = self.model(images, weights)
        lat, ener = self.costs.expected(weights.soft)
        parts = search_loss(logits, labels, lat, ener, self.knobs, self.costs.has_energy)
        if self.budget.active:  # the multipliers' terms; a theta step also moves the multipliers
            parts.loss = parts.loss + self.budget.penalty(self.model.probabilities(), self.model.masked_theta(), update=opt is self.t_opt)
        self.scaler.scale(parts.loss).backward()
        average_gradients([p for group in opt.param_groups for p in group["params"]], self.dist)
        self.scaler.step(opt)
        self.scaler.update()
        correct = (logits.argmax(dim=1) == labels).sum()  # stays on the device: read at log intervals
        return parts, correct

    def drain(self, pending: list[tuple[torch.Tensor, int]], interval: Meter, started: float) -> None:
        """Move the steps' numbers to the host in one transfer (one sync per log interval, not per step)."""
        if not pending:
            return
        rows = torch.stack([values for values, _ in pending]).tolist()
        seconds = (time.perf_counter() - started - interval.seconds) / len(pending)  # wall time, shared evenly
        for (loss, ce, lat, ener, correct), (_, images) in zip(rows, pending, strict=True):
            args = (loss, ce, lat, ener, int(correct), images, seconds)
            interval.add(*args)
            self.epoch_meter.add(*args)
        pending.clear()

    @torch.no_grad()
    def recalibrate_bn(self, choices: list[int], images_wanted: int = 512) -> None:
        """Fresh BatchNorm statistics for the evaluated path (one-shot supernets' running stats lag)."""
        norms = [m for m in self.model.modules() if isinstance(m, nn.BatchNorm2d)]
        saved = [m.momentum for m in norms]
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration batches
        self.model.train()
        train = self.splits["train"]
        size = max(2, min(self.cfg.search.batch_size, images_wanted))
        plan = data_iter.batch_plan(min(len(train), images_wanted), size, 0, 0, 0, shuffle=False)
        try:
            for images, _ in data_iter.iterate(train, plan, 0, self.cfg.data.workers):
                self.stop.check()
                with self.autocast():
                    self.model.forward_fixed(self.on_device(images), choices)
        finally:
            for m, momentum in zip(norms, saved, strict=True):
                m.momentum = momentum

    @torch.no_grad()
    def evaluate(self, choices: list[int]) -> dict[str, float]:
        self.recalibrate_bn(choices)
        self.model.eval()
        plan = data_iter.batch_plan(len(self.test_set), max(self.cfg.search.batch_size, 64), 0, 0, 0, shuffle=False)
        correct = total = 0
        ce = 0.0
        for images, labels in data_iter.iterate(self.test_set, plan, 0, self.cfg.data.workers):
            self.stop.check()
            images, labels = self.on_device(images), labels.to(self.device)
            with self.autocast():
                logits = self.model.forward_fixed(images, choices)
            ce += float(nn.functional.cross_entropy(logits.float(), labels, reduction="sum"))
            correct += int((logits.argmax(dim=1) == labels).sum())
            total += len(labels)
        return {"acc": correct / max(1, total), "ce": ce / max(1, total)}

    def finish_epoch(self, epoch: int) -> None:
        if self.dist.enabled:
            if not theta_in_sync(self.model.theta, self.dist):
                raise RuntimeError(f"theta differs between ranks after epoch {epoch + 1} (expected identical updates)")
            broadcast_module(self.model, self.dist)  # BatchNorm statistics of rank 0 everywhere
        choices = self.model.argmax_choices()
        result = self.evaluate(choices)
        lat, ener = self.costs.of_choices(choices)
        self.best_acc = result["acc"] if self.best_acc is None else max(self.best_acc, result["acc"])
        record = {"kind": "epoch", "epoch": epoch + 1, "step": self.global_step, "phase": "eval", "loss": result["ce"], "ce": result["ce"]}
        record.update(
            {"lat": lat, "ener": ener, "acc": result["acc"], "temperature": self.temperature(epoch), "lr": self.w_opt.param_groups[0]["lr"]}
        )
        record.update({"images_per_s": 0.0, "time": time.time()})
        if self.budget.active:
            record.update(self.budget.epoch_record(choices))
            say(self.budget.describe(record))
        self.run.log_metrics(record)
        self.w_sched.step()
        self.position = Position(epoch + 1, 0, 0)
        self.write_epoch_files(epoch + 1)
        self.update_status(epoch + 1, "eval", 0, record)
        say(
            f"epoch {epoch + 1}/{self.cfg.search.epochs}: test acc {result['acc']:.1%} (best {self.best_acc:.1%}), argmax LAT {lat:.4g} s, ENER {ener:.4g} J"
        )

    def write_epoch_files(self, completed: int) -> None:
        theta = self.model.theta.detach().float().cpu().tolist()
        if self.dist.enabled:  # each rank's own copy, to show they agree
            write_theta(self.run.path / "theta" / f"rank_{self.dist.rank}.txt", theta)
        if not self.dist.is_main:
            return
        probs = self.model.probabilities().detach().float().cpu().tolist()
        mask = self.space.mask()
        self.run.log_theta_image(
            completed,
            [[p if ok else float("nan") for p, ok in zip(row, allowed, strict=True)] for row, allowed in zip(probs, mask, strict=True)],
        )
        write_theta(self.run.theta_epoch_path(completed), theta)
        write_theta(self.run.theta_path, theta)
        arch = sample_arch(theta, self.space, self.profile)
        arch.update({"run": self.run.id, "epoch": completed})
        write_arch(self.run.arch_path, arch)
        self.save_checkpoint()

    # reporting
    def log(self, kind: str, epoch: int, plan: PhasePlan, meter: Meter, opt: torch.optim.Optimizer, temperature: float) -> None:
        means = meter.means()
        record = {"kind": kind, "epoch": epoch + 1, "step": self.global_step, "phase": plan.name, **means}
        record.update({"temperature": temperature, "lr": opt.param_groups[0]["lr"], "time": time.time()})
        self.run.log_metrics(record)
        if kind == "interval":
            self.update_status(epoch, plan.name, self.position.batch, record)
            total = len(plan.batches)
            say(
                f"epoch {epoch + 1}/{self.cfg.search.epochs} {plan.name:7s} {self.position.batch}/{total} "
                f"loss {means['loss']:.3f} ce {means['ce']:.3f} lat {means['lat']:.4g} s ener {means['ener']:.4g} J "
                f"acc {means['acc']:.1%} T {temperature:.3f} {means['images_per_s']:.0f} img/s"
            )

    def progress(self, epoch: int, phase: str, batch: int) -> float:
        total = self.cfg.search.epochs
        if phase == "eval":
            return min(1.0, epoch / total)
        plans = self.phases(epoch)
        done = 0
        for p in plans:
            if p.name == phase:
                done += batch
                break
            done += len(p.batches)
        return min(1.0, (epoch + done / max(1, sum(len(p.batches) for p in plans))) / total)

    def update_status(self, epoch: int, phase: str, batch: int, record: dict[str, Any]) -> None:
        latest = {k: record.get(k) for k in ("loss", "ce", "lat", "ener", "acc", "temperature")}
        self.run.update_status(
            epoch=epoch if phase == "eval" else self.position.epoch,
            total_epochs=self.cfg.search.epochs,
            phase=phase,
            progress=round(self.progress(epoch, phase, batch), 6),
            latest=latest,
            best_acc=self.best_acc,
            step=self.global_step,
        )


_QUIET = {"on": False}  # ranks other than 0 of a distributed search keep quiet


def say(message: str) -> None:
    if _QUIET["on"]:
        return
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def _record_failure(run, message: str, trace: str) -> str:
    """Best effort: on a full or read-only disk neither error.log nor status.json can be written.

    The run then stays 'running' with its process gone, which every reader shows as
    'interrupted': resumable from the last checkpoint (written atomically, so still whole).
    """
    try:
        run.write_error_log(trace)
        where = f"traceback in {run.error_log_path}"
    except OSError as exc:
        where = f"error.log not written: {exc.strerror or exc}"
    try:
        run.mark_ended("failed", message)
    except OSError as exc:
        where += f"; status not written ({exc.strerror or exc}), the run reads interrupted and resumes with --resume"
    return where


def execute(search: Search, resume: bool) -> int:
    """Run the search as this process; the run's status tells the outcome. Returns the exit code.

    The checkpoint is checked before anything is written: a resume that cannot continue (a
    changed space, say) leaves config.toml and the status as they were. A resume always leaves
    a resume record in the metrics, also one that starts at epoch 1 (a run queued, never started).
    """
    from ..errors import EXIT_INTERRUPTED, EXIT_RUN_FAILED

    run = search.run
    if resume and search.load_checkpoint():
        p = search.position
        say(f"resuming at epoch {p.epoch + 1}, phase {p.phase}, batch {p.batch}")
    run.write_config_text(search.cfg.to_toml())
    if resume:  # readers drop records of the interrupted stretch: those after this line with a step above this one
        p = search.position
        run.log_metrics({"kind": "resume", "epoch": p.epoch + 1, "step": search.global_step, "phase": "resume"})
    run.mark_running(resumed=resume, total_epochs=search.cfg.search.epochs, device=str(search.device))
    search.stop.install()
    try:
        search.run_all()
    except Cancelled as exc:
        search.save_checkpoint()
        run.mark_ended("cancelled", f"cancelled by {exc} (resumable with --resume)")
        say(f"cancelled ({exc}); checkpoint saved, resume with --resume")
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - any failure marks the run failed
        message = f"{type(exc).__name__}: {exc}".splitlines()[0]
        where = _record_failure(run, message, traceback.format_exc())
        say(f"hanna-tui: search failed: {message} ({where})")
        return EXIT_RUN_FAILED
    finally:
        search.stop.restore()
        run.close_events()
    # best_acc again: a run killed between its last checkpoint and status write resumes with nothing left to do
    run.mark_ended("done", progress=1.0, epoch=search.cfg.search.epochs, phase="done", best_acc=search.best_acc)
    say(f"done: best test acc {search.best_acc:.1%}; run directory {run.path}")
    return 0
