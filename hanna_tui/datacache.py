"""Image sets decoded once into a uint8 tensor cache; batches cut and augmented as whole-batch ops.

Cache files: ``ROOT/.hanna-cache/<name>-<split>-<size>px.npz`` (an uncompressed numpy archive of
plain arrays: ``images`` uint8 (N, 3, S, S), ``labels`` int64 (N,), ``manifest`` UTF-8 JSON
bytes). The manifest holds the format version, the source kind, the class names, the image
count and a fingerprint (sha256 over every source file's relative path, size and mtime), so a
cache is reused while its source is unchanged and rebuilt when a file is added, removed or
touched. Written atomically (temp file + rename); read with ``allow_pickle=False``, so a planted
file can hold only numbers, never code. A cache that is unreadable or does not match is rebuilt.
When the data root is not writable, caches go to ``$XDG_CACHE_HOME/hanna-tui`` (else
``~/.cache/hanna-tui``), one folder per data root.

Decoding: an ImageFolder tree (torchvision's class-per-folder layout) with PIL, each image
converted to RGB; an image whose side is not the asked size is resized (shorter side, bilinear)
and centre-cropped to a square. CIFAR: the images torchvision's CIFAR10/CIFAR100 reads.

Augmentation (``augment_batch``) runs on whatever device the cache lives on, one batch at a
time, with no per-image Python work: random crop with zero padding and horizontal flip as a
single gather, uint8 -> float, normalisation, and optional cutout (a square set to 0 after
normalisation, its centre uniform over the image, clipped at the borders; DeVries & Taylor
2017). Randomness comes from an explicit torch.Generator, so a batch is reproducible from its
seed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, Subset

from .errors import UserError
from .fsutil import atomic_write_bytes

CACHE_VERSION = 1
CACHE_DIR = ".hanna-cache"
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)


@dataclass(frozen=True)
class Augment:
    """What ``augment_batch`` does to a batch (all off: uint8 -> normalised float only)."""

    padding: int = 0  # random crop of the original size from the zero-padded image; 0 = none
    flip: bool = False  # horizontal flip with probability 1/2
    cutout: int = 0  # side of the zeroed square; 0 = none
    mean: tuple[float, float, float] = CIFAR_MEAN
    std: tuple[float, float, float] = CIFAR_STD

    @classmethod
    def training(cls, size: int, cutout: int = 0) -> Augment:
        """The CIFAR recipe: crop with size/8 padding (4 px at 32), flip, optional cutout."""
        return cls(padding=size // 8, flip=True, cutout=cutout)

    @property
    def random(self) -> bool:
        return bool(self.padding or self.flip or self.cutout)


def augment_batch(images: torch.Tensor, aug: Augment, generator: torch.Generator | None = None) -> torch.Tensor:
    """uint8 (B, 3, S, S) -> augmented, normalised float32 (B, 3, S, S) on the same device."""
    batch, channels, height, width = images.shape
    device = images.device
    if aug.padding or aug.flip:
        pad = aug.padding
        padded = torch.nn.functional.pad(images, (pad, pad, pad, pad)) if pad else images
        rows = torch.arange(height, device=device).expand(batch, height)
        cols = torch.arange(width, device=device).expand(batch, width)
        if pad:
            rows = rows + torch.randint(0, 2 * pad + 1, (batch, 1), generator=generator, device=device)
            cols = cols + torch.randint(0, 2 * pad + 1, (batch, 1), generator=generator, device=device)
        if aug.flip:  # a flipped crop reads its columns right to left: the flip rides on the same gather
            flipped = torch.rand((batch, 1), generator=generator, device=device) < 0.5
            cols = torch.where(flipped, cols.flip(1), cols)
        b = torch.arange(batch, device=device).view(batch, 1, 1, 1)
        c = torch.arange(channels, device=device).view(1, channels, 1, 1)
        images = padded[b, c, rows.view(batch, 1, height, 1), cols.view(batch, 1, 1, width)]
    mean = torch.tensor(aug.mean, device=device).view(1, channels, 1, 1)
    std = torch.tensor(aug.std, device=device).view(1, channels, 1, 1)
    out = images.float().mul_(1.0 / 255.0).sub_(mean).div_(std)
    if aug.cutout:
        half = aug.cutout // 2
        cy = torch.randint(0, height, (batch, 1, 1), generator=generator, device=device)
        cx = torch.randint(0, width, (batch, 1, 1), generator=generator, device=device)
        ys = torch.arange(height, device=device).view(1, height, 1)
        xs = torch.arange(width, device=device).view(1, 1, width)
        hole = (ys >= cy - half) & (ys < cy - half + aug.cutout) & (xs >= cx - half) & (xs < cx - half + aug.cutout)
        out.masked_fill_(hole.unsqueeze(1), 0.0)
    return out


class CachedImages(Dataset):
    """A decoded image set in memory (uint8, NCHW) with the augmentation its batches get.

    Indexing one item works (for generic code), but the point is ``batch``: a whole batch cut
    and augmented on the cache's device.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, classes: list[str], augment: Augment, description: str = "") -> None:
        self.images, self.labels = images, labels
        self.classes = classes
        self.augment = augment
        self.description = description

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = augment_batch(self.images[index : index + 1], self.augment)[0]
        return image, int(self.labels[index])

    @property
    def device(self) -> torch.device:
        return self.images.device

    def to(self, device: torch.device | str) -> CachedImages:
        """Move the cache (in place) to a device, once; batches are then made there."""
        device = torch.device(device)
        if self.images.device != device:
            self.images = self.images.to(device)
            self.labels = self.labels.to(device)
        return self

    def batch(self, ids: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        ids = ids.to(self.device)
        return augment_batch(self.images[ids], self.augment, generator), self.labels[ids]

    def generator(self, seed: int) -> torch.Generator | None:
        """A generator on the cache's device seeded with `seed` (None when the batches are not random)."""
        if not self.augment.random:
            return None
        return torch.Generator(device=self.device).manual_seed(seed & 0x7FFF_FFFF_FFFF_FFFF)


def cached_view(ds: Dataset) -> tuple[CachedImages, torch.Tensor | None] | None:
    """(cache, index map) when `ds` is a CachedImages or nested Subsets of one, else None."""
    indices: torch.Tensor | None = None
    while isinstance(ds, Subset):
        sub = torch.as_tensor(list(ds.indices), dtype=torch.long)
        indices = sub if indices is None else sub[indices]
        ds = ds.dataset
    if isinstance(ds, CachedImages):
        return ds, indices
    return None


def place(datasets: Sequence[Dataset], device: torch.device | str) -> None:
    """Move the caches behind these data sets (if any) to `device`."""
    for ds in datasets:
        view = cached_view(ds)
        if view is not None:
            view[0].to(device)


class CacheLoader:
    """Batches of a (view of a) cache, DataLoader-like: shuffled per epoch, sharded across ranks.

    Epoch e's order is torch.randperm with seed (seed, e); with several ranks, each takes every
    world-th index of that order (the global batch stays ``batch_size * world``, as
    DistributedSampler with drop_last does). Augmentation is seeded with (seed, e, rank).
    """

    def __init__(
        self,
        data: CachedImages,
        indices: torch.Tensor | None,
        batch_size: int,
        shuffle: bool,
        drop_last: bool,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.data, self.batch_size = data, batch_size
        self.indices = indices
        self.shuffle, self.drop_last = shuffle, drop_last
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _count(self) -> int:
        n = len(self.data) if self.indices is None else int(self.indices.numel())
        return n // self.world_size if self.world_size > 1 else n

    def __len__(self) -> int:
        n = self._count()
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n_all = len(self.data) if self.indices is None else int(self.indices.numel())
        if self.shuffle:
            order = torch.randperm(n_all, generator=torch.Generator().manual_seed(self.seed * 100_003 + self.epoch))
        else:
            order = torch.arange(n_all)
        if self.world_size > 1:
            order = order[: self._count() * self.world_size][self.rank :: self.world_size]
        if self.indices is not None:
            order = self.indices[order]
        order = order.to(self.data.device)
        generator = self.data.generator((self.seed * 1_000_003 + self.epoch) * 131 + self.rank)
        for i in range(len(self)):
            ids = order[i * self.batch_size : (i + 1) * self.batch_size]
            if len(ids) < 2 and i > 0:  # BatchNorm needs two samples; a lone last one is dropped
                return
            yield self.data.batch(ids, generator)


# building and loading ----------------------------------------------------------------------------


def _say(line: str) -> None:
    sys.stderr.write(f"hanna-tui: {line}\n")
    sys.stderr.flush()


def fingerprint(files: Sequence[Path], base: Path) -> str:
    """sha256 over each file's path (relative to base), size and mtime (ns): cheap, and any edit shows."""
    digest = hashlib.sha256()
    for path in files:
        st = path.stat()
        digest.update(f"{path.relative_to(base).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def cache_folder(root: Path) -> Path:
    """ROOT/.hanna-cache when the data root can take it, else a per-root folder in the user's cache."""
    folder = root / CACHE_DIR
    try:
        folder.mkdir(exist_ok=True)
        if os.access(folder, os.W_OK):
            return folder
    except OSError:
        pass
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    tag = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    return home / "hanna-tui" / f"{root.resolve().name}-{tag}"


@dataclass
class Decoded:
    images: np.ndarray  # uint8 (N, 3, S, S)
    labels: np.ndarray  # int64 (N,)
    classes: list[str]


def write_cache(path: Path, decoded: Decoded, manifest: dict) -> None:
    buffer = io.BytesIO()
    meta = np.frombuffer(json.dumps(manifest, sort_keys=True).encode("utf-8"), dtype=np.uint8)
    np.savez(buffer, images=decoded.images, labels=decoded.labels, manifest=meta)
    atomic_write_bytes(path, buffer.getvalue())


def read_cache(path: Path, expected: dict) -> Decoded | None:
    """The cache at `path` if it is whole and its manifest matches `expected`; None otherwise."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            manifest = json.loads(bytes(archive["manifest"]).decode("utf-8"))
            if not isinstance(manifest, dict) or any(manifest.get(k) != v for k, v in expected.items()):
                return None
            images, labels = archive["images"], archive["labels"]
        classes = manifest["classes"]
        size = expected["size"]
        ok = (
            images.dtype == np.uint8
            and images.shape[1:] == (3, size, size)
            and labels.dtype == np.int64
            and labels.shape == (images.shape[0],)
            and images.shape[0] == manifest.get("count")
            and isinstance(classes, list)
            and all(isinstance(c, str) for c in classes)
            and (labels.size == 0 or (labels.min() >= 0 and labels.max() < len(classes)))
        )
        return Decoded(images, labels, classes) if ok else None
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError, EOFError) as exc:
        _say(f"{path}: unreadable tensor cache ({type(exc).__name__}); rebuilding it")
        return None


def _decode_one(path: Path, size: int) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        img = img.convert("RGB")
        if img.size != (size, size):
            w, h = img.size
            scale = size / min(w, h)
            img = img.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.Resampling.BILINEAR)
            left, top = (img.size[0] - size) // 2, (img.size[1] - size) // 2
            img = img.crop((left, top, left + size, top + size))
        return np.asarray(img, dtype=np.uint8).transpose(2, 0, 1)


def decode_folder(samples: Sequence[tuple[str, int]], classes: list[str], size: int) -> Decoded:
    images = np.empty((len(samples), 3, size, size), dtype=np.uint8)
    for i, (path, _) in enumerate(samples):
        try:
            images[i] = _decode_one(Path(path), size)
        except (OSError, ValueError) as exc:
            raise UserError(f"{path}: cannot decode this image ({exc}); expected a JPEG/PNG file") from None
    labels = np.asarray([label for _, label in samples], dtype=np.int64)
    return Decoded(images, labels, classes)


def folder_cache(split_dir: Path, root: Path, size: int, augment: Augment) -> CachedImages:
    """The cache of one ImageFolder split (ROOT/train or ROOT/test), built when missing or stale."""
    from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, make_dataset

    try:
        classes, class_to_idx = find_classes(str(split_dir))
        samples = make_dataset(str(split_dir), class_to_idx, extensions=IMG_EXTENSIONS)
    except (FileNotFoundError, RuntimeError) as exc:
        raise UserError(f"data.root={root}: {exc}") from None
    expected = {
        "version": CACHE_VERSION,
        "source": "imagefolder",
        "split": split_dir.name,
        "size": size,
        "classes": classes,
        "count": len(samples),
        "fingerprint": fingerprint([Path(p) for p, _ in samples], split_dir),
    }
    path = cache_folder(root) / f"imagefolder-{split_dir.name}-{size}px.npz"
    decoded = read_cache(path, expected)
    if decoded is None:
        _say(f"decoding {len(samples)} images of {split_dir} into the tensor cache {path}")
        decoded = decode_folder(samples, classes, size)
        write_cache(path, decoded, expected)
    return _wrap(decoded, augment, f"ImageFolder at {root} (tensor cache)")


def cifar_cache(dataset, root: Path, name: str, train: bool, size: int, augment: Augment) -> CachedImages:
    """The cache of a torchvision CIFAR split (its .data uint8 NHWC and .targets), resized if asked."""
    split = "train" if train else "test"
    base = Path(dataset.root) / dataset.base_folder
    files = sorted(p for p in base.iterdir() if p.is_file()) if base.is_dir() else []
    expected = {
        "version": CACHE_VERSION,
        "source": name,
        "split": split,
        "size": size,
        "classes": list(dataset.classes),
        "count": len(dataset.targets),
        "fingerprint": fingerprint(files, base),
    }
    path = cache_folder(root) / f"{name}-{split}-{size}px.npz"
    decoded = read_cache(path, expected)
    if decoded is None:
        images = np.ascontiguousarray(np.asarray(dataset.data, dtype=np.uint8).transpose(0, 3, 1, 2))
        if images.shape[-1] != size:
            t = torch.from_numpy(images).float()
            t = torch.nn.functional.interpolate(t, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
            images = t.round().clamp(0, 255).to(torch.uint8).numpy()
        decoded = Decoded(images, np.asarray(dataset.targets, dtype=np.int64), list(dataset.classes))
        write_cache(path, decoded, expected)
    return _wrap(decoded, augment, f"{name} at {root} (tensor cache)")


def _wrap(decoded: Decoded, augment: Augment, description: str) -> CachedImages:
    images = torch.from_numpy(np.ascontiguousarray(decoded.images))
    labels = torch.from_numpy(np.ascontiguousarray(decoded.labels))
    return CachedImages(images, labels, list(decoded.classes), augment, description)
