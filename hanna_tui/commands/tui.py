"""hanna-tui tui (and hanna-tui with no arguments): the Textual dashboard."""

from __future__ import annotations

import os

from ..errors import UserError


def register(sub) -> None:
    p = sub.add_parser("tui", help="open the dashboard")
    p.add_argument("--root", default=None, help="runs directory (default: $HANNA_RUNS or runs/)")
    p.add_argument("--profiles", default=None, help="profiles directory (default: $HANNA_PROFILES, ./profiles or the shipped ones)")
    p.add_argument("--light", action="store_true", help="start in the light theme")
    p.add_argument("--config", default=None, help="search config TOML the knobs screen starts from (default: the embedded demo)")
    p.set_defaults(func=open_dashboard)


def open_dashboard(args) -> int:
    # Textual repaints on a frame clock; 120 frames/s halves the wait between a keystroke's
    # update and its repaint (measured in bench/tui_latency.py). Set before textual is imported.
    os.environ.setdefault("TEXTUAL_FPS", "120")
    try:
        from ..tui.app import DARK, LIGHT, HannaApp
    except ImportError as exc:  # pragma: no cover - textual is a dependency
        raise UserError(f"the dashboard needs textual ({exc}); install with `pip install textual textual-plotext`") from None
    base = None
    if getattr(args, "config", None):
        from ..config import load_config

        base = load_config(args.config)
    app = HannaApp(
        base_config=base,
        runs_root=getattr(args, "root", None),
        profiles=getattr(args, "profiles", None),
        theme=LIGHT if getattr(args, "light", False) else DARK,
    )
    app.run()
    return int(app.return_code or 0)
