"""Runs monitor: every run with its progress (running first); the search's and the training's curves, theta and actions.

A search and the training of its childnet are two processes on one run directory: the table shows
both states, the curves show both (search left/top, training below), and c / r act on whichever
is running or stopped. Long actions (train, baseline, sweep, export) start their own processes.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Static
from textual_plotext import PlotextPlot

from ... import fmt
from ...knobs import KNOB_NAMES
from ...store import Run, RunSummary
from ..details import RunDetail
from ..launch import cancel_search, cancel_training, last_error, log_tail, resume_search, sample_run, start_job, start_training
from ..render import theta_heatmap
from ..runindex import ACTIVE_STATES, MetricsFollower
from ..tables import selected_key, sync_table
from .base import FollowingScreen
from .jobs import Job, baseline_form, export_form, report_form, sweep_form, train_form

BUDGET = "budget multipliers (λ) and gaps"
METRIC_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("loss and CE", ("loss", "ce")),
    ("search accuracy", ("acc",)),
    ("expected latency E[LAT] (s)", ("lat",)),
    ("expected energy E[ENER] (J)", ("ener",)),
    ("temperature", ("temperature",)),
    (BUDGET, ()),  # keys lambda_* and gap_* of a budget search, found in its metrics
)
COLUMNS = ("state", "progress", "run", "train", "search acc", "top-1", "E[LAT]", "argmax LAT", "E[ENER]", "α β γ δ")
STOPPED = ("cancelled", "failed", "interrupted")
EMPTY = (
    "No runs yet.\n\n"
    "• Press 1 (Knobs), set the knobs and press l to launch a demo search on the shipped profile;\n"
    "• b trains a baseline, w runs a sweep from a batch file (both appear here as they run);\n"
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


def knobs_cell(k: dict[str, float]) -> str:
    if not all(isinstance(k.get(n), (int, float)) for n in KNOB_NAMES):
        return "-"
    return " ".join(f"{k[n]:g}" for n in KNOB_NAMES)


def train_cell(s: RunSummary) -> Text:
    if not s.train_state:
        return Text("-", style="dim")
    epochs = f" {s.train_epoch}/{s.train_total_epochs}" if s.train_total_epochs else ""
    return Text(s.train_state + epochs, style=STATE_STYLE.get(s.train_state, ""))


def run_row(s: RunSummary) -> tuple[str, list[Any]]:
    search_epochs = s.kind != "baseline" and s.total_epochs
    cells = [
        Text(s.state, style=STATE_STYLE.get(s.state, "")),
        progress_bar(s.progress) + (f" {s.epoch}/{s.total_epochs}" if search_epochs else ""),
        (s.id if len(s.id) <= 30 else s.id[:29] + "…") + (" ᴾ" if s.proxy else ""),
        train_cell(s),
        fmt.pct(s.search_acc) if s.kind != "baseline" else "-",
        fmt.pct(s.top1),
        fmt.latency(s.exp_latency_s),
        fmt.latency(s.argmax_latency_s),
        fmt.energy(s.exp_energy_j),
        knobs_cell(s.knobs),
    ]
    return s.id, cells


class RunsScreen(FollowingScreen):
    """Follow runs by polling their directories; select one to watch it."""

    TABLE_ID = "runs-table"

    BINDINGS = [
        Binding("t", "train", "Train"),
        Binding("c", "cancel", "Cancel"),
        Binding("r", "resume", "Resume"),
        Binding("s", "sample", "Sample"),
        Binding("m", "next_metric", "Metric"),
        Binding("i", "toggle_interval", "Epoch/interval", show=False),
        Binding("e", "export", "Export", show=False),
        Binding("b", "baseline", "Baseline", show=False),
        Binding("w", "sweep", "Sweep", show=False),
        Binding("p", "report", "Report", show=False),
        Binding("j", "jobs", "Jobs"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.detail: RunDetail | None = None
        self.training: MetricsFollower | None = None
        self.metric_index = 0
        self.kind = "epoch"
        self._rows: dict[str, tuple[RunSummary, tuple[str, list[Any]]]] = {}

    def compose(self) -> ComposeResult:
        yield Static("[b]Runs[/b]  running first · t train · c cancel · r resume · j jobs · ? all keys", classes="screen-title")
        yield Static(EMPTY, id="runs-empty", classes="empty-state")
        table: DataTable = DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        table.add_columns(*COLUMNS)
        yield table
        yield Static("", id="run-info")
        with Horizontal(id="run-detail"):
            with Vertical(id="plots"):
                yield PlotextPlot(id="curves")
                yield PlotextPlot(id="train-curves")
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
        if self.training is not None and self.training.poll():
            self.draw_training()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value and (self.detail is None or self.detail.run.id != event.row_key.value):
            self.select(str(event.row_key.value))

    def select(self, run_id: str) -> None:
        self.detail = RunDetail(Run(self.hanna_app.index.base() / run_id))
        self.training = MetricsFollower(self.detail.run.training().metrics_path)
        self.detail.poll()
        self.training.poll()
        self.draw_curves()
        self.draw_training()
        self.draw_theta()
        self.show_info()

    # drawing
    def show_info(self) -> None:
        if self.detail is None:
            return
        s = self.hanna_app.index.get(self.detail.run.id)
        status = self.detail.run.status()
        latest = status.get("latest") if isinstance(status.get("latest"), dict) else {}  # hostile files: see tests/hostile
        # pieces from files are literal Text (never markup): a state or error can hold "[", "\\" or ESC
        state = s.state if s else str(status.get("state", "?"))
        parts: list[Text | str] = [Text(fmt.printable(self.detail.run.id), style="bold"), fmt.printable(state)]
        if s is not None and s.proxy:
            parts.append(Text("proxy search", style="magenta"))
        for key, label in (("loss", "loss"), ("ce", "CE"), ("temperature", "T")):
            if isinstance(latest.get(key), (int, float)):
                parts.append(f"{label} {fmt.num(latest[key])}")
        if isinstance(latest.get("acc"), (int, float)):
            parts.append(f"search acc {fmt.pct(latest['acc'])}")
        if s is not None and s.train_state:
            epochs = f" {s.train_epoch}/{s.train_total_epochs}" if s.train_total_epochs else ""
            parts.append(f"training {s.train_state}{epochs}" + (f" top-1 {fmt.pct(s.top1)}" if s.top1 is not None else ""))
        if status.get("error"):
            parts.append(Text(fmt.printable(str(status["error"])), style="red"))
        self.query_one("#run-info", Static).update(Text("  ").join(p if isinstance(p, Text) else Text(p) for p in parts))

    def budget_keys(self) -> tuple[str, ...]:
        if self.detail is None:
            return ()
        keys: dict[str, None] = {}
        for r in self.detail.follower.records[-50:]:
            for k in r:
                if k.startswith(("lambda_", "gap_")):
                    keys[k] = None
        return tuple(keys)

    def draw_curves(self) -> None:
        widget = self.query_one("#curves", PlotextPlot)
        plt = widget.plt
        plt.clear_figure()
        title, keys = METRIC_GROUPS[self.metric_index]
        if title == BUDGET:
            keys = self.budget_keys()
        plotted = False
        if self.detail is not None:
            for key in keys:
                xs, ys = self.detail.follower.series(self.kind, key)
                if xs:
                    plt.plot(xs, ys, label=key, marker="braille")
                    plotted = True
        per = "per epoch" if self.kind == "epoch" else "per interval"
        empty = " (not a budget search)" if title == BUDGET and not keys else " (no data yet)"
        plt.title(f"search: {title}, {per}" + ("" if plotted else empty))
        plt.xlabel("epoch" if self.kind == "epoch" else "step")
        widget.refresh()

    def draw_training(self) -> None:
        widget = self.query_one("#train-curves", PlotextPlot)
        has = self.training is not None and bool(self.training.records)
        widget.display = has
        if not has or self.training is None:
            return
        plt = widget.plt
        plt.clear_figure()
        for key, label in (("top1", "top-1"), ("loss", "train loss")):
            xs, ys = self.training.series("epoch", key)
            if xs:
                plt.plot(xs, ys, label=label, marker="braille")
        plt.title("childnet training: top-1 and loss per epoch")
        plt.xlabel("epoch")
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
        arch.append(f"  argmax LAT {fmt.latency(view.lat_s)}  ENER {fmt.energy(view.ener_j)}\n")
        arch.append(f"expected under theta: E[LAT] {fmt.latency(view.exp_lat_s)}  E[ENER] {fmt.energy(view.exp_ener_j)}\n", style="dim")
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

    def _summary(self, run: Run) -> RunSummary | None:
        return self.hanna_app.index.get(run.id)

    def _refresh_soon(self) -> None:
        self.hanna_app.poll_runs()

    def action_cancel(self) -> None:
        run = self._run()
        if run is None:
            return
        s = self._summary(run)
        try:
            if s is not None and s.train_state in ACTIVE_STATES and s.state not in ("running", "queued"):
                self.notify(cancel_training(run), title="Cancel training")
            else:
                self.notify(cancel_search(run), title="Cancel")
        except OSError as exc:
            self.notify(f"could not signal {run.id}: {exc}", severity="error")
        self._refresh_soon()

    def action_resume(self) -> None:
        run = self._run()
        if run is None:
            return
        state = run.effective_state()
        if state in STOPPED:
            self.hanna_app.track(resume_search(run, spawn=self.hanna_app.spawn))
            self.notify(f"resuming the search {run.id}", title="Resume")
            return
        s = self._summary(run)
        if state == "done" and s is not None and s.train_state in STOPPED:
            self._start_training(run, ["--resume"])
            return
        what = f"its training is {s.train_state}" if s is not None and s.train_state else "it has no stopped training"
        self.notify(
            f"{run.id} is {state} and {what}; only cancelled, failed or interrupted searches and trainings resume", severity="warning"
        )

    def action_sample(self) -> None:
        run = self._run()
        if run:
            self.notify(f"sampling the childnet of {run.id}...", title="Sample")
            self._sample(run)

    @work(thread=True, group="sample")
    def _sample(self, run: Run) -> None:
        code, output = sample_run(run)
        last = output.splitlines()[-2:] if output else []
        severity = "information" if code == 0 else "error"
        self.app.call_from_thread(
            self.notify, "\n".join(last) or f"exit code {code}", title="Sample" if code == 0 else "Sample failed", severity=severity
        )

    def action_train(self) -> None:
        run = self._run()
        if run is None:
            return
        s = self._summary(run)
        if s is not None and s.train_state == "running":
            self.notify(f"{run.id} is training already (c cancels it)", severity="warning")
            return

        def start(args: list[str] | None) -> None:
            if args is not None:
                self._start_training(run, args)

        self.app.push_screen(train_form(run.id), start)

    def _start_training(self, run: Run, args: list[str]) -> None:
        try:
            proc = start_training(run, spawn=self.hanna_app.spawn, extra=args)
        except OSError as exc:
            self.notify(f"could not start training: {exc}", title="Train failed", severity="error")
            return
        self.hanna_app.track(proc)
        self.hanna_app.jobs.append(Job(f"train {run.id} {' '.join(args)}".strip(), proc, run.path / "train.log"))
        self.notify(f"training the childnet of {run.id} (log: train.log)", title="Train")
        if proc is not None and hasattr(proc, "wait"):
            self._watch_training(run, proc)

    @work(thread=True, group="train")
    def _watch_training(self, run: Run, proc: Any) -> None:
        code = proc.wait()
        if code == 0:
            self.app.call_from_thread(self.notify, f"{run.id}: childnet trained", title="Train")
        elif code == 130 or code == -signal.SIGTERM:
            self.app.call_from_thread(
                self.notify, f"{run.id}: training cancelled (r resumes it)", title="Training cancelled", severity="warning"
            )
        else:
            tail = log_tail(run.path / "train.log")
            self.app.call_from_thread(self.notify, f"exit code {code}: {tail}", title="Training failed", severity="error", timeout=15)

    # other long actions: their own processes, their runs appear in the table as they run
    def _start_job(self, label: str, args: list[str], log: Path, kind: str = "", on_end: Any = None) -> Job | None:
        try:
            proc = start_job(args, log, spawn=self.hanna_app.spawn)
        except OSError as exc:
            self.notify(f"could not start {label}: {exc}", title="Job failed", severity="error")
            return None
        self.hanna_app.track(proc)
        job = Job(label, proc, log, kind=kind, on_end=on_end)
        self.hanna_app.jobs.append(job)
        self.notify(f"{label} started (log: {log}); j lists the jobs", title="Job")
        return job

    def _jobs_log(self, name: str) -> Path:
        from ...store import now_iso

        return self.hanna_app.index.base() / ".jobs" / f"{now_iso()[:19].replace(':', '')}-{name}.log"

    def action_baseline(self) -> None:
        def start(args: list[str] | None) -> None:
            if args is not None:
                self._start_job(
                    f"baseline {args[1] if len(args) > 1 else ''}",
                    [*args, "--runs", str(self.hanna_app.index.base())],
                    self._jobs_log("baseline"),
                )

        self.app.push_screen(baseline_form(), start)

    def action_sweep(self) -> None:
        def start(args: list[str] | None) -> None:
            if args is not None:
                self._start_job(f"sweep {Path(args[-1]).name}", args, self._jobs_log("sweep"))

        self.app.push_screen(sweep_form(), start)

    def action_export(self) -> None:
        run = self._run()
        if run is None:
            return

        def start(args: list[str] | None) -> None:
            if args is not None:
                self._start_job(f"export {run.id}", args, run.path / "export.log")

        self.app.push_screen(export_form(run.id, str(run.path)), start)

    def action_report(self) -> None:
        """`hanna-tui report RUN... --out DIR` as a job (matplotlib stays out of the dashboard); index.md said at the end."""
        base = self.hanna_app.index.base()
        shown = [s.path for s in self.hanna_app.index.summaries()]
        selected = self.detail.run if self.detail is not None else None

        def start(args: list[str] | None) -> None:
            if args is None:
                return
            which, out = args
            runs = [str(selected.path)] if which == "selected" and selected is not None else [str(p) for p in shown]
            if not runs:
                self.notify("no runs to report yet", severity="warning")
                return
            folder = Path(out).expanduser().resolve()
            self._start_job(
                f"report of {len(runs)} run{'s' if len(runs) > 1 else ''}",
                ["report", *runs, "--out", str(folder)],
                self._jobs_log("report"),
                kind="report",
                on_end=lambda job: self._report_ended(job, folder),
            )

        self.app.push_screen(report_form(str(base / "report"), selected.id if selected else None, len(shown)), start)

    def _report_ended(self, job: Job, folder: Path) -> None:
        state = job.state()
        if state == "done":
            self.app.notify(f"wrote {folder / 'index.md'}", title="Report ready", timeout=15)
        elif state == "stopped":
            self.app.notify(f"{job.label}: stopped", title="Report", severity="warning")
        else:
            self.app.notify(f"{state}: {last_error(job.log)}", title="Report failed", severity="error", timeout=15)

    def action_jobs(self) -> None:
        self.hanna_app.action_jobs()  # the app's dialog: enter stops a job (SIGTERM to its process group)

    def palette_commands(self):
        for key, (name, help_text) in {
            "train": ("Train childnet", "Train the sampled childnet of the selected run: epochs and recipe in a form (t)"),
            "cancel": ("Cancel run or training", "SIGTERM to the selected search, or to its training (c)"),
            "resume": ("Resume run or training", "Resume the selected cancelled/failed search or training (r)"),
            "sample": ("Sample childnet", "Argmax of theta of the selected run (s)"),
            "export": ("Export model", "TorchScript/ONNX of the selected run's model (e)"),
            "baseline": ("Train a baseline", "MobileNetV2 or CondenseNet as a run of its own (b)"),
            "sweep": ("Run a sweep", "hanna-tui --batch FILE as its own process (w)"),
            "report": ("Write a report", "hanna-tui report of the runs shown (or the selected one) as its own process (p)"),
            "jobs": ("Jobs", "The processes started here; stop one (j)"),
            "next_metric": ("Next metric", "Show the next curve (m)"),
            "toggle_interval": ("Epoch/interval curves", "Switch the curves between per-epoch and per-interval (i)"),
        }.items():
            yield SystemCommand(name, help_text, getattr(self, f"action_{key}"))
