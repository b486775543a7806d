"""The tensor cache: decoded once, reused until the source changes, safe to load; batch augmentation on the device."""

from __future__ import annotations

import io
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hanna_tui.config import DataSection
from hanna_tui.data import build_datasets, split_train_val
from hanna_tui.datacache import CACHE_DIR, Augment, CachedImages, CacheLoader, augment_batch, cached_view
from hanna_tui.errors import UserError
from hanna_tui.models import ModelSpec
from hanna_tui.nas import data_iter
from hanna_tui.train import TrainConfig, Trainer

CHOICES = [
    "k3_e1",
    "k3_e1_g2",
    "k3_e3",
    "skip",
    "k5_e1",
    "k5_e1",
    "skip",
    "k3_e1",
    "k3_e3",
    "k3_e1",
    "skip",
    "k3_e1",
    "k3_e1",
    "k5_e1",
    "skip",
    "k3_e1",
    "k3_e1",
    "k3_e1",
    "skip",
    "k3_e1",
    "k3_e1",
    "k3_e1",
]
COLOURS = [(200, 30, 30), (30, 200, 30), (30, 30, 200)]


def write_tree(root: Path, train_per: int = 8, test_per: int = 4, seed: int = 0) -> None:
    """Three classes of tinted noise, PNG and JPEG mixed."""
    rng = np.random.default_rng(seed)
    for split, count in (("train", train_per), ("test", test_per)):
        for c, colour in enumerate(COLOURS):
            folder = root / split / f"class{c}"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                pixels = np.clip(np.array(colour) + rng.normal(0, 40, (32, 32, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.{'png' if i % 2 else 'jpg'}")


def data_cfg(root: Path, loader: str = "cache") -> DataSection:
    return DataSection(name="imagefolder", root=str(root), loader=loader)


def cache_files(root: Path) -> list[Path]:
    return sorted((root / CACHE_DIR).glob("*.npz"))


def test_cache_holds_the_decoded_images_and_is_reused_until_a_file_changes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    write_tree(tmp_path)
    bundle = build_datasets(data_cfg(tmp_path), 32, augment=False)
    assert isinstance(bundle.train, CachedImages) and len(bundle.train) == 24 and len(bundle.test) == 12
    assert bundle.classes == ["class0", "class1", "class2"] and "tensor cache" in bundle.description
    first = Path(sorted((tmp_path / "train" / "class1").iterdir())[0])
    index = [i for i, lab in enumerate(bundle.train.labels.tolist()) if lab == 1][0]
    decoded = torch.from_numpy(np.array(Image.open(first).convert("RGB"))).permute(2, 0, 1)
    assert torch.equal(bundle.train.images[index], decoded)
    assert "decoding 24 images" in capsys.readouterr().err
    stamps = {p: p.stat().st_mtime_ns for p in cache_files(tmp_path)}
    assert len(stamps) == 2

    again = build_datasets(data_cfg(tmp_path), 32, augment=False)
    assert "decoding" not in capsys.readouterr().err  # reused: nothing decoded
    assert torch.equal(again.train.images, bundle.train.images) and torch.equal(again.train.labels, bundle.train.labels)
    assert {p: p.stat().st_mtime_ns for p in cache_files(tmp_path)} == stamps

    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path / "train" / "class2" / "new.png")
    changed = build_datasets(data_cfg(tmp_path), 32, augment=False)
    assert "decoding 25 images" in capsys.readouterr().err and len(changed.train) == 25
    os.utime(first, ns=(1, 1))  # touched: rebuilt too
    build_datasets(data_cfg(tmp_path), 32, augment=False)
    assert "decoding 25 images" in capsys.readouterr().err
    assert not list((tmp_path / CACHE_DIR).glob("*.tmp"))  # written by rename, nothing left half-way


def test_a_planted_cache_is_never_executed_only_rebuilt(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    write_tree(tmp_path, train_per=2, test_per=2)
    build_datasets(data_cfg(tmp_path), 32)
    marker = tmp_path / "owned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    target = [p for p in cache_files(tmp_path) if "train" in p.name][0]
    with np.load(target, allow_pickle=False) as archive:
        manifest = bytes(archive["manifest"])
    buffer = io.BytesIO()
    np.savez(buffer, images=np.array([Payload()], dtype=object), labels=np.zeros(1, np.int64), manifest=np.frombuffer(manifest, np.uint8))
    target.write_bytes(buffer.getvalue())
    bundle = build_datasets(data_cfg(tmp_path), 32)
    assert not marker.exists() and len(bundle.train) == 6
    assert "unreadable tensor cache" in capsys.readouterr().err
    target.write_bytes(pickle.dumps(Payload()))  # not even a zip
    assert len(build_datasets(data_cfg(tmp_path), 32).train) == 6 and not marker.exists()
    meta = json.loads(bytes(np.load(target, allow_pickle=False)["manifest"]).decode())
    assert meta["count"] == 6 and meta["source"] == "imagefolder" and len(meta["fingerprint"]) == 64


def test_a_root_that_cannot_hold_the_cache_folder_caches_in_the_users_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "tree"
    write_tree(root, train_per=2, test_per=2)
    (root / CACHE_DIR).write_text("a file where the cache folder would go\n")  # as a read-only root, even for root
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    bundle = build_datasets(data_cfg(root), 32)
    assert len(bundle.train) == 6 and len(list((tmp_path / "xdg" / "hanna-tui").rglob("*.npz"))) == 2


def test_bad_loader_name_is_one_clear_error(tmp_path: Path) -> None:
    write_tree(tmp_path, train_per=1, test_per=1)
    with pytest.raises(UserError, match="data.loader: unknown loader 'fast'"):
        build_datasets(data_cfg(tmp_path, "fast"), 32)


def test_batch_augmentation_is_a_padded_crop_a_flip_and_normalisation() -> None:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (16, 3, 8, 8), dtype=torch.uint8, generator=g)
    plain = augment_batch(images, Augment())
    mean, std = torch.tensor(Augment().mean).view(1, 3, 1, 1), torch.tensor(Augment().std).view(1, 3, 1, 1)
    assert torch.allclose(plain, (images.float() / 255 - mean) / std, atol=1e-6)

    out = augment_batch(images, Augment(padding=2, flip=True), torch.Generator().manual_seed(1))
    padded = torch.nn.functional.pad(images, (2, 2, 2, 2)).float() / 255
    flips = 0
    for b in range(16):
        target = out[b] * std[0] + mean[0]
        windows = [padded[b, :, y : y + 8, x : x + 8] for y in range(5) for x in range(5)]
        plain_hit = any(torch.allclose(target, w, atol=1e-5) for w in windows)
        flip_hit = any(torch.allclose(target, w.flip(2), atol=1e-5) for w in windows)
        assert plain_hit or flip_hit
        flips += flip_hit and not plain_hit
    assert 0 < flips < 16  # both ways occur
    again = augment_batch(images, Augment(padding=2, flip=True), torch.Generator().manual_seed(1))
    assert torch.equal(out, again)  # a seed decides the batch

    holes = augment_batch(torch.full((64, 3, 8, 8), 255, dtype=torch.uint8), Augment(cutout=4), torch.Generator().manual_seed(2))
    zeros = (holes == 0).all(dim=1).sum(dim=(1, 2))
    assert zeros.max() == 16 and zeros.min() >= 4  # a 4x4 square, clipped at the borders


def test_cache_loader_shards_and_repeats_per_epoch() -> None:
    cache = CachedImages(torch.zeros(20, 3, 4, 4, dtype=torch.uint8), torch.arange(20), ["a"], Augment())
    whole = CacheLoader(cache, None, 4, shuffle=True, drop_last=True, seed=3)
    assert len(whole) == 5
    epoch0 = [lab.tolist() for _, lab in whole]
    assert sorted(sum(epoch0, [])) == list(range(20)) and epoch0 == [lab.tolist() for _, lab in whole]
    whole.set_epoch(1)
    assert [lab.tolist() for _, lab in whole] != epoch0
    ranks = [CacheLoader(cache, None, 3, shuffle=True, drop_last=True, seed=3, rank=r, world_size=2) for r in range(2)]
    seen = [sum((lab.tolist() for _, lab in loader), []) for loader in ranks]
    assert len(ranks[0]) == 3 and not set(seen[0]) & set(seen[1])
    view = CacheLoader(cache, torch.tensor([5, 6, 7]), 8, shuffle=False, drop_last=False)
    assert [lab.tolist() for _, lab in view] == [[5, 6, 7]]


def test_search_iteration_over_a_cache_resumes_with_the_same_augmented_batches(tmp_path: Path) -> None:
    write_tree(tmp_path, train_per=10, test_per=2)
    bundle = build_datasets(data_cfg(tmp_path), 32, augment=True, cutout=8)
    train, val = split_train_val(bundle.train, 0.2, seed=0)
    cache, mapping = cached_view(train)
    assert cache is bundle.train and mapping is not None and len(mapping) == 24
    plan = data_iter.batch_plan(len(train), 5, seed=0, epoch=1, phase=1)
    full = list(data_iter.iterate(train, plan))
    resumed = list(data_iter.iterate(train, plan, start=2))
    assert len(full) == 5 and len(resumed) == 3
    for (a, la), (b, lb) in zip(full[2:], resumed, strict=True):
        assert torch.equal(a, b) and torch.equal(la, lb)
    expected = bundle.train.labels[mapping[torch.tensor(plan[0])]]
    assert torch.equal(full[0][1], expected)
    assert full[0][0].dtype == torch.float32 and full[0][0].shape == (5, 3, 32, 32)


def _train_top1(tmp_path: Path, root: Path, loader: str) -> float:
    cfg = TrainConfig(epochs=8, batch_size=8, lr=0.1, warmup_epochs=0.5, threads=1, workers=0, log_interval=100, cutout=8)
    cfg.data = data_cfg(root, loader)
    spec = ModelSpec("childnet", 3, arch={"space": "fbnet-cifar10", "width_mult": 0.25, "num_classes": 3, "choices": CHOICES})
    result = Trainer(tmp_path / f"out-{loader}", spec, cfg).run()
    assert result.state == "done" and result.epochs_done == 8
    return float(result.top1)


def test_short_training_on_the_cache_matches_the_dataloader_path(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    write_tree(root, train_per=16, test_per=8)
    cached = _train_top1(tmp_path, root, "cache")
    loaded = _train_top1(tmp_path, root, "dataloader")
    assert cached >= 0.75 and loaded >= 0.75 and abs(cached - loaded) <= 0.25  # 24 test images: within noise
