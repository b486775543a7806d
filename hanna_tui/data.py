"""Data sets: CIFAR-10/100 (torchvision), any class-per-folder tree, and a generated set for tests and the demo.

CIFAR and ImageFolder data go through the tensor cache by default (``data.loader = "cache"``,
hanna_tui.datacache: decoded once, batches augmented on the device); ``data.loader =
"dataloader"`` keeps the per-image torchvision transforms behind a DataLoader, with the same
augmentations (crop with size/8 padding, flip, optional cutout, CIFAR normalisation).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import Dataset, Subset, TensorDataset

from .config import DataSection
from .datacache import CIFAR_MEAN, CIFAR_STD, Augment, cifar_cache, folder_cache
from .errors import UserError

LOADERS = ("cache", "dataloader")


@dataclass
class DataBundle:
    train: Dataset
    test: Dataset
    num_classes: int
    classes: list[str]
    description: str


def synthetic_dataset(n: int, num_classes: int, size: int, seed: int, split_seed: int) -> TensorDataset:
    """Images whose class is a colour tint plus an oriented stripe texture, randomly phased and noised.

    Each class has its own tint and its own stripe orientation and frequency; every image gets a
    random phase (so the signal is local and translation-invariant, as a CNN sees it), a random
    contrast and strong pixel noise. The class parameters depend on `seed` only, so train and test
    share them; the samples on `split_seed`.
    """
    g = torch.Generator().manual_seed(seed)
    tint = 0.35 * torch.randn(num_classes, 3, 1, 1, generator=g)
    stripe_colour = torch.nn.functional.normalize(torch.randn(num_classes, 3, generator=g), dim=1).view(num_classes, 3, 1, 1)
    angle = (torch.arange(num_classes) + 0.5 * torch.rand(num_classes, generator=g)) * torch.pi / num_classes
    freq = 2 * torch.pi * (2 + 3 * torch.rand(num_classes, generator=g)) / max(8, size // 2)
    g = torch.Generator().manual_seed(split_seed)
    labels = torch.arange(n) % num_classes
    labels = labels[torch.randperm(n, generator=g)]
    coords = torch.arange(size, dtype=torch.float32)
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    a, f = angle[labels].view(n, 1, 1), freq[labels].view(n, 1, 1)
    phase = 2 * torch.pi * torch.rand(n, 1, 1, generator=g)
    wave = torch.sin(f * (xx * torch.cos(a) + yy * torch.sin(a)) + phase).unsqueeze(1)
    contrast = 0.6 + 0.8 * torch.rand(n, 1, 1, 1, generator=g)
    images = tint[labels] + contrast * wave * stripe_colour[labels] + 0.8 * torch.randn(n, 3, size, size, generator=g)
    return TensorDataset(images.contiguous(), labels)


class Cutout:
    """Zero a square of `side` pixels of a normalised (C, H, W) image; its centre uniform over the image."""

    def __init__(self, side: int) -> None:
        self.side = side

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        _, h, w = image.shape
        cy, cx = int(torch.randint(0, h, ())), int(torch.randint(0, w, ()))
        top, left = max(0, cy - self.side // 2), max(0, cx - self.side // 2)
        image = image.clone()
        image[:, top : cy - self.side // 2 + self.side, left : cx - self.side // 2 + self.side] = 0.0
        return image


def _transforms(size: int, augment: bool, cutout: int = 0):
    from torchvision import transforms as T

    normalize = [T.ToTensor(), T.Normalize(CIFAR_MEAN, CIFAR_STD)]
    resize = [] if size == 32 else [T.Resize(size), T.CenterCrop(size)]
    if augment:
        extra = [Cutout(cutout)] if cutout else []
        return T.Compose(resize + [T.RandomCrop(size, padding=size // 8), T.RandomHorizontalFlip()] + normalize + extra)
    return T.Compose(resize + normalize)


def _augment(size: int, augment: bool, cutout: int) -> Augment:
    return Augment.training(size, cutout) if augment else Augment()


def _subset(ds: Dataset, count: int, seed: int) -> Dataset:
    if count <= 0 or count >= len(ds):  # type: ignore[arg-type]
        return ds
    perm = torch.randperm(len(ds), generator=torch.Generator().manual_seed(seed))[:count]  # type: ignore[arg-type]
    return Subset(ds, perm.tolist())


def build_datasets(
    cfg: DataSection, input_size: int, augment: bool = False, seed: int = 0, num_classes: int = 10, cutout: int = 0
) -> DataBundle:
    """Train and test splits for a data config. A missing data set is a UserError that says how to get it.

    `augment` (crop + flip, and `cutout` pixels when > 0) applies to the training split only.
    """
    size = cfg.image_size or input_size
    if cfg.loader not in LOADERS:
        raise UserError(f"data.loader: unknown loader {cfg.loader!r} (expected {' or '.join(LOADERS)})")
    if cfg.name == "synthetic":
        train = synthetic_dataset(cfg.synthetic_train, num_classes, size, seed=1234, split_seed=seed)
        test = synthetic_dataset(cfg.synthetic_test, num_classes, size, seed=1234, split_seed=seed + 10_000)
        bundle = DataBundle(train, test, num_classes, [f"class{i}" for i in range(num_classes)], "generated patterns")
    elif cfg.name in ("cifar10", "cifar100"):
        bundle = _cifar(cfg, size, augment, cutout)
    elif cfg.name == "imagefolder":
        bundle = _imagefolder(cfg, size, augment, cutout)
    else:
        raise UserError(f"data.name: unknown data set {cfg.name!r} (expected synthetic, cifar10, cifar100 or imagefolder)")
    bundle.train = _subset(bundle.train, cfg.train_subset, seed)
    bundle.test = _subset(bundle.test, cfg.test_subset, seed + 1)
    return bundle


def _cifar(cfg: DataSection, size: int, augment: bool, cutout: int) -> DataBundle:
    from torchvision import datasets

    cls = datasets.CIFAR10 if cfg.name == "cifar10" else datasets.CIFAR100
    label = "CIFAR-10" if cfg.name == "cifar10" else "CIFAR-100"
    try:
        train = cls(cfg.root, train=True, download=cfg.download, transform=_transforms(size, augment, cutout))
        test = cls(cfg.root, train=False, download=cfg.download, transform=_transforms(size, False))
    except RuntimeError:
        raise UserError(
            f"data.root={cfg.root}: {label} not found (expected torchvision's binary release there; set data.download = true "
            f'to fetch it, or use data.name = "imagefolder" with a class-per-folder tree, e.g. ../shared/datasets/cifar10-jpeg.tar.gz unpacked)'
        ) from None
    if cfg.loader == "cache":
        root = Path(cfg.root)
        train = cifar_cache(train, root, cfg.name, True, size, _augment(size, augment, cutout))
        test = cifar_cache(test, root, cfg.name, False, size, Augment())
        return DataBundle(train, test, len(train.classes), list(train.classes), f"{label} at {cfg.root} (tensor cache)")
    return DataBundle(train, test, len(train.classes), list(train.classes), f"{label} at {cfg.root}")


def _imagefolder(cfg: DataSection, size: int, augment: bool, cutout: int) -> DataBundle:
    from torchvision import datasets

    root = Path(cfg.root)
    train_dir, test_dir = root / "train", root / "test"
    if not train_dir.is_dir():
        raise UserError(
            f"data.root={cfg.root}: no train/ folder (expected ROOT/train/<class>/*.jpg and ROOT/test/<class>/*.jpg; "
            "e.g. tar -xzf ../shared/datasets/cifar10-jpeg.tar.gz -C data/cifar10-jpeg)"
        )
    if not test_dir.is_dir():
        test_dir = root / "val"
    if not test_dir.is_dir():
        raise UserError(f"data.root={cfg.root}: no test/ or val/ folder (expected ROOT/test/<class>/*.jpg)")
    if cfg.loader == "cache":
        train = folder_cache(train_dir, root, size, _augment(size, augment, cutout))
        test = folder_cache(test_dir, root, size, Augment())
        if train.classes != test.classes:
            raise UserError(f"data.root={cfg.root}: train/ and test/ have different class folders")
        return DataBundle(train, test, len(train.classes), list(train.classes), f"ImageFolder at {cfg.root} (tensor cache)")
    try:
        train = datasets.ImageFolder(str(train_dir), transform=_transforms(size, augment, cutout))
        test = datasets.ImageFolder(str(test_dir), transform=_transforms(size, False))
    except (FileNotFoundError, RuntimeError) as exc:
        raise UserError(f"data.root={cfg.root}: {exc}") from None
    if train.classes != test.classes:
        raise UserError(f"data.root={cfg.root}: train/ and test/ have different class folders")
    return DataBundle(train, test, len(train.classes), list(train.classes), f"ImageFolder at {cfg.root}")


def split_train_val(ds: Dataset, val_fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    """The held-out part (val_fraction) trains theta; the rest trains the weights."""
    n = len(ds)  # type: ignore[arg-type]
    if val_fraction <= 0:  # the authors' protocol: theta and the weights both train on the whole split
        every = Subset(ds, list(range(n)))
        return every, every
    n_val = max(1, int(round(n * val_fraction)))
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed + 7)).tolist()
    return Subset(ds, perm[n_val:]), Subset(ds, perm[:n_val])
