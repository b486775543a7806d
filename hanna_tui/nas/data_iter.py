"""Seeded, resumable batch order over a data set (fast paths for in-memory tensor data sets).

The order of an epoch's phase depends only on (seed, epoch, phase), so a resumed run can skip
the batches it already did and see exactly the batches it would have seen. A tensor cache
(hanna_tui.datacache) cuts and augments each batch on its own device; the augmentation of a
batch is seeded by the batch's indices, so a resumed pass sees the same crops and flips too.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import DataLoader, Dataset, Subset, TensorDataset

from ..datacache import cached_view, place

__all__ = ["batch_plan", "iterate", "order", "place"]


def _tensor_source(ds: Dataset) -> tuple[tuple[torch.Tensor, ...], list[int] | None] | None:
    """(tensors, index map) when the data set is a TensorDataset or nested Subsets of one."""
    indices: list[int] | None = None
    while isinstance(ds, Subset):
        sub = list(ds.indices)
        indices = sub if indices is None else [sub[i] for i in indices]
        ds = ds.dataset
    if isinstance(ds, TensorDataset):
        return ds.tensors, indices
    return None


def order(n: int, seed: int, epoch: int, phase: int) -> list[int]:
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch * 101 + phase)
    return torch.randperm(n, generator=g).tolist()


def batch_plan(n: int, batch_size: int, seed: int, epoch: int, phase: int, shuffle: bool = True) -> list[list[int]]:
    """Index lists of one pass; a last batch of a single sample is dropped (BatchNorm needs 2)."""
    idx = order(n, seed, epoch, phase) if shuffle else list(range(n))
    plan = [idx[i : i + batch_size] for i in range(0, n, batch_size)]
    if len(plan) > 1 and len(plan[-1]) < 2:
        plan.pop()
    return plan


def batch_seed(batch: Sequence[int]) -> int:
    """A seed that only the batch's own indices (and their order) decide."""
    return zlib.crc32(torch.tensor(batch, dtype=torch.int64).numpy().tobytes())


def iterate(ds: Dataset, plan: list[list[int]], start: int = 0, workers: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield (images, labels) for plan[start:] (on the cache's device for a tensor cache)."""
    cached = cached_view(ds)
    if cached is not None:
        cache, mapping = cached
        for batch in plan[start:]:
            ids = torch.tensor(batch, dtype=torch.long)
            yield cache.batch(ids if mapping is None else mapping[ids], cache.generator(batch_seed(batch)))
        return
    source = _tensor_source(ds)
    if source is not None:
        (images, labels), mapping = source[0][:2], source[1]
        for batch in plan[start:]:
            ids = torch.tensor(batch if mapping is None else [mapping[i] for i in batch])
            yield images[ids], labels[ids]
        return
    loader = DataLoader(ds, batch_sampler=plan[start:], num_workers=workers)
    yield from loader
