"""Runtimes: ONNX Runtime on a 'board' whose python has only numpy + onnxruntime (no torch), int8 for both
runtimes checked against fp32 on real images, and like-with-like predictions beside the measurement."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest
import torch
from test_device_e2e import TINY, make_run  # noqa: E402 - tests/device is on sys.path (no package)

from hanna_tui.cli import main
from hanna_tui.data import synthetic_dataset
from hanna_tui.device.artifacts import export_model
from hanna_tui.profiles import load_profile
from hanna_tui.space import get_space
from hanna_tui.space.blocks import ChildNet

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

INT8_REL_L2 = 0.10  # ||int8 - fp32|| / ||fp32|| of the logits on real images
INT8_TOP1 = 0.9  # share of images whose top-1 class int8 and fp32 agree on


@pytest.fixture(scope="module")
def ort_python(tmp_path_factory) -> str:
    """A virtualenv whose only packages are numpy and onnxruntime (linked from this venv's site-packages)."""
    root = tmp_path_factory.mktemp("ort-board")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(sysconfig.get_paths()["purelib"])
    only = root / "only-numpy-onnxruntime"
    only.mkdir()
    for entry in site.iterdir():
        name = entry.name.lower()
        if name.startswith(("numpy", "onnxruntime")) and not name.startswith("onnxruntime_"):
            (only / entry.name).symlink_to(entry)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True, check=True
    ).stdout.strip()
    Path(purelib, "numpy_onnxruntime_only.pth").write_text(f"{only}\n")
    assert subprocess.run([str(python), "-c", "import numpy, onnxruntime"], capture_output=True).returncode == 0
    assert subprocess.run([str(python), "-c", "import torch"], capture_output=True).returncode != 0
    return str(python)


def cli(args: list[str], capsys) -> tuple[int, str, str]:
    rc = main(args)
    out, err = capsys.readouterr()
    return rc, out, err


def test_profile_and_deploy_with_onnxruntime_on_a_board_without_torch(ort_python, tmp_path, capsys, monkeypatch):
    folder = tmp_path / "profiles"
    monkeypatch.setenv("HANNA_PROFILES", str(folder))
    out = folder / "local-ort.toml"
    rc, _, err = cli(
        [
            "profile",
            "--target",
            "local",
            "--runtime",
            "onnxruntime",
            "--remote-python",
            ort_python,
            "--width-mult",
            "0.25",
            "--out",
            str(out),
            *TINY,
            "--calib-networks",
            "3",
        ],
        capsys,
    )
    assert rc == 0, err
    profile = load_profile(out)
    assert profile.runtime.label == "onnxruntime" and profile.runtime.threads == 1
    assert profile.provenance["runtime"] == f"onnxruntime {ort.__version__}" and profile.provenance["torch"] == ""
    assert profile.calibration["method"] == "per-candidate" and len(profile.calibration["networks_ms"]) == 3
    run = make_run(tmp_path / "runs")
    base = ["deploy", str(run.path), "--target", "local", "--remote-python", ort_python, "--runtime", "onnxruntime", "--json", *TINY]
    rc, stdout, err = cli(base, capsys)
    assert rc == 0, err
    result = json.loads(stdout)
    assert result["measured"]["runtime"] == "onnxruntime" and result["measured"]["latency_s"] > 0
    assert result["model"]["format"] == "onnx" and result["board"]["onnxruntime"] == ort.__version__
    predicted = result["predicted"]
    assert predicted["profile"] == str(out) and predicted["calibrated"] is True and predicted["latency_s"] > 0
    # two of the profile's calibration networks measured beside the model: the prediction at today's speed
    speed = predicted["speed"]
    assert len(speed["references"]) == 2 and (speed["clock"], speed["statistic"]) == ("wall", "p50")
    assert {r["choices"] for r in speed["references"]} <= set(profile.calibration["networks"])
    ratios = [r["now_s"] / r["profiled_s"] for r in speed["references"]]
    assert speed["factor"] == pytest.approx(math.sqrt(ratios[0] * ratios[1]))
    assert predicted["latency_s"] == pytest.approx(predicted["latency_as_profiled_s"] * speed["factor"])
    assert "2 reference networks of the profile ran" in predicted["note"] and f"x{speed['factor']:.3f}" in predicted["note"]
    rc, stdout, err = cli([*base, "--precision", "int8"], capsys)
    assert rc == 0, err
    result = json.loads(stdout)
    assert result["measured"]["runtime"] == "onnxruntime-int8" and result["model"]["precision"] == "int8"
    assert "synthetic images" in result["model"]["int8_calibration"] or "random" in result["model"]["int8_calibration"]
    # no int8 profile of this machine: no prediction, and the command that makes one
    assert result["predicted"]["latency_s"] is None and "--runtime onnxruntime --precision int8" in result["predicted"]["note"]


