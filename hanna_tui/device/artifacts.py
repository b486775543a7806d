"""What the host builds for the board's runtime: TorchScript, ONNX, int8 ONNX (static quantization), int8 TorchScript.

ONNX boards get every block (profile) or the whole model (deploy) exported here with torch.onnx and
run there by ONNX Runtime alone. int8 uses post-training static quantization calibrated on a few
images: onnxruntime.quantization.quantize_static (QDQ, per-channel weights) for ONNX, torch's FX graph
mode quantization for TorchScript.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UserError

RUNTIMES = ("torch", "onnxruntime")
PRECISIONS = ("fp32", "int8")
CALIBRATION_IMAGES = 8


@dataclass
class Artifact:
    path: Path
    input_shape: list[int]
    sha256: str
    format: str  # torchscript | onnx

    @property
    def suffix(self) -> str:
        return ".onnx" if self.format == "onnx" else ".ts"


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_runtime(runtime: str, precision: str) -> None:
    if runtime not in RUNTIMES:
        raise UserError(f"--runtime {runtime!r}: expected one of {', '.join(RUNTIMES)}")
    if precision not in PRECISIONS:
        raise UserError(f"--precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
    if runtime == "onnxruntime":
        _need_onnx()


def _need_onnx() -> None:
    from ..export import onnx_available

    if not onnx_available():
        raise UserError("--runtime onnxruntime: exporting ONNX on this machine needs onnx and onnxruntime (pip install 'hanna-tui[onnx]')")


def random_inputs(shape: list[int], count: int = CALIBRATION_IMAGES, seed: int = 0) -> list[Any]:
    import torch

    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(*shape, generator=gen) for _ in range(count)]


def export_model(
    model: Any,
    input_shape: list[int],
    folder: Path,
    runtime: str,
    precision: str,
    calibration: list[Any] | None = None,
    name: str = "model",
) -> Artifact:
    """The model in the runtime's format (int8: quantized with the calibration inputs, else random ones)."""
    from ..export import export_onnx, export_torchscript

    folder.mkdir(parents=True, exist_ok=True)
    calibration = calibration or random_inputs(input_shape)
    if runtime == "onnxruntime":
        path = export_onnx(model, input_shape, folder / f"{name}.fp32.onnx")
        if precision == "int8":
            path = quantize_onnx(path, folder / f"{name}.onnx", calibration)
        else:
            path = path.rename(folder / f"{name}.onnx")
        return Artifact(path, list(input_shape), sha256_file(path), "onnx")
    if precision == "int8":
        model = quantize_torch(model, calibration)
    path = export_torchscript(model, input_shape, folder / f"{name}.ts")
    return Artifact(path, list(input_shape), sha256_file(path), "torchscript")


class _Reader:
    """onnxruntime.quantization's CalibrationDataReader over a list of tensors."""

    def __init__(self, name: str, inputs: Iterable[Any]) -> None:
        self.name = name
        self.items = iter([x.detach().cpu().numpy() for x in inputs])

    def get_next(self) -> dict[str, Any] | None:
        value = next(self.items, None)
        return None if value is None else {self.name: value}


def quantize_onnx(src: Path, dst: Path, calibration: list[Any]) -> Path:
    """Static int8 (QDQ, per-channel weights) calibrated on the inputs; src is removed."""
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    ort.set_default_logger_severity(3)  # no warnings about initializers the pre-processing removed
    prepared = src.with_name(src.stem + ".pre.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            quant_pre_process(str(src), str(prepared), skip_symbolic_shape=True)
        except Exception:  # noqa: BLE001 - pre-processing is an optimisation; quantize the plain export then
            prepared.write_bytes(src.read_bytes())
    name = ort.InferenceSession(str(prepared), providers=["CPUExecutionProvider"]).get_inputs()[0].name
    reader = _Reader(name, calibration)
    CalibrationDataReader.register(_Reader)
    quantize_static(
        str(prepared),
        str(dst),
        reader,
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
    )
    src.unlink(missing_ok=True)
    prepared.unlink(missing_ok=True)
    return dst


def quantize_torch(model: Any, calibration: list[Any]) -> Any:
    """torch FX post-training static int8 (qnnpack engine: what ARM boards run; it runs on x86 too)."""
    import torch
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    engines = torch.backends.quantized.supported_engines
    engine = "qnnpack" if "qnnpack" in engines else engines[-1]
    torch.backends.quantized.engine = engine
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = prepare_fx(model.eval().float().cpu(), get_default_qconfig_mapping(engine), (calibration[0],))
        with torch.no_grad():
            for x in calibration:
                prepared(x)
        return convert_fx(prepared)


def block_archive(space: Any, keys: list[str], folder: Path, precision: str) -> Artifact:
    """One tar of ONNX files, one per block key ('stem', 'head', 'L,C'), for the agent's onnxruntime blocks job."""
    from ..space.blocks import build_head, build_layer_block, build_stem

    _need_onnx()
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for key in keys:
            if key == "stem":
                module, shape, name = build_stem(space), [1, 3, space.input_size, space.input_size], "stem"
            elif key == "head":
                last = space.layers[-1]
                module, shape, name = build_head(space), [1, last.c_out, last.output_hw, last.output_hw], "head"
            else:
                layer_index, cand = (int(v) for v in key.split(","))
                layer = space.layers[layer_index]
                module, shape, name = (
                    build_layer_block(space, layer_index, cand),
                    [1, layer.c_in, layer.input_hw, layer.input_hw],
                    f"{layer_index}_{cand}",
                )
            art = export_model(module.eval(), shape, folder / "parts", "onnxruntime", precision, name=name)
            info = tarfile.TarInfo(f"{name}.onnx")
            data = art.path.read_bytes()
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            art.path.unlink()
    path = folder / "blocks.tar"
    path.write_bytes(buffer.getvalue())
    return Artifact(path, [], sha256_file(path), "onnx-archive")
