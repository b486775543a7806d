"""Forms that start the CLI's long actions as their own processes: training, baseline, sweep, export, report.

Each form is a modal with a visible label on every field; Enter in a field or the Start button
submits it, Escape closes it. A form returns the `hanna-tui` arguments to run (or None), after
checking them: a wrong number or a missing file is said in the form, nothing is started.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from ... import fmt
from ...errors import EXIT_INTERRUPTED, UserError
from ..launch import stop_group


@dataclass
class Field:
    """One labelled input: id, label, default text, and how to check it (returns the CLI args, or raises UserError)."""

    id: str
    label: str
    default: str = ""
    check: Callable[[str], list[str]] | None = None
    placeholder: str = ""


def positive_int(flag: str, name: str, allow_zero: bool = False) -> Callable[[str], list[str]]:
    def check(text: str) -> list[str]:
        text = text.strip()
        if not text:
            return []
        low = 0 if allow_zero else 1
        if not text.isdigit() or int(text) < low:
            raise UserError(f"{name}: expected an integer >= {low}, got {text!r}")
        return [flag, text]

    return check


def positive_float(flag: str, name: str) -> Callable[[str], list[str]]:
    def check(text: str) -> list[str]:
        text = text.strip()
        if not text:
            return []
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not value > 0:
            raise UserError(f"{name}: expected a number > 0, got {text!r}")
        return [flag, text]

    return check


def existing_file(flag: str, name: str, required: bool = False) -> Callable[[str], list[str]]:
    def check(text: str) -> list[str]:
        text = text.strip()
        if not text:
            if required:
                raise UserError(f"{name}: expected a file, got nothing")
            return []
        if not Path(text).expanduser().is_file():
            raise UserError(f"{name}: no such file {text!r}")
        return [flag, str(Path(text).expanduser().resolve())] if flag else [str(Path(text).expanduser().resolve())]

    return check


class JobForm(ModalScreen[list[str] | None]):
    """A titled form of labelled fields (and optional selects/checkboxes) that returns CLI arguments."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(
        self,
        title: str,
        fields: list[Field],
        head: list[str],
        extras: list[tuple[str, Widget]] | None = None,
        note: str = "",
        extras_last: bool = False,
    ) -> None:
        super().__init__()
        self.title_text, self.fields, self.head, self.extras = title, fields, head, extras or []
        self.note, self.extras_last = note, extras_last

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog job-form"):
            yield Label(Text(self.title_text, style="bold"))
            if self.note:
                yield Label(self.note, classes="hint")
            if not self.extras_last:
                yield from self._extras()
            for f in self.fields:
                with Horizontal(classes="form-row"):
                    yield Label(f.label, classes="form-label")
                    yield Input(f.default, id=f"job-{f.id}", placeholder=f.placeholder, compact=True)
            if self.extras_last:
                yield from self._extras()
            yield Static("", id="job-errors")
            with Horizontal(classes="form-buttons"):
                yield Button("Start", variant="primary", id="job-start")
            yield Label("enter: start   escape: close", classes="hint")

    def _extras(self) -> ComposeResult:
        for label, widget in self.extras:
            with Horizontal(classes="form-row"):
                yield Label(label, classes="form-label")
                yield widget

    def on_mount(self) -> None:
        first = self.query(Input).first() if self.query(Input) else None
        if first is not None:
            first.focus()

    def args(self) -> list[str]:
        out = list(self.head)
        for _label, widget in self.extras:
            out += self.extra_args(widget)
        for f in self.fields:
            text = self.query_one(f"#job-{f.id}", Input).value
            out += f.check(text) if f.check else ([text.strip()] if text.strip() else [])
        return out

    def extra_args(self, widget: Widget) -> list[str]:
        flag = getattr(widget, "flag", "")
        if isinstance(widget, Checkbox):
            return [flag] if widget.value else []
        if isinstance(widget, Select) and widget.value is not Select.BLANK:
            return [flag, str(widget.value)] if flag else [str(widget.value)]
        return []

    def submit(self) -> None:
        try:
            args = self.args()
        except UserError as exc:
            self.query_one("#job-errors", Static).update(Text(str(exc), style="bold red"))
            return
        self.dismiss(args)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "job-start":
            self.submit()


