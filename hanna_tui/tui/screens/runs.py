"""Runs monitor: every run with its progress (running first); the search's and the training's curves, theta and actions.

A search and the training of its childnet are two processes on one run directory: the table shows
both states, the curves show both (search left/top, training below), and c / r act on whichever
is running or stopped. Long actions (train, baseline, sweep, export) start their own processes.

Small terminals: the table keeps the columns that fit whole (KEEP_ORDER), never a clipped number;
below NARROW columns the theta heatmap takes the curves' place with v instead of sitting beside
them, and where there is no room for a second plot the training's curves are the m cycle's last step.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual import work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from ... import fmt
from ...knobs import KNOB_NAMES
from ...store import Run, RunSummary
from ..charts import whole_ticks
from ..details import RunDetail
from ..footer import HannaFooter
from ..launch import cancel_search, cancel_training, last_error, log_tail, resume_search, sample_run, start_job, start_training
from ..render import theta_heatmap
from ..runindex import ACTIVE_STATES, MetricsFollower
from ..tables import selected_key, sync_table
from .base import FollowingScreen
from .jobs import Job, baseline_form, export_form, report_form, sweep_form, train_form

BUDGET = "budget multipliers (λ) and gaps"
METRIC_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("training loss and CE", ("loss", "ce")),
    ("search accuracy", ("acc",)),
    ("expected latency E[LAT] (s)", ("lat",)),
    ("expected energy E[ENER] (J)", ("ener",)),
    ("temperature", ("temperature",)),
    (BUDGET, ()),  # keys lambda_* and gap_* of a budget search, found in its metrics
)
TRAINING = "childnet training"  # the training's curves, in the m cycle where they have no plot of their own
COLUMNS = ("state", "progress", "run", "train", "best acc", "top-1", "E[LAT]", "argmax LAT", "E[ENER]", "α β γ δ")
HEADERS = {"run": "run (ᴾ proxy search)"}
# What a narrow table keeps: a column is dropped before any column listed before it, so a number is
# never clipped by the edge of the table (the table never needs a horizontal scroll).
KEEP_ORDER = ("run", "state", "progress", "best acc", "top-1", "train", "E[LAT]", "argmax LAT", "E[ENER]", "α β γ δ")
NARROW = 100  # columns: below it the theta heatmap trades places with the curves (v) instead of sitting beside them
SHORT = 20  # rows of the detail area: below it the training's curves are one more m step, not a second plot
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


SERIES_LABELS = {"acc": "acc %", "loss": "train loss", "ce": "train CE"}


def latest_parts(latest: dict[str, Any], phase: str) -> list[str]:
    """The status's latest record, named for what it is: the eval of an epoch (phase eval, or done:
    loss is the test CE, acc the epoch's search accuracy) or an interval of training (loss with the
    hardware terms, acc over the interval's batches), so it never reads as the plot's training loss."""

    def number(key: str) -> float | None:
        value = latest.get(key)
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    loss, ce, temperature, acc = number("loss"), number("ce"), number("temperature"), number("acc")
    parts = []
    if phase in ("eval", "done"):
        if ce is not None or loss is not None:
            parts.append(f"eval loss (CE) {fmt.num(ce if ce is not None else loss)}")
        if acc is not None:
            parts.append(f"last epoch acc {fmt.pct(acc)}")
    else:
        if loss is not None:
            parts.append(f"train loss {fmt.num(loss)}")
        if ce is not None:
            parts.append(f"CE {fmt.num(ce)}")
        if acc is not None:
            parts.append(f"batch acc {fmt.pct(acc)}")
    if temperature is not None:
        parts.append(f"T {fmt.num(temperature)}")
    return parts


def pack(parts: list[Text], width: int, gap: str = "  ") -> Text:
    """Parts side by side, a new line only between two parts ("best search acc 41%" never splits)."""
    out, used = Text(), 0
    for part in parts:
        if used and used + len(gap) + part.cell_len > width:
            out.append("\n")
            used = 0
        elif used:
            out.append(gap)
            used += len(gap)
        out.append_text(part)
        used += part.cell_len
    return out


def integer_xticks(plt: Any, xs: list[float], width: int) -> None:
    """Whole-number ticks (epochs, steps) at a spacing the plot's width can label, never 1.50."""
    if not xs:
        return
    ticks = whole_ticks(min(xs), max(xs), max(2, (width or 60) // 9))
    plt.xticks(ticks, [str(t) for t in ticks])
    if len(ticks) == 1:
        plt.xlim(ticks[0] - 1, ticks[0] + 1)


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

    # in the footer's order, which is also the order in which keys give way on a narrow footer
    BINDINGS = [
        Binding("t", "train", "Train", tooltip="Train the childnet of the selected run"),
        Binding("c", "cancel", "Cancel", tooltip="Cancel the selected search, or its training"),
        Binding("r", "resume", "Resume", tooltip="Resume a cancelled, failed or interrupted search or training"),
        Binding("s", "sample", "Sample", tooltip="Sample the childnet: the argmax of theta"),
        Binding("m", "next_metric", "Metric", tooltip="The next curve (loss, accuracy, E[LAT], E[ENER], temperature, ...)"),
        Binding("e", "export", "Export", tooltip="Export the selected run's model (TorchScript / ONNX)"),
        Binding("b", "baseline", "Baseline", tooltip="Train a paper baseline as a run of its own"),
        Binding("w", "sweep", "Sweep", tooltip="Run a sweep from a batch file"),
        Binding("p", "report", "Report", tooltip="Write a report of the runs shown (or the selected one)"),
        Binding("v", "toggle_theta", "Theta", tooltip="Show or hide the theta heatmap (on a narrow terminal: in place of the curves)"),
        Binding("j", "jobs", "Jobs", tooltip="The jobs started here; enter stops one"),
        Binding("i", "toggle_interval", "Epoch/interval", show=False, tooltip="Curves per epoch or per interval"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.detail: RunDetail | None = None
        self.training: MetricsFollower | None = None
        self.metric_index = 0
        self.kind = "epoch"
        self._rows: dict[str, tuple[RunSummary, tuple[str, list[Any]], list[int]]] = {}  # summary, row, cell widths
        self._shown: dict[str, tuple[RunSummary, tuple[str, ...], tuple[str, list[Any]]]] = {}
        self.columns: tuple[str, ...] = COLUMNS
        self.narrow = False
        self.short = False
        self.theta_beside = True  # wide: the heatmap beside the curves (v hides it: wider curves)
        self.theta_alone = False  # narrow: v shows the heatmap in the curves' place

    def compose(self) -> ComposeResult:
        yield Static("[b]Runs[/b]  running first · t train · c cancel · r resume · v theta · ? all keys", classes="screen-title")
        yield Static(EMPTY, id="runs-empty", classes="empty-state")
        table: DataTable = DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        for name in COLUMNS:
            table.add_column(HEADERS.get(name, name), key=name)
        yield table
        yield Static("", id="run-info")
        with Horizontal(id="run-detail"):
            with Vertical(id="plots"):
                yield PlotextPlot(id="curves")
                yield PlotextPlot(id="train-curves")
            with VerticalScroll(id="theta-pane"):
                yield Static("", id="theta")
                yield Static("", id="arch")
        yield HannaFooter()

    # following
    def runs_changed(self) -> None:
        summaries = self.hanna_app.index.summaries()
        empty = not summaries
        self.query_one("#runs-empty").display = empty
        for wid in ("#runs-table", "#run-info", "#run-detail"):
            self.query_one(wid).display = not empty
        table = self.query_one("#runs-table", DataTable)
        wanted = self.hanna_app.selected_run
        self.fit_columns(summaries)
        sync_table(table, [self.shown_row(s) for s in summaries], keep=wanted)
        self.hanna_app.selected_run = None
        key = selected_key(table)
        if key and (self.detail is None or self.detail.run.id != key):
            self.select(key)
        self.show_info()

    def row_of(self, s: RunSummary) -> tuple[str, list[Any]]:
        return self._cached(s)[1]

    def _cached(self, s: RunSummary) -> tuple[RunSummary, tuple[str, list[Any]], list[int]]:
        hit = self._rows.get(s.id)
        if hit is None or hit[0] is not s:
            row = run_row(s)
            hit = (s, row, [cell_len(getattr(c, "plain", str(c))) for c in row[1]])
            self._rows[s.id] = hit
        return hit

    def shown_row(self, s: RunSummary) -> tuple[str, list[Any]]:
        """The row's cells of the columns shown, cached per summary and column set (unchanged rows cost nothing)."""
        hit = self._shown.get(s.id)
        if hit is None or hit[0] is not s or hit[1] != self.columns:
            key, cells = self.row_of(s)
            hit = (s, self.columns, (key, [cells[COLUMNS.index(c)] for c in self.columns]))
            self._shown[s.id] = hit
        return hit[2]

    def fit_columns(self, summaries: list[RunSummary] | None = None) -> None:
        """Show the columns that fit the table's width whole (KEEP_ORDER says which go first)."""
        table = self.query_one("#runs-table", DataTable)
        room = (self.size.width or self.app.size.width) - 2  # the table spans the screen; 2: a vertical scrollbar
        widths = [self._cached(s)[2] for s in (summaries if summaries is not None else self.hanna_app.index.summaries())]
        need = {}
        for i, name in enumerate(COLUMNS):
            need[name] = max([cell_len(HEADERS.get(name, name)), *(w[i] for w in widths)]) + 2 * table.cell_padding
        kept: list[str] = []
        used = 0
        for name in KEEP_ORDER:
            if used + need[name] > room and kept:
                break
            kept.append(name)
            used += need[name]
        columns = tuple(c for c in COLUMNS if c in kept)
        if columns == self.columns:
            return
        self.columns = columns
        table.clear(columns=True)
        for name in columns:
            table.add_column(HEADERS.get(name, name), key=name)

    def on_resize(self) -> None:
        if self.ready:
            self.call_after_refresh(self.relayout)

    def relayout(self) -> None:
        """Columns and panes for the new size; the table is refilled only when its columns change."""
        before = self.columns
        self.fit_columns()
        if self.columns != before:
            sync_table(self.query_one("#runs-table", DataTable), [self.shown_row(s) for s in self.hanna_app.index.summaries()])
        self.layout_panes()

    def tick(self) -> None:
        if self.detail is None:
            return
        metrics_changed, theta_changed = self.detail.poll()
        if metrics_changed:
            self.draw_curves()
        if theta_changed:
            self.draw_theta()
        if self.training is not None and self.training.poll():
            self.layout_panes()
            self.draw_training()
            if self.metric_title() == TRAINING:
                self.draw_curves()

    # the detail area: curves (search above, training below), theta beside; fewer at once when small
    def has_training(self) -> bool:
        return self.training is not None and bool(self.training.records)

    def training_apart(self) -> bool:
        """The training's curves in a plot of their own below the search's (else: the m cycle's last step)."""
        return self.has_training() and not self.short and not self.narrow

    def metric_groups(self) -> list[tuple[str, tuple[str, ...]]]:
        groups = list(METRIC_GROUPS)
        if self.has_training() and not self.training_apart():
            groups.append((TRAINING, ()))
        return groups

    def metric_title(self) -> str:
        groups = self.metric_groups()
        return groups[self.metric_index % len(groups)][0]

    def layout_panes(self) -> None:
        """Which panes the detail area shows at this size (called on resize and when a training appears)."""
        if not self.ready:
            return
        detail = self.query_one("#run-detail")
        width = self.size.width or self.app.size.width
        self.narrow = width < NARROW
        self.short = 0 < detail.size.height < SHORT
        theta = self.query_one("#theta-pane")
        theta.display = self.theta_alone if self.narrow else self.theta_beside
        self.query_one("#plots").display = not (self.narrow and self.theta_alone)
        theta.set_class(self.narrow, "-alone")
        train = self.query_one("#train-curves", PlotextPlot)
        apart = self.training_apart()
        if train.display != apart:
            train.display = apart
            if apart:
                self.draw_training()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value and (self.detail is None or self.detail.run.id != event.row_key.value):
            self.select(str(event.row_key.value))

    def select(self, run_id: str) -> None:
        self.detail = RunDetail(Run(self.hanna_app.index.base() / run_id))
        self.training = MetricsFollower(self.detail.run.training().metrics_path)
        self.detail.poll()
        self.training.poll()
        self.layout_panes()
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
            parts.append(Text("ᴾ proxy search", style="magenta"))
        parts += latest_parts(latest, str(status.get("phase", "")))
        best = status.get("best_acc")
        if isinstance(best, (int, float)) and not isinstance(best, bool):
            parts.append(f"best search acc {fmt.pct(best)}")
        if s is not None and s.train_state:
            epochs = f" {s.train_epoch}/{s.train_total_epochs}" if s.train_total_epochs else ""
            parts.append(f"training {s.train_state}{epochs}" + (f" top-1 {fmt.pct(s.top1)}" if s.top1 is not None else ""))
        if status.get("error"):
            parts.append(Text(fmt.printable(str(status["error"])), style="red"))
        info = self.query_one("#run-info", Static)
        width = (info.size.width or self.size.width or 80) - 2  # less its padding
        info.update(pack([p if isinstance(p, Text) else Text(p) for p in parts], width))

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
        if self.metric_title() == TRAINING:
            self.plot_training(widget)
            return
        plt = widget.plt
        plt.clear_figure()
        title, keys = self.metric_groups()[self.metric_index % len(self.metric_groups())]
        if title == BUDGET:
            keys = self.budget_keys()
        xs_all: list[float] = []
        if self.detail is not None:
            for key in keys:
                xs, ys = self.detail.follower.series(self.kind, key)
                if xs:
                    percent = key == "acc"  # accuracy in % as in the tables
                    marker = "braille" if len(xs) > 1 else "●"
                    plt.plot(xs, [y * 100 for y in ys] if percent else ys, label=SERIES_LABELS.get(key, key), marker=marker)
                    xs_all += xs
        per = "per epoch" if self.kind == "epoch" else "per interval"
        empty = " (not a budget search)" if title == BUDGET and not keys else " (no data yet)"
        plt.title(f"search: {title}, {per}" + ("" if xs_all else empty))
        plt.xlabel("epoch" if self.kind == "epoch" else "step")
        integer_xticks(plt, xs_all, widget.size.width)
        widget.refresh()

    def draw_training(self) -> None:
        widget = self.query_one("#train-curves", PlotextPlot)
        if self.training_apart():
            self.plot_training(widget)

    def plot_training(self, widget: PlotextPlot) -> None:
        """The childnet's top-1 in % (left axis) and its training loss (right axis): two scales, two axes."""
        plt = widget.plt
        plt.clear_figure()
        xs_all: list[float] = []
        if self.training is not None:
            for key, label, side in (("top1", "top-1 % (left)", "left"), ("loss", "train loss (right)", "right")):
                xs, ys = self.training.series("epoch", key)
                if xs:
                    marker = "braille" if len(xs) > 1 else "●"  # one epoch: a dot that shows
                    plt.plot(xs, [y * 100 for y in ys] if key == "top1" else ys, label=label, marker=marker, yside=side)
                    xs_all += xs
        plt.title("childnet training: top-1 and loss per epoch" + ("" if xs_all else " (no data yet)"))
        plt.xlabel("epoch")
        integer_xticks(plt, xs_all, widget.size.width)
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
        self.metric_index = (self.metric_index + 1) % len(self.metric_groups())
        self.draw_curves()

    def action_toggle_theta(self) -> None:
        if self.narrow:
            self.theta_alone = not self.theta_alone
        else:
            self.theta_beside = not self.theta_beside
        self.layout_panes()
        self.call_after_refresh(self.redraw)

    def redraw(self) -> None:
        """The plots again at their new size (their tick spacing follows the width)."""
        self.draw_curves()
        self.draw_training()

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
