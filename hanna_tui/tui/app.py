"""The dashboard application: one mode per screen, switched with 1..5, F1..F5 or the command palette; ? lists the keys."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from ..config import SearchConfig
from .footer import SCREEN_KEYS
from .launch import Spawner, spawn_detached
from .paths import profiles_dir
from .runindex import RunIndex
from .screens.base import RunsPolled

DARK, LIGHT = "textual-dark", "textual-light"

SCREENS_HELP = {
    "knobs": "Knobs: set alpha, beta, gamma, delta and watch the dominance; launch a search",
    "runs": "Runs: live curves, theta heatmap and actions of each run",
    "history": "History: every run, sortable and filterable, Pareto view and comparison",
    "profiles": "Profiles: device lookup tables as heatmaps, with quirks",
    "deploy": "Deploy: run a childnet on a target and measure it",
}


def _lazy(module: str, name: str) -> Callable[[], Screen]:
    def make() -> Screen:
        import importlib

        return getattr(importlib.import_module(f"hanna_tui.tui.screens.{module}"), name)()

    return make


class HannaApp(App[int]):
    """hanna-tui: hardware-aware NAS dashboard."""

    TITLE = "hanna-tui"
    CSS_PATH = str(Path(__file__).parent / "app.tcss")
    MODES = {
        "knobs": _lazy("knobs", "KnobsScreen"),
        "runs": _lazy("runs", "RunsScreen"),
        "history": _lazy("history", "HistoryScreen"),
        "profiles": _lazy("profiles", "ProfilesScreen"),
        "deploy": _lazy("deploy", "DeployScreen"),
    }
    DEFAULT_MODE = "knobs"
    BINDINGS = [
        *(Binding(str(i), f"switch_mode('{mode}')", mode.capitalize(), group=SCREEN_KEYS) for i, mode in enumerate(SCREENS_HELP, 1)),
        *(Binding(f"f{i}", f"switch_mode('{mode}')", mode.capitalize(), show=False) for i, mode in enumerate(SCREENS_HELP, 1)),
        Binding("question_mark", "help", "Help"),
        Binding("j", "jobs", "Jobs", show=False),
        Binding("ctrl+t", "toggle_theme", "Theme", show=False),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self,
        runs_root: str | os.PathLike | None = None,
        profiles: str | os.PathLike | None = None,
        spawn: Spawner = spawn_detached,
        poll_s: float = 1.0,
        theme: str = DARK,
        base_config: SearchConfig | None = None,
        prebuild: bool = True,
    ) -> None:
        super().__init__()
        self.index = RunIndex(Path(runs_root) if runs_root else None)
        self.profiles_path = Path(profiles) if profiles else profiles_dir()
        self.spawn = spawn
        self.poll_s = poll_s
        self.children_procs: list[Any] = []
        self.jobs: list[Any] = []  # screens/jobs.Job: processes started from this dashboard
        self.theme = theme
        self.selected_run: str | None = None
        self.base_config = base_config
        self.prebuild = prebuild

    def on_mount(self) -> None:
        self._polling = False
        self._warmed = not self.prebuild
        self.set_interval(self.poll_s, self.poll_runs, name="poll-runs")
        self.poll_runs()

    def poll_runs(self) -> None:
        """Follow the run directories in a worker thread (the UI never waits on the disk)."""
        self.children_procs = [p for p in self.children_procs if p.poll() is None]
        self.watch_jobs()
        if self._polling:
            return
        self._polling = True
        self.run_worker(self._refresh_in_thread, thread=True, group="poll", exit_on_error=False)

    def _refresh_in_thread(self) -> None:
        try:
            changed = self.index.refresh()
        finally:
            self._polling = False
        self.call_from_thread(self.runs_polled, changed)

    def runs_polled(self, changed: bool) -> None:
        """Tell the visible screen when anything changed; let it poll its selected run."""
        if not self._warmed:
            self._warmed = True
            self.call_later(self.warm_up)
        self.screen.post_message(RunsPolled(changed))

    def warm_up(self) -> None:
        """Build the history and runs screens in the background once the index is loaded, so that
        opening them later is a switch, not a build (with 1,000 runs that is most of the cost)."""
        init_mode = getattr(self, "_init_mode", None)  # Textual's own mode set-up (8.x)
        stacks = getattr(self, "_screen_stacks", {})
        if init_mode is None:
            return
        for mode in ("history", "runs"):
            if mode not in stacks and mode != self.current_mode:
                try:
                    init_mode(mode)
                except Exception:  # noqa: BLE001 - a warm-up failure only costs speed later
                    return

    def ensure_index(self) -> RunIndex:
        if not self.index.entries:
            self.index.refresh(full=True)
        return self.index

    def watch_jobs(self) -> None:
        """A job seen ended runs its on_end once (the report says where index.md is, say)."""
        for job in self.jobs:
            try:
                job.check_end()
            except Exception as exc:  # noqa: BLE001 - a job's callback never breaks the polling
                self.notify(f"{job.label}: {type(exc).__name__}: {exc}", severity="error")

    def action_jobs(self) -> None:
        """The jobs started here (screens/jobs.JobsDialog): their states, enter stops one."""
        from .screens.jobs import JobsDialog

        if not isinstance(self.screen, JobsDialog):
            self.push_screen(JobsDialog(self.jobs))

    def track(self, proc: Any) -> None:
        if proc is not None and hasattr(proc, "poll"):
            self.children_procs.append(proc)

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT if self.theme == DARK else DARK

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for mode, text in SCREENS_HELP.items():
            title, _, help_text = text.partition(": ")
            yield SystemCommand(f"Go to {title}", help_text, lambda m=mode: self.switch_mode(m))
        yield SystemCommand("Toggle light/dark", "Switch between the light and the dark theme", self.action_toggle_theme)
        commands = getattr(screen, "palette_commands", None)
        if commands:
            yield from commands()