def flagged(widget: Widget, flag: str) -> Widget:
    widget.flag = flag  # type: ignore[attr-defined]
    return widget


def train_form(run_id: str, resume: bool = False) -> JobForm:
    """Train the sampled childnet of a run; every field empty keeps the recipe's value."""
    fields = [
        Field("epochs", "epochs", "", positive_int("--epochs", "epochs"), "120"),
        Field("batch", "batch size", "", positive_int("--batch-size", "batch size"), "128"),
        Field("lr", "learning rate", "", positive_float("--lr", "learning rate"), "0.1"),
        Field("warmup", "warm-up epochs", "", positive_int("--warmup-epochs", "warm-up epochs", allow_zero=True), "5"),
        Field("subset", "train images (0=all)", "", positive_int("--subset", "train images", allow_zero=True), "0"),
        Field("test-subset", "test images (0=all)", "", positive_int("--test-subset", "test images", allow_zero=True), "0"),
        Field("recipe", "recipe file", "", existing_file("--config", "recipe file"), "TOML with [train] keys (optional)"),
    ]
    extras = [("start over", flagged(Checkbox("discard a checkpoint", False, id="job-restart", compact=True), "--restart"))]
    note = "an empty field keeps the documented CIFAR recipe (the grey values)"
    return JobForm(f"Train the childnet of {run_id}", fields, ["--resume"] if resume else [], extras, note, extras_last=True)


def baseline_form() -> JobForm:
    fields = [
        Field("name", "run name", "", None, "default: the model's"),
        Field("epochs", "epochs", "", positive_int("--epochs", "epochs"), "120"),
        Field("subset", "train images (0=all)", "", positive_int("--subset", "train images", allow_zero=True), "0"),
        Field("data-root", "data root", "", None, "data"),
    ]
    fields[0].check = lambda t: ["--name", t.strip()] if t.strip() else []
    fields[3].check = lambda t: ["--data-root", t.strip()] if t.strip() else []
    model = Select(
        [("mobilenetv2", "mobilenetv2"), ("condensenet", "condensenet")],
        value="mobilenetv2",
        allow_blank=False,
        id="job-model",
        compact=True,
    )
    data = flagged(
        Select(
            [(d, d) for d in ("cifar10", "cifar100", "synthetic", "imagefolder")],
            value="cifar10",
            allow_blank=False,
            id="job-data",
            compact=True,
        ),
        "--data",
    )
    return JobForm("Train a paper baseline as a run", fields, ["baseline"], [("model", model), ("data set", data)])


def sweep_form() -> JobForm:
    fields = [Field("file", "batch file", "examples/demo.toml", existing_file("", "batch file", required=True), "a --batch TOML")]
    return JobForm("Run a sweep from a batch file (hanna-tui --batch FILE)", fields, ["--batch"])


def export_form(run_id: str, run_path: str) -> JobForm:
    fmt = flagged(
        Select([(f, f) for f in ("torchscript", "onnx", "both")], value="torchscript", allow_blank=False, id="job-format", compact=True),
        "--format",
    )
    fields = [Field("out", "output folder", "", None, f"{run_id}/export")]
    fields[0].check = lambda t: ["--out", t.strip()] if t.strip() else []
    return JobForm(f"Export the model of {run_id}", fields, ["export", run_path], [("format", fmt)])


def report_form(default_out: str, selected: str | None, shown: int) -> JobForm:
    """`hanna-tui report`: of every run shown, or of the selected one; returns [which, output folder]."""
    choices = [(f"all {shown} runs shown", "all")] + ([(f"the selected run {selected}", "selected")] if selected else [])
    which = Select(choices, value="all", allow_blank=False, id="job-which", compact=True)
    fields = [Field("out", "output folder", default_out, None, "where the report goes")]
    fields[0].check = lambda t: [t.strip() or default_out]
    note = "figures (PNG/SVG) and index.md, written by its own process (hanna-tui report)"
    return JobForm("Write a report of the runs", fields, [], [("runs", which)], note)


