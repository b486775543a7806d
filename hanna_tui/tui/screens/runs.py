"""Runs monitor: every run with its progress (running first); curves, theta and actions of the selected one."""

from __future__ import annotations

import subprocess
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Static
from textual_plotext import PlotextPlot

from ...store import Run, RunSummary
from .. import fmt
from ..details import RunDetail
from ..launch import cancel_search, log_tail, resume_search, sample_run, start_training
from ..render import theta_heatmap
from ..tables import selected_key, sync_table
from .base import FollowingScreen

METRIC_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("loss and CE", ("loss", "ce")),
    ("accuracy", ("acc",)),
    ("expected latency E[LAT] (s)", ("lat",)),
    ("expected energy E[ENER] (J)", ("ener",)),
    ("temperature", ("temperature",)),
)
COLUMNS = ("state", "progress", "run", "acc", "E[LAT]", "E[ENER]", "α", "β", "γ", "δ")
EMPTY = (
    "No runs yet.\n\n"
    "• Press F1 (Knobs), set the knobs and press ctrl+s to launch a demo search on the shipped profile;\n"
    "• or start one from another terminal: hanna-tui search --config CONFIG.toml --run-dir runs/NAME\n"
    "  (runs started elsewhere, or by --batch, appear here by themselves)."
)


def progress_bar(fraction: float, width: int = 6) -> str:
    fraction = min(1.0, max(0.0, fraction))
    full = int(round(fraction * width))
    return "█" * full + "░" * (width - full)


STATE_STYLE = {
    "running": "bold green",
    "done": "cyan",
    "failed": "bold red",
    "cancelled": "yellow",
    "interrupted": "bold yellow",
    "queued": "dim",
}


def run_row(s: RunSummary) -> tuple[str, list[Any]]:
    k = s.knobs
    acc = s.top1 if s.top1 is not None else s.search_acc
    cells = [
        Text(s.state, style=STATE_STYLE.get(s.state, "")),
        progress_bar(s.progress) + (f" {s.epoch}/{s.total_epochs}" if s.total_epochs else ""),
        s.id if len(s.id) <= 30 else s.id[:29] + "…",
        fmt.pct(acc),
        fmt.num(s.pred_latency_s, "s", 3),
        fmt.num(s.pred_energy_j, "J", 3),
        *(f"{k[n]:g}" if isinstance(k.get(n), (int, float)) else "-" for n in ("alpha", "beta", "gamma", "delta")),
    ]
    return s.id, cells


