"""The core never imports textual: only hanna_tui.tui and hanna_tui.commands.tui may."""

from __future__ import annotations

import subprocess
import sys

CORE = ["space", "profiles", "cost", "store", "config", "theta", "sampling", "cli", "fsutil", "tomlio", "errors"]


def test_core_does_not_import_textual() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {CORE!r}:\n"
        "    importlib.import_module('hanna_tui.' + name)\n"
        "from hanna_tui.cli import build_parser\n"
        "build_parser(load=['knobs', 'runs', 'sample'])\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.') or m.startswith('textual_plotext'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"core imported textual: {out.stdout.strip()[:300]}"


def test_tui_helpers_without_textual_stay_pure() -> None:
    """The dashboard's data helpers (run index, launch, history rows) also work without textual."""
    code = (
        "import sys\n"
        "import hanna_tui.tui.runindex, hanna_tui.tui.launch, hanna_tui.tui.presets, hanna_tui.tui.history\n"
        "print('textual' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
