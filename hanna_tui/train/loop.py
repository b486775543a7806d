"""The trainer: one model, one data set, one output folder (status.json, metrics.jsonl, checkpoints).

Output folder (RUN/train/ for a searched childnet, RUN/ for a baseline):
  status.json    state (running | done | failed | cancelled), pid, host, epoch, total_epochs,
                 progress, top1, best_top1, params, macs, error, images_per_s, device, model
  metrics.jsonl  {"kind": "interval", epoch, step, loss, acc, lr, images_per_s, time} every
                 log_interval steps; {"kind": "epoch", epoch, loss, acc, top1, test_loss, lr,
                 images_per_s, time, epoch_s} after every epoch
  checkpoint.pt  model, optimizer, scaler, completed epochs, config, spec; atomic, every epoch
  model.pt       the final weights {"state_dict", "spec"}; model.json the spec (plain JSON)
top1 is a fraction (0..1) of the test split.

Resume: a checkpoint in the folder is resumed automatically (its saved recipe wins; device,
workers, threads and log interval may change); resume="yes" requires one, resume="no" starts
over. SIGTERM or SIGINT saves a checkpoint (the interrupted epoch is redone on resume) and
marks the run cancelled.
"""

from __future__ import annotations

import math
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from ..counting import model_cost
from ..data import build_datasets
from ..datacache import CacheLoader, cached_view
from ..distributed import DistContext, FollowerRun, average_gradients, broadcast_module, module_in_sync
from ..errors import UserError
from ..fsutil import atomic_write_json
from ..models import ModelSpec, build_model, inference_form
from ..runtime import StopFlag, memory_format, pick_device
from ..store import Run, now_iso
from .checkpoint import CHECKPOINT, load_blob, save_blob
from .recipe import TrainConfig, default_workers, lr_at, param_groups
from .speed import WeightAverage, compiled, optimizer_options

RUNTIME_KEYS = ("device", "workers", "threads", "log_interval")
Progress = Callable[[str], None]


@dataclass
class TrainResult:
    state: str  # done | cancelled
    epochs_done: int
    total_epochs: int
    top1: float | None
    best_top1: float | None
    params: int
    macs: int
    out_dir: str


@dataclass
class EpochStats:
    loss: float
    acc: float
    images_per_s: float
    seconds: float
    stopped: bool