class RunsScreen(FollowingScreen):
    """Follow runs by polling their directories; select one to watch it."""

    TABLE_ID = "runs-table"

    BINDINGS = [
        Binding("m", "next_metric", "Metric"),
        Binding("i", "toggle_interval", "Epoch/interval"),
        Binding("c", "cancel", "Cancel"),
        Binding("r", "resume", "Resume"),
        Binding("s", "sample", "Sample"),
        Binding("t", "train", "Train"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.detail: RunDetail | None = None
        self.metric_index = 0
        self.kind = "epoch"
        self._rows: dict[str, tuple[RunSummary, tuple[str, list[Any]]]] = {}

    def compose(self) -> ComposeResult:
        yield Static("[b]Runs[/b]  running first · select a run to watch it", classes="screen-title")
        yield Static(EMPTY, id="runs-empty", classes="empty-state")
        table: DataTable = DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        table.add_columns(*COLUMNS)
        yield table
        yield Static("", id="run-info")
        with Horizontal(id="run-detail"):
            yield PlotextPlot(id="curves")
            with VerticalScroll(id="theta-pane"):
                yield Static("", id="theta")
                yield Static("", id="arch")
        yield Footer()

    # following
    def runs_changed(self) -> None:
        summaries = self.hanna_app.index.summaries()
        empty = not summaries
        self.query_one("#runs-empty").display = empty
        for wid in ("#runs-table", "#run-info", "#run-detail"):
            self.query_one(wid).display = not empty
        table = self.query_one("#runs-table", DataTable)
        wanted = self.hanna_app.selected_run
        sync_table(table, [self.row_of(s) for s in summaries], keep=wanted)
        self.hanna_app.selected_run = None
        key = selected_key(table)
        if key and (self.detail is None or self.detail.run.id != key):
            self.select(key)
        self.show_info()

    def row_of(self, s: RunSummary) -> tuple[str, list[Any]]:
        hit = self._rows.get(s.id)
        if hit is None or hit[0] is not s:
            hit = (s, run_row(s))
            self._rows[s.id] = hit
        return hit[1]

    def tick(self) -> None:
        if self.detail is None:
            return
        metrics_changed, theta_changed = self.detail.poll()
        if metrics_changed:
            self.draw_curves()
        if theta_changed:
            self.draw_theta()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value and (self.detail is None or self.detail.run.id != event.row_key.value):
            self.select(str(event.row_key.value))

    def select(self, run_id: str) -> None:
        self.detail = RunDetail(Run(self.hanna_app.index.base() / run_id))
        self.detail.poll()
        self.draw_curves()
        self.draw_theta()
        self.show_info()

    # drawing
    def show_info(self) -> None:
        if self.detail is None:
            return
        s = self.hanna_app.index.get(self.detail.run.id)
        status = self.detail.run.status()
        latest = status.get("latest") or {}
        parts = [f"[b]{self.detail.run.id}[/b]", s.state if s else status.get("state", "?")]
        for key, label in (("loss", "loss"), ("ce", "CE"), ("acc", "acc"), ("temperature", "T")):
            if isinstance(latest.get(key), (int, float)):
                parts.append(f"{label} {latest[key]:.4g}")
        if status.get("error"):
            parts.append(f"[red]{status['error']}[/red]")
        self.query_one("#run-info", Static).update(Text.from_markup("  ".join(parts)))

    def draw_curves(self) -> None:
        widget = self.query_one("#curves", PlotextPlot)
        plt = widget.plt
        plt.clear_figure()
        title, keys = METRIC_GROUPS[self.metric_index]
        plotted = False
        if self.detail is not None:
            for key in keys:
                xs, ys = self.detail.follower.series(self.kind, key)
                if xs:
                    plt.plot(xs, ys, label=key, marker="braille")
                    plotted = True
        per = "per epoch" if self.kind == "epoch" else "per interval"
        plt.title(f"{title}, {per}" + ("" if plotted else " (no data yet)"))
        plt.xlabel("epoch" if self.kind == "epoch" else "step")
        widget.refresh()

    def draw_theta(self) -> None:
        theta_w, arch_w = self.query_one("#theta", Static), self.query_one("#arch", Static)
        view = self.detail.theta if self.detail else None
        if view is None:
            theta_w.update(Text(self.detail.theta_error if self.detail else "", style="italic"))
            arch_w.update("")
            return
        theta_w.update(theta_heatmap(view.probs, view.mask, view.argmax))
        arch = Text()
        arch.append("argmax architecture", style="bold")
        arch.append(f"  predicted LAT {fmt.num(view.lat_s, 's')}  ENER {fmt.num(view.ener_j, 'J')}\n")
        arch.append(f"expected under theta: LAT {fmt.num(view.exp_lat_s, 's')}  ENER {fmt.num(view.exp_ener_j, 'J')}\n", style="dim")
        arch.append(" ".join(f"{i}:{n}" for i, n in enumerate(view.names)))
        arch_w.update(arch)

    # actions
    def action_next_metric(self) -> None:
        self.metric_index = (self.metric_index + 1) % len(METRIC_GROUPS)
        self.draw_curves()

    def action_toggle_interval(self) -> None:
        self.kind = "interval" if self.kind == "epoch" else "epoch"
        self.draw_curves()

    def _run(self) -> Run | None:
        if self.detail is None:
            self.notify("No run selected", severity="warning")
            return None
        return self.detail.run

    def action_cancel(self) -> None:
        run = self._run()
        if run:
            try:
                self.notify(cancel_search(run), title="Cancel")
            except OSError as exc:
                self.notify(f"could not signal {run.id}: {exc}", severity="error")

    def action_resume(self) -> None:
        run = self._run()
        if run is None:
            return
        state = run.effective_state()
        if state not in ("cancelled", "failed", "interrupted"):
            self.notify(f"{run.id} is {state}; only cancelled, failed or interrupted runs resume", severity="warning")
            return
        self.hanna_app.track(resume_search(run, spawn=self.hanna_app.spawn))
        self.notify(f"resuming {run.id}", title="Resume")

    def action_sample(self) -> None:
        run = self._run()
        if run:
            self.notify(f"sampling the childnet of {run.id}...", title="Sample")
            self._sample(run)

    @work(thread=True, group="sample")
    def _sample(self, run: Run) -> None:
        try:
            code, output = sample_run(run)
        except (OSError, subprocess.SubprocessError) as exc:
            code, output = 1, str(exc)
        last = output.splitlines()[-2:] if output else []
        severity = "information" if code == 0 else "error"
        self.app.call_from_thread(
            self.notify, "\n".join(last) or f"exit code {code}", title="Sample" if code == 0 else "Sample failed", severity=severity
        )

    def action_train(self) -> None:
        run = self._run()
        if run is None:
            return
        try:
            proc = start_training(run, spawn=self.hanna_app.spawn)
        except OSError as exc:
            self.notify(f"could not start training: {exc}", title="Train failed", severity="error")
            return
        self.notify(f"training the childnet of {run.id} (log: train.log)", title="Train")
        if proc is not None and hasattr(proc, "wait"):
            self._watch_training(run, proc)

    @work(thread=True, group="train")
    def _watch_training(self, run: Run, proc: Any) -> None:
        code = proc.wait()
        if code != 0:
            tail = log_tail(run.path / "train.log")
            self.app.call_from_thread(self.notify, f"exit code {code}: {tail}", title="Training failed", severity="error", timeout=15)
        else:
            self.app.call_from_thread(self.notify, f"{run.id}: childnet trained", title="Train")

    def palette_commands(self):
        for key, (name, help_text) in {
            "cancel": ("Cancel run", "Send SIGTERM to the selected search (c)"),
            "resume": ("Resume run", "Resume the selected cancelled/failed search (r)"),
            "sample": ("Sample childnet", "Argmax of theta of the selected run (s)"),
            "train": ("Train childnet", "Train the sampled childnet of the selected run (t)"),
            "next_metric": ("Next metric", "Show the next curve (m)"),
            "toggle_interval": ("Epoch/interval curves", "Switch the curves between per-epoch and per-interval (i)"),
        }.items():
            yield SystemCommand(name, help_text, getattr(self, f"action_{key}"))
