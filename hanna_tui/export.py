"""Export a model as TorchScript or ONNX, written atomically (temp file in the same folder + rename).

TorchScript loads with torch alone (torch.jit.load); ONNX with onnxruntime alone. onnx is an
optional dependency (pip install 'hanna-tui[onnx]'); without it export_onnx raises a UserError.
"""

from __future__ import annotations

import importlib.util
import io
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from .errors import UserError
from .fsutil import atomic_write_bytes

ONNX_OPSET = 17


def _atomic(path: str | os.PathLike, write: Callable[[io.BytesIO], None]) -> Path:
    """Serialise into memory, then write the bytes atomically (temp file + rename).

    Serialising into memory first keeps torch's C++ writers off the disk: torch.jit.save onto
    a full disk aborts the whole process instead of raising.
    """
    buffer = io.BytesIO()
    write(buffer)
    target = Path(path)
    atomic_write_bytes(target, buffer.getvalue())
    return target


def _example(model: nn.Module, input_shape: list[int] | tuple[int, ...]) -> torch.Tensor:
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    return torch.randn(*input_shape, device=device)


def export_torchscript(model: nn.Module, input_shape: list[int] | tuple[int, ...], path: str | os.PathLike) -> Path:
    """Trace the model (eval mode, float32) and save it; loads with torch.jit.load only."""
    model = model.eval().float()
    example = _example(model, input_shape)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit is deprecated upstream but is what torch-only boards run
        traced = torch.jit.trace(model, example)
        traced = torch.jit.freeze(traced)

    def write(buffer: io.BytesIO) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.jit.save(traced, buffer)

    return _atomic(path, write)


def onnx_available() -> bool:
    return importlib.util.find_spec("onnx") is not None


def export_onnx(model: nn.Module, input_shape: list[int] | tuple[int, ...], path: str | os.PathLike) -> Path:
    """Export to ONNX (opset 17, input "input", output "logits", dynamic batch)."""
    if not onnx_available():
        raise UserError("ONNX export needs the optional onnx package (pip install 'onnx>=1.16' 'onnxruntime>=1.18', or hanna-tui[onnx])")
    model = model.eval().float().cpu()
    example = _example(model, input_shape)

    def write(buffer: io.BytesIO) -> None:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                (example,),
                buffer,
                dynamo=False,  # the TorchScript-based exporter: needs onnx only, not onnxscript
                input_names=["input"],
                output_names=["logits"],
                dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                opset_version=ONNX_OPSET,
                do_constant_folding=True,
            )

    return _atomic(path, write)
