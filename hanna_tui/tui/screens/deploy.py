"""Deploy and profile-a-target screens: pick a run/target, start the CLI as a job, follow its log.

DeployScreen: runs with a model (arch.json or a baseline) on the left, the target form on the
right (~/.ssh/config hosts listed; runtime and precision as the CLI's --runtime/--precision), a step
log, and measured vs predicted latency/energy with the prediction's like-with-like note.
ProfileTargetScreen: target, runtime, precision, space and output file; a progress bar over the blocks.
Values read from files (a result, a log line, a run id, a target) are never parsed as markup: they go
into Text/Content pieces and notifications with markup off, made terminal-safe by fmt.printable
(rich.markup.escape would not do: Textual's markup also reads [$var], [Red], [ red] and a trailing \\).

Both start `hanna-tui deploy ...` / `hanna-tui profile ...` as detached processes (launch.start_job):
they are jobs of the dashboard (j lists them, enter stops one: SIGTERM to its process group), they go
on when the dashboard closes, and the screen follows the job's log (bounded reads in a worker thread)
and shows the new result or profile when the job ends. No device code (nor torch) runs in the dashboard.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, OptionList, ProgressBar, RichLog, Select, Static
from textual.widgets.option_list import Option

from ... import fmt
from ...errors import UserError
from ...fsutil import finite_or_none
from ...space import SPACE_NAMES
from ...store import ARCH_FILE, RunSummary, list_runs, runs_root
from ..footer import HannaFooter
from ..launch import LogFollower, Spawner, bench_args, jobs_log, last_error, spawn_detached, start_job
from .base import HannaScreen
from .jobs import Job

ENERGY_CHOICES = [("none", "none"), ("hwmon (INA219/226/3221)", "hwmon"), ("Raspberry Pi 5 PMIC", "pmic"), ("RAPL", "rapl")]


def ssh_hosts() -> list[str]:
    try:
        from ...device.ssh import config_hosts

        return config_hosts()
    except Exception:  # noqa: BLE001 - a broken ~/.ssh/config must not break the screen
        return []


def safe_text(value: Any) -> str:
    """A value from a file as terminal-safe text (control characters shown as escapes, never sent)."""
    return fmt.printable(str(value))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def fmt_ms(value: Any) -> str:
    """A latency in the dashboard's one format (fmt.latency), 'n/a' when not measured (or not a number)."""
    value = finite_or_none(value)
    return "n/a" if value is None else fmt.latency(value)


def fmt_mj(value: Any) -> str:
    value = finite_or_none(value)
    return "n/a" if value is None else fmt.energy(value)


def ratio(measured: Any, predicted: Any) -> str:
    measured, predicted = finite_or_none(measured), finite_or_none(predicted)
    if measured is None or not predicted:
        return ""
    return f"  ({measured / predicted:.2f}x predicted)"


def result_text(result: dict[str, Any]) -> Text:
    """A deploy result (RUN/deploy/*.json) for the result pane; no value of the file is read as markup."""
    m, p = _dict(result.get("measured")), _dict(result.get("predicted"))
    board = _dict(result.get("board"))
    stats = _dict(m.get("stats"))
    lines = [
        Text.assemble(
            (safe_text(result.get("target", "?")), "bold"), f"  {safe_text(result.get('time', ''))}  {safe_text(board.get('model', ''))}"
        ),
        Text(
            f"latency  measured {fmt_ms(m.get('latency_s'))}{ratio(m.get('latency_s'), p.get('latency_s'))}   predicted {fmt_ms(p.get('latency_s'))}"
        ),
        Text(
            f"energy   measured {fmt_mj(m.get('energy_j'))}{ratio(m.get('energy_j'), p.get('energy_j'))}   predicted {fmt_mj(p.get('energy_j'))}"
        ),
    ]
    if finite_or_none(p.get("latency_calibrated_s")):
        calibrated = p["latency_calibrated_s"]
        lines.append(Text(f"         calibrated prediction {fmt_ms(calibrated)}{ratio(m.get('latency_s'), calibrated)}"))
    lines.append(
        Text(
            f"runs {safe_text(stats.get('n', '?'))}  p50 {fmt_ms(stats.get('p50'))}  p90 {fmt_ms(stats.get('p90'))}  "
            f"p99 {fmt_ms(stats.get('p99'))}  std {fmt_ms(stats.get('std'))}"
        )
    )
    how = [str(m[k]) for k in ("runtime", "statistic", "clock") if m.get(k) is not None]
    if how:
        lines.append(Text(f"measured with {safe_text(' · '.join(how))}"))
    if p.get("note"):
        lines.append(Text(safe_text(p["note"]), style="dim"))  # where the prediction came from: like with like, or why none
    return Text("\n").join(lines)


