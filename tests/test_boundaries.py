"""The layering, checked in fresh interpreters: the dashboard never loads torch, the core never loads textual."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

from search_support import REPO_ROOT, cli_env

import hanna_tui

OPTIONAL = ("onnx", "onnxruntime", "ray", "tensorboard", "matplotlib")  # extras: a module needing one may be absent


def imported(code: str) -> dict:
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=cli_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def core_modules() -> list[str]:
    names = [m.name for m in pkgutil.walk_packages(hanna_tui.__path__, "hanna_tui.")]
    return sorted(n for n in names if not n.startswith("hanna_tui.tui") and n != "hanna_tui.__main__")


def test_the_dashboard_does_not_import_torch() -> None:
    out = imported("import json, sys; import hanna_tui.tui.app; print(json.dumps({'torch': 'torch' in sys.modules}))")
    assert out == {"torch": False}


def test_the_core_does_not_import_textual() -> None:
    modules = core_modules()
    assert "hanna_tui.knobs" in modules and "hanna_tui.nas.search" in modules and "hanna_tui.cli" in modules
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ModuleNotFoundError as exc:\n"
        f"        if exc.name not in {OPTIONAL!r}:\n"
        "            raise\n"
        "print(json.dumps({'textual': sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))}))"
    )
    assert imported(code) == {"textual": []}