class Trainer:
    """Trains `spec` with `cfg`, writing into `out_dir`; call run()."""

    def __init__(
        self,
        out_dir: str | os.PathLike,
        spec: ModelSpec,
        cfg: TrainConfig,
        resume: str = "auto",
        progress: Progress | None = None,
        dist: DistContext | None = None,
    ) -> None:
        self.dist = dist or DistContext()
        self.out = Run(out_dir) if self.dist.is_main else FollowerRun(out_dir)
        self.spec, self.cfg = spec, cfg
        self.resume = resume
        self.say: Progress = progress or (lambda _line: None)
        self.stop = StopFlag()
        self.start_epoch = 0
        self.best_top1: float | None = None
        self.last_top1: float | None = None
        self.cost = (0, 0)

    # set-up -------------------------------------------------------------------------------
    def _load_resume(self) -> dict[str, Any] | None:
        path = self.out.path / CHECKPOINT
        if self.resume == "no":
            for path in (self.out.path / CHECKPOINT, self.out.model_path, self.out.metrics_path):
                path.unlink(missing_ok=True)
            return None
        if not path.is_file():
            if self.resume == "yes":
                raise UserError(f"{self.out.path}: no checkpoint to resume from (drop --resume to start)")
            return None
        blob = load_blob(path)
        runtime = {k: getattr(self.cfg, k) for k in RUNTIME_KEYS}
        asked = self.cfg.to_dict()
        self.cfg = TrainConfig.from_dict(blob.get("config", {}))
        ignored = _changes(self.cfg.to_dict(), asked, skip=RUNTIME_KEYS)
        if ignored:
            self.say(f"resuming with the checkpoint's recipe, not this command's {', '.join(ignored)} (--restart to change it)")
        for key, value in runtime.items():
            setattr(self.cfg, key, value)
        self.spec = ModelSpec.from_dict(blob.get("spec", self.spec.to_dict()))
        self.start_epoch = int(blob["epoch"])
        self.best_top1 = blob.get("best_top1")
        self.last_top1 = blob.get("top1")
        return blob

    def _setup(self) -> dict[str, Any] | None:
        self.out.path.mkdir(parents=True, exist_ok=True)
        blob = self._load_resume()
        self.cfg.validate()
        if self.cfg.threads > 0:
            torch.set_num_threads(self.cfg.threads)
        self.device = pick_device(self.dist.device_name(self.cfg.device), "--device")
        self.cuda = self.device.type == "cuda"
        self._setup_data(resumed=blob is not None)
        torch.manual_seed(self.cfg.seed)
        self.model = build_model(self.spec)
        if blob is not None:
            self.model.load_state_dict(blob["model"])
        self._to_device()
        broadcast_module(self.model, self.dist)
        self.optimizer = torch.optim.SGD(
            param_groups(self.model, self.cfg.weight_decay),
            lr=self.cfg.lr,
            momentum=self.cfg.momentum,
            nesterov=self.cfg.nesterov,
            **optimizer_options(self.device),
        )
        self._setup_amp()
        self.ema = WeightAverage(self.model, self.cfg.ema) if self.cfg.ema > 0 else None
        if blob is not None:
            self.optimizer.load_state_dict(blob["optimizer"])
            if self.scaler is not None and blob.get("scaler"):
                self.scaler.load_state_dict(blob["scaler"])
            if self.ema is not None and blob.get("ema"):
                self.ema.load_state_dict(blob["ema"])
        self.step_model = compiled(self.model, self.say) if self.cfg.compile else self.model
        return blob

    def _setup_data(self, resumed: bool) -> None:
        bundle = build_datasets(
            self.cfg.data, self.spec.input_size, augment=True, seed=self.cfg.seed, num_classes=self.spec.num_classes, cutout=self.cfg.cutout
        )
        if resumed and bundle.num_classes != self.spec.num_classes:
            raise UserError(
                f"{self.cfg.data.root}: {bundle.num_classes} classes, but the checkpoint was trained on {self.spec.num_classes}"
            )
        self.spec.num_classes = bundle.num_classes
        self.data_description = bundle.description
        if len(bundle.train) < 2:  # type: ignore[arg-type]
            raise UserError(f"{self.cfg.data.root}: the training split has fewer than 2 images")
        workers = self.cfg.workers if self.cfg.workers >= 0 else default_workers(self.device.type)
        self.batch_size = min(self.cfg.batch_size, len(bundle.train))  # type: ignore[arg-type]
        self.generator = torch.Generator()
        self.train_loader = self._loader(bundle.train, workers, shuffle=True)
        self.test_loader = self._loader(bundle.test, workers, shuffle=False)

    def _loader(self, ds: Dataset, workers: int, shuffle: bool) -> DataLoader | CacheLoader:
        sampler = None
        batch_size = self.batch_size if shuffle else max(self.batch_size, 256)
        sharded = shuffle and self.dist.enabled  # each rank its share; the global batch stays batch_size
        if sharded:
            batch_size = max(1, batch_size // self.dist.world_size)
        cached = cached_view(ds)
        if cached is not None:  # the tensor cache: batches cut and augmented on the device
            cache, indices = cached
            cache.to(self.device)
            rank, world = (self.dist.rank, self.dist.world_size) if sharded else (0, 1)
            return CacheLoader(
                cache, indices, batch_size, shuffle=shuffle, drop_last=shuffle, seed=self.cfg.seed, rank=rank, world_size=world
            )
        if sharded:
            sampler = DistributedSampler(ds, self.dist.world_size, self.dist.rank, shuffle=True, seed=self.cfg.seed, drop_last=True)
        return DataLoader(
            ds,
            batch_size=batch_size,
            shuffle=shuffle and sampler is None,
            sampler=sampler,
            drop_last=shuffle,
            generator=self.generator if shuffle and sampler is None else None,
            num_workers=workers,
            pin_memory=self.cuda,
            persistent_workers=workers > 0,
            prefetch_factor=4 if workers > 0 else None,
            worker_init_fn=_quiet_worker if workers > 0 else None,
        )

    def _to_device(self) -> None:
        self.memory_format = memory_format(self.device, self.cfg.channels_last)
        if self.cuda:
            torch.backends.cudnn.benchmark = True  # fixed input shapes: let cuDNN pick its fastest kernels
        self.model.to(self.device, memory_format=self.memory_format)

    def _setup_amp(self) -> None:
        self.amp_dtype: torch.dtype | None = None
        self.scaler: torch.amp.GradScaler | None = None
        if self.cuda and self.cfg.amp:
            self.amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
            if self.amp_dtype == torch.float16:
                self.scaler = torch.amp.GradScaler("cuda")

    def _autocast(self):
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast("cuda", dtype=self.amp_dtype)

    # one epoch ------------------------------------------------------------------------------
    def _batch(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        images = images.to(self.device, non_blocking=True).to(memory_format=self.memory_format)
        return images, labels.to(self.device, non_blocking=True)

    def _step(self, images: torch.Tensor, labels: torch.Tensor, criterion: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        with self._autocast():
            logits = self.step_model(images)
            loss = criterion(logits, labels)
        regularize = getattr(self.model, "regularization", None)
        extra = regularize() if callable(regularize) else None
        total = loss if extra is None else loss + extra.to(loss.device)
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(total).backward()
            average_gradients(list(self.model.parameters()), self.dist)
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            total.backward()
            average_gradients(list(self.model.parameters()), self.dist)
            self.optimizer.step()
        if self.ema is not None:
            self.ema.update(self.model)
        correct = (logits.detach().argmax(1) == labels).sum()
        return loss.detach(), correct

    def _set_lr(self, step: int) -> float:
        lr = lr_at(self.cfg, step, self.steps_per_epoch)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr

    def _train_epoch(self, epoch: int) -> EpochStats:
        self.model.train()
        hook = getattr(self.model, "on_epoch_start", None)
        if callable(hook):
            hook(epoch, self.cfg.epochs)
        criterion = nn.CrossEntropyLoss(label_smoothing=self.cfg.label_smoothing)
        self.generator.manual_seed(self.cfg.seed * 100_003 + epoch)
        if isinstance(self.train_loader, CacheLoader):
            self.train_loader.set_epoch(epoch)
        elif isinstance(self.train_loader.sampler, DistributedSampler):
            self.train_loader.sampler.set_epoch(epoch)
        if self.ema is not None:
            self.ema.track(self.model)
        torch.manual_seed(self.cfg.seed * 100_003 + epoch)
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), dtype=torch.long, device=self.device)
        seen, window = 0, _Window()
        started = time.perf_counter()
        for i, (images, labels) in enumerate(self._batches(self.train_loader)):
            lr = self._set_lr(epoch * self.steps_per_epoch + i)
            images, labels = self._batch(images, labels)
            try:
                loss, right = self._step(images, labels, criterion)
            except Exception as exc:
                if self.step_model is self.model:
                    raise
                self.say(
                    f"torch.compile failed ({type(exc).__name__}: {str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ''}); training eagerly"
                )
                self.step_model = self.model
                loss, right = self._step(images, labels, criterion)
            loss_sum += loss * labels.shape[0]
            correct += right
            seen += labels.shape[0]
            window.add(loss, right, labels.shape[0])
            if (i + 1) % self.cfg.log_interval == 0:
                self._log_interval(epoch, i + 1, lr, window)
        seconds = time.perf_counter() - started
        if self.stop:
            return EpochStats(0.0, 0.0, 0.0, seconds, True)
        loss_mean = float(loss_sum) / max(1, seen)
        if not math.isfinite(loss_mean):
            raise UserError(f"training diverged (loss {loss_mean}) in epoch {epoch + 1}; try a lower --lr")
        return EpochStats(loss_mean, float(correct) / max(1, seen), seen / max(seconds, 1e-9), seconds, False)

    def _batches(self, loader: DataLoader | CacheLoader) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The loader's batches until it ends or a stop is asked for (a worker killed by the same signal is no error)."""
        iterator = iter(loader)
        while not self.stop:
            try:
                batch = next(iterator)
            except StopIteration:
                return
            except Exception:
                if self.stop:
                    return
                raise
            yield batch

    def _log_interval(self, epoch: int, step: int, lr: float, window: _Window) -> None:
        loss, acc, rate = window.flush()
        progress = (epoch + step / self.steps_per_epoch) / self.cfg.epochs
        self.out.log_metrics(
            {"kind": "interval", "epoch": epoch + 1, "step": step, "loss": loss, "acc": acc, "lr": lr, "images_per_s": rate}
        )
        self.out.update_status(progress=round(progress, 4), latest={"loss": loss, "acc": acc, "lr": lr}, images_per_s=rate)

    @torch.no_grad()
    def evaluate(self) -> tuple[float, float]:
        """(top-1 fraction, mean cross-entropy) on the test split (of the averaged weights when EMA is on)."""
        model = self.ema.model if self.ema is not None else self.model
        model.eval()
        correct = torch.zeros((), dtype=torch.long, device=self.device)
        loss_sum = torch.zeros((), device=self.device)
        seen = 0
        for images, labels in self._batches(self.test_loader):
            images, labels = self._batch(images, labels)
            with self._autocast():
                logits = model(images)
            loss_sum += nn.functional.cross_entropy(logits.float(), labels, reduction="sum")
            correct += (logits.argmax(1) == labels).sum()
            seen += labels.shape[0]
        return float(correct) / max(1, seen), float(loss_sum) / max(1, seen)

    # bookkeeping ------------------------------------------------------------------------------
    def _count(self) -> tuple[int, int]:
        cost = model_cost(inference_form(self.model), self.spec.input_shape)
        return cost.params, cost.macs

    def _save_checkpoint(self, epochs_done: int) -> None:
        if not self.dist.is_main:
            return
        save_blob(
            self.out.path / CHECKPOINT,
            {
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scaler": self.scaler.state_dict() if self.scaler is not None else None,
                "ema": self.ema.state_dict() if self.ema is not None else None,
                "epoch": epochs_done,
                "best_top1": self.best_top1,
                "top1": self.last_top1,
                "config": self.cfg.to_dict(),
                "spec": self.spec.to_dict(),
                "saved": now_iso(),
            },
        )

    def _start_status(self) -> None:
        if self.dist.is_main:
            atomic_write_json(self.out.spec_path, self.spec.to_dict())
        self.out.mark_running(
            resumed=self.start_epoch > 0,
            epoch=self.start_epoch,
            total_epochs=self.cfg.epochs,
            progress=round(self.start_epoch / self.cfg.epochs, 4),
            top1=self.last_top1,
            best_top1=self.best_top1,
            params=self.cost[0],
            macs=self.cost[1],
            model=self.spec.label,
            num_classes=self.spec.num_classes,
            data=self.data_description,
            device=str(self.device),
            amp=str(self.amp_dtype).replace("torch.", "") if self.amp_dtype else "off",
        )

    def _end_epoch(self, epoch: int, stats: EpochStats, top1: float, test_loss: float) -> None:
        self.last_top1 = top1
        self.best_top1 = top1 if self.best_top1 is None else max(self.best_top1, top1)
        lr = self.optimizer.param_groups[0]["lr"]
        record = {
            "kind": "epoch",
            "epoch": epoch + 1,
            "loss": stats.loss,
            "acc": stats.acc,
            "top1": top1,
            "test_loss": test_loss,
            "lr": lr,
            "images_per_s": stats.images_per_s,
            "epoch_s": stats.seconds,
        }
        stage = getattr(self.model, "condensation_stage", None)
        if callable(stage):
            record["condensation_stage"] = stage()
        self.out.log_metrics(record)
        self._save_checkpoint(epoch + 1)
        self.out.update_status(
            epoch=epoch + 1,
            progress=round((epoch + 1) / self.cfg.epochs, 4),
            top1=top1,
            best_top1=self.best_top1,
            latest={"loss": stats.loss, "acc": stats.acc, "top1": top1, "lr": lr},
            images_per_s=stats.images_per_s,
        )
        self.say(
            f"epoch {epoch + 1}/{self.cfg.epochs}  loss {stats.loss:.4f}  train acc {stats.acc:.1%}  top-1 {top1:.2%}  "
            f"lr {lr:.4g}  {stats.images_per_s:.0f} img/s  {stats.seconds:.1f}s"
        )

    def _finish(self) -> TrainResult:
        if self.ema is not None:  # what was evaluated is what is saved
            self.ema.copy_to(self.model)
            self.ema = None
        end_hook = getattr(self.model, "on_train_end", None)
        stage = getattr(self.model, "condensation_stage", lambda: 0)
        before = stage()
        if callable(end_hook):
            end_hook()
        if stage() != before:  # the model changed: measure what is saved
            self.last_top1, _ = self.evaluate()
            self._save_checkpoint(self.cfg.epochs)
        if self.dist.is_main:
            save_blob(self.out.model_path, {"state_dict": self.model.state_dict(), "spec": self.spec.to_dict()})
        self.cost = self._count()
        self.out.mark_ended(
            "done",
            epoch=self.cfg.epochs,
            progress=1.0,
            top1=self.last_top1,
            best_top1=self.best_top1,
            params=self.cost[0],
            macs=self.cost[1],
        )
        return self._result("done")

    def _result(self, state: str) -> TrainResult:
        epoch = int(self.out.status().get("epoch", 0) or 0)
        return TrainResult(state, epoch, self.cfg.epochs, self.last_top1, self.best_top1, self.cost[0], self.cost[1], str(self.out.path))

    def _cancel(self, epochs_done: int) -> TrainResult:
        self._save_checkpoint(epochs_done)
        self.out.mark_ended("cancelled", f"stopped by {self.stop.reason}; resume with hanna-tui train")
        self.say(f"stopped by {self.stop.reason} in epoch {epochs_done + 1}; checkpoint saved")
        return self._result("cancelled")

    # the whole run ---------------------------------------------------------------------------
    def run(self) -> TrainResult:
        threads = torch.get_num_threads()
        with self.stop.installed():
            try:
                return self._run()
            except BaseException as exc:
                running = self.out.status().get("state") == "running"
                if running and self.stop and isinstance(exc, Exception):
                    # stopped while something broke (a loader worker hit by the same signal, say):
                    # the checkpoint of the last whole epoch stays as it is
                    self.out.mark_ended("cancelled", f"stopped by {self.stop.reason}")
                    return self._result("cancelled")
                if running:
                    self.out.mark_ended("failed", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
                raise
            finally:
                torch.set_num_threads(threads)
                self.out.close_events()

    def _run(self) -> TrainResult:
        self._setup()
        self.out.enable_events()  # TensorBoard events beside metrics.jsonl when tensorboard is installed
        self.steps_per_epoch = max(1, len(self.train_loader))
        self.cost = self._count()
        self._start_status()
        if self.start_epoch:
            self.say(f"resuming after epoch {self.start_epoch}/{self.cfg.epochs}")
        for epoch in range(self.start_epoch, self.cfg.epochs):
            stats = self._train_epoch(epoch)
            if stats.stopped or self.stop:
                return self._cancel(epoch)
            if not module_in_sync(self.model, self.dist):
                raise RuntimeError(f"weights differ between ranks after epoch {epoch + 1} (expected identical updates)")
            broadcast_module(self.model, self.dist)  # rank 0's BatchNorm statistics everywhere before evaluating
            top1, test_loss = self.evaluate()
            self._end_epoch(epoch, stats, top1, test_loss)
        return self._finish()


def _changes(saved: dict[str, Any], asked: dict[str, Any], skip: tuple[str, ...], prefix: str = "") -> list[str]:
    """key=value for each setting asked for that differs from the saved one."""
    out: list[str] = []
    for key, value in asked.items():
        if key in skip:
            continue
        if isinstance(value, dict):
            out += _changes(saved.get(key) or {}, value, skip, f"{prefix}{key}.")
        elif saved.get(key) != value:
            out.append(f"{prefix}{key}={value}")
    return out


def _quiet_worker(_worker_id: int) -> None:
    """DataLoader workers leave SIGINT/SIGTERM to the trainer, which saves and then ends them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


class _Window:
    """Loss/accuracy/throughput since the last interval record (one device sync per flush)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.loss: torch.Tensor | float = 0.0
        self.correct: torch.Tensor | int = 0
        self.seen = 0
        self.started = time.perf_counter()

    def add(self, loss: torch.Tensor, correct: torch.Tensor, n: int) -> None:
        self.loss = self.loss + loss * n
        self.correct = self.correct + correct
        self.seen += n

    def flush(self) -> tuple[float, float, float]:
        seen = max(1, self.seen)
        out = (float(self.loss) / seen, float(self.correct) / seen, self.seen / max(time.perf_counter() - self.started, 1e-9))
        self.reset()
        return out


def checkpoint_exists(out_dir: str | os.PathLike) -> bool:
    return (Path(out_dir) / CHECKPOINT).is_file()