STATE_STYLE = {"running": "green", "done": "cyan", "failed": "red", "cancelled": "yellow", "interrupted": "yellow"}


def run_option(r: RunSummary) -> Text:
    """A run of the deploy list on two lines: its id, then its state and costs (a line never wraps mid-phrase)."""
    text = Text(safe_text(r.id), style="bold")
    text.append("\n  ")
    text.append(safe_text(r.state), style=STATE_STYLE.get(r.state, "dim"))
    text.append(f" · pred {fmt.latency(r.pred_latency_s)}", style="dim")
    if r.measured_latency_s is not None:
        text.append(f" · measured {fmt.latency(r.measured_latency_s)}")
    return text


def labelled(label: str, widget: Widget) -> ComposeResult:
    """A form row: a visible label beside its field."""
    with Horizontal(classes="form-row"):
        yield Label(label, classes="form-label")
        yield widget


class TargetForm(Vertical):
    """Target, remote python, runtime, precision, energy source and host-key trust."""

    DEFAULT_CSS = """
    TargetForm { height: auto; }
    """

    def __init__(self, bench: Any = None, **kwargs: Any) -> None:
        """bench: a device.profiler.BenchOptions whose runtime and precision the selects start at."""
        super().__init__(**kwargs)
        self.start_runtime = str(getattr(bench, "runtime", "torch"))
        self.start_precision = str(getattr(bench, "precision", "fp32"))

    def compose(self) -> ComposeResult:
        from ...device.cliargs import PRECISION_CHOICES, RUNTIME_CHOICES  # no torch (ssh_hosts reads paramiko anyway)

        hosts = ssh_hosts()
        yield from labelled(
            "target", Input(value="local", placeholder="local | user@host[:port] | ~/.ssh/config alias", id="target", compact=True)
        )
        if hosts:
            yield from labelled("ssh hosts", Select([(h, h) for h in hosts], prompt="~/.ssh/config hosts", id="hosts", compact=True))
        yield from labelled(
            "remote python",
            Input(
                placeholder="default: python3",
                tooltip="the board's Python (default python3); local runs this dashboard's own Python",
                id="python",
                compact=True,
            ),
        )
        runtimes = [(f"{name} ({what})", name) for name, what in RUNTIME_CHOICES.items()]
        runtime = self.start_runtime if self.start_runtime in RUNTIME_CHOICES else "torch"
        yield from labelled("runtime", Select(runtimes, value=runtime, allow_blank=False, id="runtime", compact=True))
        precisions = [(f"{name} ({what})", name) for name, what in PRECISION_CHOICES.items()]
        precision = self.start_precision if self.start_precision in PRECISION_CHOICES else "fp32"
        yield from labelled("precision", Select(precisions, value=precision, allow_blank=False, id="precision", compact=True))
        yield from labelled("energy sensor", Select(ENERGY_CHOICES, value="none", allow_blank=False, id="energy", compact=True))
        trust = Checkbox("trust a new one", id="tofu", compact=True)
        trust.tooltip = "an unknown host key is recorded in known_hosts; a changed one is always refused"
        yield from labelled("host key", trust)

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "hosts" and event.value is not Select.BLANK:
            self.query_one("#target", Input).value = str(event.value)

    def target(self) -> str:
        target = self.query_one("#target", Input).value.strip()
        if not target:
            raise UserError("enter a target: local, user@host[:port] or an ~/.ssh/config alias")
        return target

    def cli_args(self) -> list[str]:
        """--target, --remote-python, --energy, --trust-new-host of `hanna-tui deploy/profile`."""
        args = ["--target", self.target()]
        python = self.query_one("#python", Input).value.strip()
        if python:
            args += ["--remote-python", python]
        args += ["--energy", str(self.query_one("#energy", Select).value)]
        if self.query_one("#tofu", Checkbox).value:
            args.append("--trust-new-host")
        return args

    def runtime(self) -> tuple[str, str]:
        """(runtime, precision) chosen: the CLI's --runtime and --precision."""
        return str(self.query_one("#runtime", Select).value), str(self.query_one("#precision", Select).value)

    def bench_flags(self, bench: Any) -> list[str]:
        """The bench's flags (launch.bench_args) with the runtime and precision chosen here."""
        flags = bench_args(bench)
        kept: list[str] = []
        for index in range(0, len(flags) - 1, 2):  # flag/value pairs
            if flags[index] not in ("--runtime", "--precision"):
                kept += flags[index : index + 2]
        runtime, precision = self.runtime()
        return [*kept, "--runtime", runtime, "--precision", precision]


