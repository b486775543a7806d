"""Exports load in a fresh process with only torch (TorchScript) or onnxruntime (ONNX) and give the same logits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from test_train_loop import search_run  # noqa: E402 - tests/ is on sys.path
from torch import nn

from hanna_tui import export as export_mod
from hanna_tui.baselines.condensenet import condensenet
from hanna_tui.cli import main
from hanna_tui.errors import UserError
from hanna_tui.export import export_onnx, export_torchscript
from hanna_tui.space import candidate_index, get_space
from hanna_tui.space.blocks import ChildNet
from hanna_tui.store import create_run

INPUT = [1, 3, 32, 32]
# every candidate kind at least once (group convs with shuffle, 5x5, skip) at width 0.25
CHOICES = [
    "k3_e1",
    "k3_e1_g2",
    "k3_e3",
    "skip",
    "k5_e6",
    "k5_e1",
    "k5_e1_g2",
    "k5_e3",
    "skip",
    "k3_e6",
    "k3_e1",
    "k5_e1",
    "skip",
    "k3_e3",
    "k3_e1",
    "k5_e3",
    "skip",
    "k3_e1",
    "k5_e1",
    "k3_e3",
    "skip",
    "k3_e1",
]

TORCH_ONLY = """
import sys, torch
model = torch.jit.load(sys.argv[1])
x = torch.load(sys.argv[2])
torch.save(model(x).detach(), sys.argv[3])
assert not any(name.startswith("hanna_tui") for name in sys.modules), "imported the project"
"""

ORT_ONLY = """
import sys, numpy as np, onnxruntime as ort
session = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
x = np.load(sys.argv[2])
np.save(sys.argv[3], session.run(["logits"], {"input": x})[0])
assert "torch" not in sys.modules and not any(n.startswith("hanna_tui") for n in sys.modules)
"""


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _childnet() -> nn.Module:
    torch.manual_seed(0)
    model = ChildNet(get_space("fbnet-cifar10", 0.25), [candidate_index(n) for n in CHOICES])
    _randomize_bn(model)
    return model.eval()


def _randomize_bn(model: nn.Module) -> None:
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)


def _condensenet() -> nn.Module:
    torch.manual_seed(0)
    model = condensenet("86", 10)
    model.condense_to(3)
    _randomize_bn(model)
    return model.condensed().eval()


def _run_fresh(code: str, *args: str) -> None:
    env = {"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, cwd="/", timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.parametrize("build", [_childnet, _condensenet], ids=["childnet", "condensenet86"])
def test_torchscript_loads_with_torch_only_and_gives_the_same_logits(build, tmp_path: Path) -> None:
    model = build()
    path = export_torchscript(model, INPUT, tmp_path / "model.ts")
    x = torch.randn(2, 3, 32, 32)
    torch.save(x, tmp_path / "x.pt")
    _run_fresh(TORCH_ONLY, str(path), str(tmp_path / "x.pt"), str(tmp_path / "y.pt"))
    with torch.no_grad():
        expected = model(x)
    assert torch.allclose(torch.load(tmp_path / "y.pt"), expected, atol=1e-5, rtol=1e-4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.ts", "x.pt", "y.pt"]  # no temp files left


@pytest.mark.parametrize("build", [_childnet, _condensenet], ids=["childnet", "condensenet86"])
def test_onnx_loads_with_onnxruntime_only_and_gives_the_same_logits(build, tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    import numpy as np

    model = build()
    path = export_onnx(model, INPUT, tmp_path / "model.onnx")
    x = torch.randn(3, 3, 32, 32)  # another batch size than the export's: the batch axis is dynamic
    np.save(tmp_path / "x.npy", x.numpy())
    _run_fresh(ORT_ONLY, str(path), str(tmp_path / "x.npy"), str(tmp_path / "y.npy"))
    with torch.no_grad():
        expected = model(x).numpy()
    assert np.allclose(np.load(tmp_path / "y.npy"), expected, atol=1e-4, rtol=1e-3)


def test_onnx_export_without_onnx_is_a_clear_user_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export_mod, "onnx_available", lambda: False)
    with pytest.raises(UserError, match="optional onnx package"):
        export_onnx(_childnet(), INPUT, tmp_path / "model.onnx")
    assert not list(tmp_path.iterdir())


def test_export_command_writes_a_search_runs_childnet(isolated_runs_root: Path, capsys: pytest.CaptureFixture) -> None:
    run = search_run(isolated_runs_root, "exp")
    fmt = "both" if export_mod.onnx_available() else "torchscript"
    assert main(["export", run.id, "--format", fmt, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["input_shape"] == INPUT and result["trained"] is False and result["params"] > 0
    assert all(Path(p).is_file() and Path(p).parent == run.path / "export" for p in result["files"].values())


def test_export_command_on_a_run_without_arch_is_exit_2(isolated_runs_root: Path, capsys: pytest.CaptureFixture) -> None:
    run = create_run("noarch", "search", isolated_runs_root)
    assert main(["export", str(run.path)]) == 2
    assert "arch.json" in capsys.readouterr().err
