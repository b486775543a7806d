"""torch.distributed for one search or training across processes (torchrun), kept small.

Launch: `torchrun --nproc_per_node N -m hanna_tui search --config FILE --run-dir DIR`.
Every rank sees the same seeded batch plan and takes its own share of every batch, so the global
batch stays `batch_size`. Gradients of the weights and of theta are averaged over the ranks before
each optimizer step, so every rank applies the same update and theta stays identical everywhere.
Only rank 0 writes the run directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from .store import Run


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, batch: list[int]) -> list[int]:
        """This rank's part of a global batch (every rank gets at least one sample when possible)."""
        return batch[self.rank :: self.world_size] if self.enabled else batch

    def device_name(self, requested: str) -> str:
        """cuda -> cuda:LOCAL_RANK under torchrun, so each process takes its own GPU."""
        if self.enabled and requested in ("cuda", "auto") and torch.cuda.is_available():
            return f"cuda:{self.local_rank}"
        return requested


def init_from_env() -> DistContext:
    """Join the process group that torchrun describes in the environment; a single process otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext()
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() and dist.is_nccl_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(local)
        dist.init_process_group(backend=backend)
    return DistContext(rank, world, local)


def average_gradients(params: list[torch.nn.Parameter], ctx: DistContext) -> None:
    """All-reduce the gradients (missing ones count as zero) and divide by the world size."""
    if not ctx.enabled:
        return
    for p in params:
        if not p.requires_grad:
            continue
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
        p.grad.div_(ctx.world_size)


def broadcast_module(module: torch.nn.Module, ctx: DistContext, src: int = 0) -> None:
    """Copy parameters and buffers (BatchNorm statistics) of rank src to every rank."""
    if not ctx.enabled:
        return
    for tensor in list(module.parameters()) + list(module.buffers()):
        dist.broadcast(tensor.data, src)


def all_mean(values: list[float], ctx: DistContext) -> list[float]:
    """Mean of a few numbers over the ranks (for logging)."""
    if not ctx.enabled:
        return values
    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return (t / ctx.world_size).tolist()


def barrier(ctx: DistContext) -> None:
    if ctx.enabled:
        dist.barrier()


def shutdown(ctx: DistContext) -> None:
    if ctx.enabled and dist.is_initialized():
        dist.destroy_process_group()


def theta_in_sync(theta: torch.Tensor, ctx: DistContext, tolerance: float = 1e-6) -> bool:
    """True when every rank holds the same theta as rank 0 (checked once per epoch)."""
    if not ctx.enabled:
        return True
    reference = theta.detach().clone()
    dist.broadcast(reference, 0)
    gap = (theta.detach() - reference).abs().max().reshape(1)
    dist.all_reduce(gap, op=dist.ReduceOp.MAX)
    return bool(gap.item() <= tolerance)


class FollowerRun(Run):
    """The run directory as a rank other than 0 sees it: readable, never written."""

    def update_status(self, **changes: Any) -> dict[str, Any]:
        return self.status()

    def log_metrics(self, record: dict[str, Any]) -> None:
        return None

    def write_config_text(self, text: str) -> None:
        return None

    def enable_events(self) -> None:
        return None


def share_from_main(value: Any, ctx: DistContext) -> Any:
    """Rank 0's value (any picklable object) on every rank."""
    if not ctx.enabled:
        return value
    box = [value if ctx.is_main else None]
    dist.broadcast_object_list(box, 0)
    return box[0]


def module_in_sync(module: torch.nn.Module, ctx: DistContext, tolerance: float = 1e-6) -> bool:
    """True when every rank holds rank 0's parameters."""
    if not ctx.enabled:
        return True
    flat = torch.cat([p.detach().reshape(-1).float() for p in module.parameters()])
    return theta_in_sync(flat, ctx, tolerance)