FOLLOW_S = 0.25  # how often a screen reads its job's log
PROGRESS_LINE = re.compile(r"^profile: \[\s*(\d+)/(\d+)\](.*)$")  # device.cliargs.stderr_progress


class FollowsJob:
    """A screen that starts one CLI job at a time and follows it: log lines as they come, then the end.

    The job goes into the app's jobs list (when the app has one); a screen built again while its job
    runs (the profile screen, opened again) finds it there by kind and follows it on.
    """

    JOB_KIND = ""
    job: Job | None = None
    busy = False
    spawn: Spawner | None = None

    def launch_job(self, label: str, args: list[str], log: Path, out: Path | None = None) -> Job | None:
        try:
            proc = start_job(args, log, self.spawn or spawn_detached)
        except OSError as exc:
            self.notify(safe_text(f"could not start {label}: {exc.strerror or exc}"), title="Job failed", severity="error", markup=False)  # type: ignore[attr-defined]
            return None
        job = Job(label, proc, log, kind=self.JOB_KIND, out=out)
        jobs = getattr(self.app, "jobs", None)  # type: ignore[attr-defined]
        if isinstance(jobs, list):
            jobs.append(job)
        track = getattr(self.app, "track", None)  # type: ignore[attr-defined]
        if callable(track):
            track(proc)
        self.follow(job)
        return job

    def follow(self, job: Job) -> None:
        self.job, self.busy = job, True
        self.follow_worker(job)

    def running_job(self) -> Job | None:
        """The newest running job of this kind in the app's list (one started before this screen was built)."""
        jobs = getattr(self.app, "jobs", None)  # type: ignore[attr-defined]
        for job in reversed(jobs if isinstance(jobs, list) else []):
            if getattr(job, "kind", "") == self.JOB_KIND and job.state() == "running":
                return job
        return None

    @work(thread=True, exclusive=True, group="job-follow")
    def follow_worker(self, job: Job) -> None:
        from textual.worker import get_current_worker

        worker = get_current_worker()
        follower = LogFollower(job.log)
        while not worker.is_cancelled:
            ended = job.code() is not None  # asked before reading: every line written before the end is read
            lines = follower.read() + (follower.drain() if ended else [])
            try:
                if lines:
                    self.app.call_from_thread(self._job_lines, job, lines)  # type: ignore[attr-defined]
                if ended:
                    self.app.call_from_thread(self._job_ended, job)  # type: ignore[attr-defined]
                    return
            except RuntimeError:  # the app is gone; the job goes on
                return
            time.sleep(FOLLOW_S)

    def _job_lines(self, job: Job, lines: list[str]) -> None:
        if self.is_attached:  # type: ignore[attr-defined]  # a screen closed meanwhile shows nothing
            self.job_lines(job, lines)

    def _job_ended(self, job: Job) -> None:
        if job is self.job:
            self.busy = False
        if self.is_attached:  # type: ignore[attr-defined]
            self.job_ended(job)

    def job_lines(self, job: Job, lines: list[str]) -> None:
        """New lines of the job's log (UI thread)."""

    def job_ended(self, job: Job) -> None:
        """The job's process is gone (UI thread): job.state() says done, stopped or exit N."""