@dataclass
class Job:
    """A process the dashboard started (the runs it writes follow the run-directory contract).

    state(): running, done, exit N, or stopped (a stop was asked for from here, or SIGTERM ended it).
    on_end is called once, on the UI thread, when the app sees the process gone (HannaApp.watch_jobs).
    """

    label: str
    proc: object
    log: Path
    kind: str = ""  # deploy, profile, report, ... (a screen finds its own running job again by it)
    out: Path | None = None  # what it writes (a profile, a run directory, a report folder), when known
    on_end: Callable[[Job], None] | None = None
    stop_requested: bool = False
    ended: bool = False

    def code(self) -> int | None:
        poll = getattr(self.proc, "poll", None)
        return poll() if poll else 0

    def state(self) -> str:
        code = self.code()
        if code is None:
            return "running"
        if code == 0:
            return "done"
        if self.stop_requested or code in (-signal.SIGTERM, EXIT_INTERRUPTED):
            return "stopped"
        return f"exit {code}"

    def stop(self) -> str:
        """SIGTERM to the job's process group; what was done, for the user."""
        state = self.state()
        if state != "running":
            return f"{self.label}: {state}, nothing to stop"
        self.stop_requested = True
        group = stop_group(self.proc)
        where = f"process group {group}" if group is not None else f"pid {getattr(self.proc, 'pid', '?')}"
        return f"sent SIGTERM to {self.label} ({where}); it stops"

    def check_end(self) -> bool:
        """True once, when the process is seen gone (then on_end runs)."""
        if self.ended or self.code() is None:
            return False
        self.ended = True
        if self.on_end is not None:
            self.on_end(self)
        return True


def fold_path(path: str, width: int, indent: str = "") -> str:
    """A path on lines of at most width cells, broken after a "/" (a name longer than a line is cut
    inside only then); the lines after the first start with indent."""
    lines: list[str] = []
    line = ""
    for piece in (p + "/" for p in path.split("/")[:-1]) if "/" in path else ():
        if line and len(line) + len(piece) > width:
            lines.append(line)
            line = ""
        line += piece
    line += path.rsplit("/", 1)[-1]
    while len(line) > width > 0:
        lines.append(line[:width])
        line = line[width:]
    lines.append(line)
    return ("\n" + indent).join(lines)


def job_line(job: Job, width: int = 0) -> Text:
    """The job's state and label, then its log on a line of its own (folded at "/" to width cells).

    Literal text: a label holds run ids and targets, which may hold "[" (never read as markup)."""
    log = fmt.printable(str(job.log))
    shown = fold_path(log, width - 6, "      ") if width > 12 else log
    return Text(fmt.printable(f"{job.state():<9s} {job.label}") + "\n  log " + shown)


class JobsDialog(ModalScreen[int | None]):
    """The jobs started from this dashboard; Enter on a running one stops it (SIGTERM to its process group)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Close")]

    def __init__(self, jobs: list[Job]) -> None:
        super().__init__()
        self.jobs = jobs

    def line_width(self) -> int:
        """Cells of a line inside the list: the dialog (#jobs-dialog in app.tcss) less its frame and padding."""
        return min(110, int(self.app.size.width * 0.96)) - 2 - 4 - 2 - 2 - 2  # and a scrollbar

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="jobs-dialog"):
            yield Label(Text("Jobs started here", style="bold"))
            if self.jobs:
                width = self.line_width()
                yield OptionList(*[Option(job_line(j, width), id=str(i)) for i, j in enumerate(self.jobs)], id="jobs-list")
            else:
                yield Label(
                    "No jobs yet: t trains a childnet, b a baseline, w runs a sweep, e exports, p writes a report.", classes="empty-state"
                )
            yield Label("enter: stop the job   escape: close", classes="hint")

    def on_mount(self) -> None:
        self.set_interval(0.5, self.refresh_states, name="jobs-states")

    def refresh_states(self) -> None:
        """The states as they change (running -> done / stopped), in place."""
        if not self.jobs:
            return
        options = self.query_one("#jobs-list", OptionList)
        width = self.line_width()
        for i, job in enumerate(self.jobs[: options.option_count]):
            line = job_line(job, width)
            if str(options.get_option_at_index(i).prompt) != line.plain:
                options.replace_option_prompt_at_index(i, line)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        job = self.jobs[int(event.option.id or 0)]
        running = job.state() == "running"
        self.app.notify(job.stop(), title="Stop job", severity="information" if running else "warning")
        self.refresh_states()