def test_torch_runtime_on_a_board_without_torch_says_what_to_install(ort_python, tmp_path, capsys):
    run = make_run(tmp_path / "runs")
    rc, _, err = cli(["deploy", str(run.path), "--target", "local", "--remote-python", ort_python, *TINY], capsys)
    lines = [line for line in err.splitlines() if line.startswith("hanna-tui:")]
    assert rc == 2 and len(lines) == 1 and "torch is not installed" in lines[0] and "pip install torch" in lines[0], err


def test_agent_names_the_missing_runtime_in_one_line(ort_python):
    from hanna_tui.device.runner import AGENT_FILE

    job = {"mode": "model", "model_path": "x.ts", "input_shape": [1, 3, 32, 32], "bench": {"runtime": "torch"}}
    res = subprocess.run([ort_python, str(AGENT_FILE)], input=json.dumps(job), capture_output=True, text=True, timeout=60)
    doc = json.loads(res.stdout.strip().splitlines()[-1])
    assert res.returncode == 4 and doc["kind"] == "import"
    assert "torch is missing" in doc["error"] and "pip install torch" in doc["error"] and "\n" not in doc["error"]


@pytest.mark.parametrize("runtime", ["onnxruntime", "torch"])
def test_int8_agrees_with_fp32_on_real_images(runtime, tmp_path):
    """Static int8 (calibrated on 8 images) against float32 on 48 other images of the generated data set."""
    space = get_space("fbnet-cifar10", 0.25)
    torch.manual_seed(0)
    net = ChildNet(space, [layer.allowed[(i * 5) % len(layer.allowed)] for i, layer in enumerate(space.layers)])
    images = torch.stack([synthetic_dataset(56, 10, 32, seed=1234, split_seed=0)[i][0] for i in range(56)])
    with torch.no_grad():  # BatchNorm statistics of real images, so activations have a realistic range
        net.train()(images)
    net.eval()
    with torch.no_grad():
        reference = net(images[8:]).numpy()
    art = export_model(net, [1, 3, 32, 32], tmp_path, runtime, "int8", [images[i : i + 1] for i in range(8)])
    if runtime == "onnxruntime":
        session = ort.InferenceSession(str(art.path), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        quantized = np.concatenate([session.run(None, {name: images[i : i + 1].numpy()})[0] for i in range(8, 56)])
        assert any(node.op_type == "QuantizeLinear" for node in __import__("onnx").load(str(art.path)).graph.node)
    else:
        model = torch.jit.load(str(art.path))
        with torch.no_grad():
            quantized = np.concatenate([model(images[i : i + 1]).numpy() for i in range(8, 56)])
        assert "quantized" in str(model.graph) or "quantized" in str(model.code)
    rel = np.linalg.norm(quantized - reference) / np.linalg.norm(reference)
    top1 = float((quantized.argmax(1) == reference.argmax(1)).mean())
    assert rel <= INT8_REL_L2 and top1 >= INT8_TOP1, (rel, top1)
    assert rel > 0  # it really is a different (quantized) computation