class DeployScreen(FollowsJob, HannaScreen):
    """Pick a run and a target, deploy, and see measured vs predicted."""

    HOME = "#deploy-runs"
    BINDINGS = [Binding("d", "deploy", "Deploy"), Binding("r", "reload", "Reload runs", show=False)]
    DEFAULT_CSS = """
    DeployScreen .form-row { height: 1; }
    DeployScreen #deploy-runs { width: 45%; }
    DeployScreen #deploy-right { width: 55%; }
    DeployScreen RichLog { height: 8; }
    """  # the label width is app.tcss's (an app's CSS outranks a widget's DEFAULT_CSS)

    JOB_KIND = "deploy"

    def __init__(self, runs_dir: str | Path | None = None, bench: Any = None, spawn: Spawner | None = None) -> None:
        """bench: a device.profiler.BenchOptions passed as the CLI's flags (None: the CLI's defaults);
        spawn: how the job's process starts (launch.spawn_detached)."""
        super().__init__()
        self.runs_dir = runs_dir
        self.bench = bench
        self.spawn = spawn
        self.runs: list[RunSummary] = []
        self.busy = False
        self.job_run: str | None = None  # the run directory the job deploys

    def _root(self) -> Path:
        if self.runs_dir:
            return Path(self.runs_dir)
        index = getattr(self.app, "index", None)
        return index.base() if index is not None and hasattr(index, "base") else runs_root()

    def compose(self) -> ComposeResult:
        yield Static("[b]Deploy[/b]  measure a run's childnet on a board · d: deploy · tab: the form", classes="screen-title")
        with Horizontal():
            yield OptionList(id="deploy-runs")
            with VerticalScroll(id="deploy-right"):
                yield TargetForm(self.bench, id="deploy-form")
                yield Button("Deploy", variant="primary", id="deploy-go")
                yield RichLog(id="deploy-log", markup=True, wrap=True)
                yield Static("pick a run with a sampled childnet (arch.json)", id="deploy-result")
        yield HannaFooter()

    def on_mount(self) -> None:
        self.ready = True
        self.action_reload()
        self.action_home()
        job = self.running_job()
        if job is not None:
            self.job_run = str(job.out) if job.out else None
            self.follow(job)

    def runs_changed(self) -> None:
        self.action_reload()

    def candidates(self) -> list[RunSummary]:
        """Runs with a model to deploy: a sampled childnet (arch.json) or a baseline."""
        index = getattr(self.app, "index", None)
        if self.runs_dir is None and index is not None:
            return [r for r in index.summaries() if r.kind == "baseline" or r.argmax_latency_s is not None or r.argmax_energy_j is not None]
        return [r for r in list_runs(self._root()) if r.kind == "baseline" or (Path(r.path) / ARCH_FILE).is_file()]

    def action_reload(self) -> None:
        runs = self.candidates()
        shown = [(r.id, r.pred_latency_s, r.measured_latency_s, r.measured_energy_j) for r in runs]
        if shown == getattr(self, "_shown", None):
            return
        self._shown = shown
        options = self.query_one("#deploy-runs", OptionList)
        previous = self.selected()
        self.runs = runs
        options.clear_options()
        if not self.runs:
            options.add_option(Option("no runs with a childnet yet (sample one first)", disabled=True))
            return
        for r in self.runs:
            options.add_option(Option(run_option(r), id=r.id))
        selected = previous.id if previous is not None else getattr(self.app, "selected_run", None)
        index = next((i for i, r in enumerate(self.runs) if r.id == selected), None)
        if index is None:  # a finished run first: a running search's childnet is still changing
            index = next((i for i, r in enumerate(self.runs) if r.state == "done"), 0)
        options.highlighted = index
        self.show_previous()

    def selected(self) -> RunSummary | None:
        index = self.query_one("#deploy-runs", OptionList).highlighted
        return self.runs[index] if index is not None and 0 <= index < len(self.runs) else None

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.show_previous()

    def show_previous(self) -> None:
        run = self.selected()
        if run is None:
            return
        from ...store import Run

        results = Run(run.path).deploy_results()
        text = (
            result_text(results[-1]) if results else Text(safe_text(f"{run.id}: not deployed yet (predicted {fmt_ms(run.pred_latency_s)})"))
        )
        self.query_one("#deploy-result", Static).update(text)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "deploy-go":
            self.action_deploy()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the target (or python) field deploys, as the d key does outside the fields."""
        event.stop()
        self.action_deploy()

    def action_deploy(self) -> None:
        run = self.selected()
        log = self.query_one("#deploy-log", RichLog)
        if self.busy:
            self.notify("a deployment is already running (j lists the jobs)", severity="warning")
            return
        if run is None:
            self.notify("pick a run first", severity="warning")
            return
        try:
            form = self.query_one(TargetForm)
            target, flags = form.target(), form.cli_args()
        except UserError as exc:
            self.notify(safe_text(exc), severity="error", markup=False)
            return
        from ...device.deploy import target_slug  # no torch: the slug of the result file's name

        log.write(Text(safe_text(f"deploying {run.id} to {target}")))
        logfile = jobs_log(Path(run.path) / "deploy", target_slug(target))  # beside its results (RUN/deploy/*.json)
        self.job_run = str(run.path)
        args = ["deploy", str(run.path), *flags, *form.bench_flags(self.bench)]
        job = self.launch_job(f"deploy {run.id} to {target}", args, logfile, Path(run.path))
        if job is not None:
            log.write(Text(safe_text(f"job started, log {logfile}"), style="dim"))

    def job_lines(self, job: Job, lines: list[str]) -> None:
        log = self.query_one("#deploy-log", RichLog)
        for line in lines:
            if line.strip():
                log.write(Text(safe_text(line.removeprefix("deploy: "))))

    def job_ended(self, job: Job) -> None:
        log = self.query_one("#deploy-log", RichLog)
        state = job.state()
        if state == "stopped":
            log.write(Text("stopped (SIGTERM); nothing was saved", style="yellow"))
            self.notify(safe_text(f"{job.label}: stopped"), title="Deploy", severity="warning", markup=False)
            return
        if state != "done":
            error = safe_text(last_error(job.log))
            log.write(Text.assemble(("failed: ", "red"), f"{error} ({state})"))
            self.notify(error, title="Deploy failed", severity="error", markup=False)
            return
        from ...store import Run

        results = Run(self.job_run).deploy_results() if self.job_run else []
        log.write(Text("done", style="green"))
        self._shown = None  # the list's measured column follows at the app's next poll; the result now
        self.action_reload()
        selected = self.selected()
        if results and (selected is None or str(selected.path) == self.job_run):
            self.query_one("#deploy-result", Static).update(result_text(results[-1]))
        elif results:
            measured = results[-1].get("measured", {})
            self.notify(safe_text(f"{job.label}: measured {fmt_ms(_dict(measured).get('latency_s'))}"), title="Deployed", markup=False)


class ProfileTargetScreen(FollowsJob, HannaScreen):
    """Measure a target's lookup tables from the dashboard (the Profiles screen's 'profile a target')."""

    HELP_NAME = "Profile a target"
    BINDINGS = [Binding("escape", "app.pop_screen", "Back", tooltip="Back to Profiles (profiling goes on)")]
    DEFAULT_CSS = """
    ProfileTargetScreen .form-row { height: 1; }
    ProfileTargetScreen RichLog { height: 10; }
    ProfileTargetScreen #profile-progress { display: none; }
    ProfileTargetScreen #profile-progress.-started { display: block; }
    """

    JOB_KIND = "profile"

    def __init__(self, profiles_dir: str | Path | None = None, bench: Any = None, spawn: Spawner | None = None) -> None:
        """bench: a device.profiler.BenchOptions passed as the CLI's flags (None: the CLI's defaults)."""
        super().__init__()
        self.profiles_dir = profiles_dir
        self.bench = bench
        self.spawn = spawn
        self.busy = False
        self.out: Path | None = None  # the profile the job writes

    def _folder(self) -> Path:
        return Path(self.profiles_dir or getattr(self.app, "profiles_path", "profiles"))

    def compose(self) -> ComposeResult:
        yield Static(
            "[b]Profile a target[/b]  time every candidate block on the board · esc: back (profiling goes on)", classes="screen-title"
        )
        with VerticalScroll():
            yield TargetForm(self.bench, id="profile-form")
            yield from labelled(
                "space", Select([(s, s) for s in SPACE_NAMES], value="fbnet-cifar10", allow_blank=False, id="space", compact=True)
            )
            yield from labelled("width multiplier", Input(value="1.0", placeholder="a number > 0", id="width", compact=True))
            yield from labelled("output name", Input(placeholder="profiles/NAME.toml; default: the target", id="out", compact=True))
            yield Button("Start profiling", variant="primary", id="profile-go")
            yield ProgressBar(id="profile-progress", show_eta=True)
            yield Static("", id="profile-status")
            yield RichLog(id="profile-log", markup=True, wrap=True)
        yield HannaFooter()

    def show_progress(self) -> None:
        """The bar appears once a job runs (idle, it would animate over nothing)."""
        self.query_one("#profile-progress", ProgressBar).add_class("-started")

    def on_mount(self) -> None:
        job = self.running_job()  # started before esc: back; followed on from its log's tail
        if job is not None:
            self.show_progress()
            self.out = job.out
            self.query_one("#profile-log", RichLog).write(Text(safe_text(f"following {job.label} (log {job.log})")))
            self.follow(job)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "profile-go":
            self.start()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.start()

    def request(self) -> tuple[str, Path, list[str]]:
        """(target, output file, the `hanna-tui profile` arguments) of the form; raises UserError."""
        from ...device.deploy import target_slug  # no torch

        form = self.query_one(TargetForm)
        target, flags = form.target(), form.cli_args()
        try:
            width = float(self.query_one("#width", Input).value)
        except ValueError:
            raise UserError("width multiplier: expected a number > 0") from None
        if not 0 < width < float("inf"):
            raise UserError("width multiplier: expected a number > 0")
        name = self.query_one("#out", Input).value.strip() or target_slug(target)
        out = (self._folder() / (name if name.endswith(".toml") else f"{name}.toml")).resolve()
        space = str(self.query_one("#space", Select).value)
        args = ["profile", *flags, "--space", space, "--width-mult", repr(width), "--out", str(out), *form.bench_flags(self.bench)]
        return target, out, args

    def _logs(self) -> Path:
        """Job logs: the dashboard's (RUNS/.jobs, beside the baseline and sweep logs), else the profiles folder's .jobs."""
        index = getattr(self.app, "index", None)
        if index is not None and hasattr(index, "base"):
            return Path(index.base()) / ".jobs"
        return self._folder() / ".jobs"

    def start(self) -> None:
        if self.busy:
            self.notify("profiling is already running (j lists the jobs)", severity="warning")
            return
        try:
            target, out, args = self.request()
        except UserError as exc:
            self.notify(safe_text(exc), severity="error", markup=False)
            return
        self.out = out
        self.show_progress()
        self.query_one("#profile-progress", ProgressBar).update(total=None, progress=0)
        self.query_one("#profile-log", RichLog).write(Text(safe_text(f"profiling {target} -> {out}")))
        job = self.launch_job(f"profile {target} -> {out.name}", args, jobs_log(self._logs(), f"profile-{out.stem}"), out)
        if job is not None:
            self.query_one("#profile-log", RichLog).write(Text(safe_text(f"job started, log {job.log}"), style="dim"))

    def job_lines(self, job: Job, lines: list[str]) -> None:
        bar = self.query_one("#profile-progress", ProgressBar)
        log = self.query_one("#profile-log", RichLog)
        status = None
        for line in lines:
            match = PROGRESS_LINE.match(line)
            if match:
                done, total, rest = int(match[1]), int(match[2]), match[3].strip()
                bar.update(total=total, progress=done)
                status = safe_text(f"[{done}/{total}] {rest}")
            elif line.strip():
                log.write(Text(safe_text(line.removeprefix("profile: ")), style="yellow"))
        if status is not None:
            self.query_one("#profile-status", Static).update(Text(status))

    def job_ended(self, job: Job) -> None:
        log = self.query_one("#profile-log", RichLog)
        out = job.out or self.out
        state = job.state()
        if state == "done":
            log.write(Text(safe_text(f"wrote {out}"), style="green"))
            self.notify(safe_text(f"wrote {out}"), title="Profile ready", markup=False)
        elif state == "stopped":
            log.write(Text(safe_text(f"stopped (SIGTERM); {out} not written (measured blocks kept for a resume)"), style="yellow"))
            self.notify(safe_text(f"{job.label}: stopped"), title="Profiling", severity="warning", markup=False)
        else:
            error = safe_text(last_error(job.log))
            log.write(Text.assemble(("failed: ", "red"), f"{error} ({state})"))
            self.notify(error, title="Profiling failed", severity="error", markup=False)
