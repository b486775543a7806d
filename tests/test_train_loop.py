"""Training childnets and baselines: resume, SIGTERM, ImageFolder class counts, the run store, CLI errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from hanna_tui.cli import main
from hanna_tui.fsutil import atomic_write_json, read_json
from hanna_tui.models import ModelSpec, load_run_model, spec_for_run, train_dir
from hanna_tui.store import Run, create_run, find_run, list_runs, summarize
from hanna_tui.train import TrainConfig, Trainer
from hanna_tui.train.recipe import lr_at, param_groups

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
TINY = ["--threads", "1", "--workers", "0", "--quiet", "--warmup-epochs", "0", "--batch-size", "16"]


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def search_run(root: Path, name: str = "child") -> Run:
    run = create_run(name, "search", root)
    atomic_write_json(
        run.arch_path,
        {
            "space": "fbnet-cifar10",
            "width_mult": 0.25,
            "num_classes": 10,
            "choices": CHOICES,
            "predicted": {"latency_s": 2.5, "energy_j": 9.0},
        },
    )
    return run


def tiny_config(epochs: int) -> TrainConfig:
    cfg = TrainConfig(epochs=epochs, batch_size=16, lr=0.05, warmup_epochs=0.5, threads=1, workers=0, log_interval=2)
    cfg.data.name = "synthetic"
    cfg.data.synthetic_train, cfg.data.synthetic_test = 64, 32
    return cfg


def test_stopped_training_resumes_to_the_same_weights_as_an_uninterrupted_one(isolated_runs_root: Path) -> None:
    spec = spec_for_run(search_run(isolated_runs_root))
    straight = Trainer(isolated_runs_root / "straight", spec, tiny_config(2)).run()
    assert straight.state == "done" and straight.epochs_done == 2

    holder: dict[str, Trainer] = {}

    def stop_after_first_epoch(line: str) -> None:
        if line.startswith("epoch 1/"):
            holder["t"].stop.signal = signal.SIGTERM

    holder["t"] = Trainer(
        isolated_runs_root / "split", spec_for_run(search_run(isolated_runs_root, "b")), tiny_config(2), progress=stop_after_first_epoch
    )
    first = holder["t"].run()
    split = Run(isolated_runs_root / "split")
    assert first.state == "cancelled" and split.status()["state"] == "cancelled" and "SIGTERM" in split.status()["error"]
    assert torch.load(split.path / "checkpoint.pt", weights_only=True)["epoch"] == 1
    lines: list[str] = []
    second = Trainer(split.path, spec, tiny_config(2), progress=lines.append).run()
    assert second.state == "done" and lines[0] == "resuming after epoch 1/2"
    a = torch.load(isolated_runs_root / "straight" / "model.pt", weights_only=True)["state_dict"]
    b = torch.load(split.path / "model.pt", weights_only=True)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert [r["epoch"] for r in split.metrics("epoch")] == [1, 2]
    assert split.status()["state"] == "done" and split.status()["top1"] == second.top1


def test_sigterm_saves_a_checkpoint_and_marks_the_training_cancelled(isolated_runs_root: Path) -> None:
    run = search_run(isolated_runs_root)
    cmd = [
        sys.executable,
        "-m",
        "hanna_tui",
        "train",
        str(run.path),
        "--data",
        "synthetic",
        "--subset",
        "48",
        "--test-subset",
        "16",
        "--epochs",
        "500",
        *TINY,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    status_path = run.path / "train" / "status.json"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if (read_json(status_path, {}) or {}).get("epoch", 0) >= 1:
            break
        time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()[1]
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    status = read_json(status_path)
    assert status["state"] == "cancelled" and status["pid"] == proc.pid
    saved = torch.load(run.path / "train" / "checkpoint.pt", weights_only=True)
    assert saved["epoch"] >= 1 and saved["config"]["epochs"] == 500


def _write_tree(root: Path, classes: int, train_per: int, test_per: int) -> None:
    from PIL import Image

    g = torch.Generator().manual_seed(0)
    for split, count in (("train", train_per), ("test", test_per)):
        for c in range(classes):
            folder = root / split / f"class_{c}"
            folder.mkdir(parents=True)
            for i in range(count):
                base = torch.zeros(3, 32, 32)
                base[c % 3] = 0.8
                pixels = (base + 0.2 * torch.rand(3, 32, 32, generator=g)).clamp(0, 1).mul(255).byte().permute(1, 2, 0)
                Image.fromarray(pixels.numpy()).save(folder / f"{i}.jpg")


def test_train_command_on_an_imagefolder_tree_uses_its_class_count(
    isolated_runs_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    tree = tmp_path / "tree"
    _write_tree(tree, classes=3, train_per=12, test_per=4)
    run = search_run(isolated_runs_root)
    args = ["train", run.id, "--data", "imagefolder", "--data-root", str(tree), "--epochs", "2", "--log-interval", "1", "--json", *TINY]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    status = run.train_status()
    assert status["state"] == "done" and status["num_classes"] == 3 and status["epoch"] == 2
    assert status["top1"] == result["top1"] and 0 <= status["top1"] <= 1
    assert status["params"] == result["params"] > 0 and status["macs"] == result["macs"] > 0
    summary = summarize(run)
    assert (summary.top1, summary.params, summary.macs) == (status["top1"], status["params"], status["macs"])
    assert summary.pred_latency_s == 2.5  # the profile's prediction stays beside the counted costs
    epochs = run.metrics("epoch") or Run(train_dir(run)).metrics("epoch")
    assert [r["epoch"] for r in epochs] == [1, 2]
    assert {"kind", "epoch", "loss", "acc", "top1", "lr", "images_per_s", "time"} <= set(epochs[-1])
    assert any(r["kind"] == "interval" for r in Run(train_dir(run)).metrics())
    model, shape = load_run_model(run)
    assert shape == [1, 3, 32, 32] and not model.training
    assert model(torch.zeros(shape)).shape == (1, 3)
    assert main(["train", run.id]) == 2  # already trained: nothing is overwritten without --restart
    assert "already trained" in capsys.readouterr().err


def test_baselines_are_runs_with_counted_costs(isolated_runs_root: Path, capsys: pytest.CaptureFixture) -> None:
    from hanna_tui.baselines.condensenet import CondensedGroupConv

    data = ["--data", "synthetic", "--subset", "32", "--test-subset", "16", "--epochs", "1", *TINY]
    assert main(["baseline", "mobilenetv2", *data]) == 0
    assert main(["baseline", "condensenet", "--variant", "86", *data]) == 0
    runs = {r.name: r for r in list_runs(isolated_runs_root)}
    assert set(runs) == {"mobilenetv2", "condensenet-86"}
    mb, cn = runs["mobilenetv2"], runs["condensenet-86"]
    assert mb.kind == cn.kind == "baseline" and mb.state == cn.state == "done"
    assert mb.params == 2_236_682 and cn.params == 520_202
    assert mb.macs and cn.macs and mb.top1 is not None and cn.top1 is not None
    meta = find_run(cn.id).meta()
    assert meta["model"] == "condensenet" and meta["variant"] == "86"
    model, shape = load_run_model(find_run(cn.id))
    assert any(isinstance(m, CondensedGroupConv) for m in model.modules())
    assert model(torch.zeros(shape)).shape == (1, 10)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["baseline", "mobilenetv2", "--variant", "74"], "only condensenet"),
        (["baseline", "mobilenetv2", "--epochs", "0"], "--epochs"),
        (["train", "RUN", "--resume", "--data", "synthetic"], "no checkpoint"),
        (["train", "NOARCH"], "arch.json"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str, isolated_runs_root: Path, capsys: pytest.CaptureFixture) -> None:
    run = search_run(isolated_runs_root)
    bare = create_run("bare", "search", isolated_runs_root)
    args = [str(run.path) if a == "RUN" else str(bare.path) if a == "NOARCH" else a for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_recipe_file_is_validated_and_flags_override_it(tmp_path: Path, isolated_runs_root: Path, capsys: pytest.CaptureFixture) -> None:
    from argparse import Namespace

    from hanna_tui.commands.train import config_from_args
    from hanna_tui.config import DataSection

    good = tmp_path / "recipe.toml"
    good.write_text('[train]\nepochs = 7\nlr = 0.2\n[data]\nname = "synthetic"\n')
    args = Namespace(config=str(good), epochs=3, no_amp=False, no_channels_last=True)
    cfg = config_from_args(args, DataSection())
    assert (cfg.epochs, cfg.lr, cfg.data.name, cfg.channels_last) == (3, 0.2, "synthetic", False)
    bad = tmp_path / "bad.toml"
    bad.write_text("[train]\nepochz = 7\n")
    assert main(["baseline", "mobilenetv2", "--config", str(bad)]) == 2
    assert "bad.toml: train.epochz: unknown key" in capsys.readouterr().err


def test_lr_schedule_and_weight_decay_groups() -> None:
    cfg = TrainConfig(epochs=10, lr=0.1, warmup_epochs=2)
    assert lr_at(cfg, 0, 100) == pytest.approx(0.001)
    assert lr_at(cfg, 100, 100) == pytest.approx(0.0505)
    assert lr_at(cfg, 200, 100) == pytest.approx(0.1)
    assert lr_at(cfg, 600, 100) == pytest.approx(0.05)
    assert lr_at(cfg, 1000, 100) == pytest.approx(0.0, abs=1e-12)
    from hanna_tui.models import build_model

    model = build_model(ModelSpec("mobilenetv2"))
    decay, no_decay = param_groups(model, 5e-4)
    assert all(p.ndim > 1 for p in decay["params"]) and all(p.ndim == 1 for p in no_decay["params"])
    assert no_decay["weight_decay"] == 0 and len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))


def test_short_runs_warm_up_for_a_fraction_of_the_run_and_end_near_zero() -> None:
    from hanna_tui.train.recipe import warmup_steps

    cfg = TrainConfig(epochs=2)  # the default 5 warm-up epochs would outlast the run
    steps = 391
    warm = warmup_steps(cfg, steps)
    assert 0 < warm <= 0.2 * 2 * steps
    lrs = [lr_at(cfg, s, steps) for s in range(2 * steps)]
    assert max(lrs) == pytest.approx(cfg.lr) and lrs.index(max(lrs)) == warm
    assert lrs[-1] < 1e-3 * cfg.lr and lrs[0] == pytest.approx(cfg.lr / 100)
    assert warmup_steps(TrainConfig(epochs=120), steps) == 5 * steps  # long runs keep the 5 epochs
    scaled = TrainConfig(epochs=2, batch_size=512, lr=0.1, lr_base_batch=128)
    assert max(lr_at(scaled, s, 98) for s in range(196)) == pytest.approx(0.4)


def test_training_with_ema_and_cutout_evaluates_and_saves_the_average_and_resumes_it(isolated_runs_root: Path) -> None:
    spec = spec_for_run(search_run(isolated_runs_root))
    cfg = tiny_config(2)
    cfg.ema, cfg.cutout = 0.9, 8
    holder: dict[str, Trainer] = {}

    def stop_after_first_epoch(line: str) -> None:
        if line.startswith("epoch 1/"):
            holder["t"].stop.signal = signal.SIGTERM

    holder["t"] = Trainer(isolated_runs_root / "ema", spec, cfg, progress=stop_after_first_epoch)
    assert holder["t"].run().state == "cancelled"
    blob = torch.load(isolated_runs_root / "ema" / "checkpoint.pt", weights_only=True)
    assert blob["ema"]["updates"] == 4 and blob["ema"]["model"].keys() == blob["model"].keys()
    assert any(not torch.equal(blob["ema"]["model"][k], blob["model"][k]) for k in blob["model"])
    trainer = Trainer(isolated_runs_root / "ema", spec, tiny_config(2))
    result = trainer.run()
    assert result.state == "done" and trainer.cfg.ema == 0.9 and trainer.cfg.cutout == 8  # the checkpoint's recipe
    saved = torch.load(isolated_runs_root / "ema" / "model.pt", weights_only=True)["state_dict"]
    final = torch.load(isolated_runs_root / "ema" / "checkpoint.pt", weights_only=True)
    assert all(torch.equal(saved[k], final["ema"]["model"][k]) for k in saved)  # the averaged weights are the model
