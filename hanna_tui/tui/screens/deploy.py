"""Deploy and profile-a-target screens: pick a run/target, run the device layer in a worker, show progress.

DeployScreen: runs with a model (arch.json or a baseline) on the left, the target form on the
right (~/.ssh/config hosts listed), a step log, and measured vs predicted latency/energy.
ProfileTargetScreen: target, space and output file; a progress bar over the blocks of the table.
Both call the core (hanna_tui.device) from thread workers; nothing here blocks the UI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Footer, Input, Label, OptionList, ProgressBar, RichLog, Select, Static
from textual.widgets.option_list import Option

from ... import fmt
from ...errors import UserError
from ...space import SPACE_NAMES
from ...store import RunSummary, list_runs, runs_root
from .base import HannaScreen

ENERGY_CHOICES = [("none", "none"), ("hwmon (INA219/226/3221)", "hwmon"), ("Raspberry Pi 5 PMIC", "pmic"), ("RAPL", "rapl")]


def ssh_hosts() -> list[str]:
    try:
        from ...device.ssh import config_hosts

        return config_hosts()
    except Exception:  # noqa: BLE001 - a broken ~/.ssh/config must not break the screen
        return []


def fmt_ms(value: float | None) -> str:
    """A latency in the dashboard's one format (fmt.latency), 'n/a' when not measured."""
    return "n/a" if value is None else fmt.latency(value)


def fmt_mj(value: float | None) -> str:
    return "n/a" if value is None else fmt.energy(value)


def ratio(measured: float | None, predicted: float | None) -> str:
    if measured is None or not predicted:
        return ""
    return f"  ({measured / predicted:.2f}x predicted)"


def result_text(result: dict[str, Any]) -> str:
    m, p = result.get("measured", {}), result.get("predicted", {})
    board = result.get("board", {})
    stats = m.get("stats", {})
    return "\n".join(
        [
            f"[b]{result.get('target', '?')}[/b]  {result.get('time', '')}  {board.get('model', '')}",
            f"latency  measured {fmt_ms(m.get('latency_s'))}{ratio(m.get('latency_s'), p.get('latency_s'))}   predicted {fmt_ms(p.get('latency_s'))}",
            f"energy   measured {fmt_mj(m.get('energy_j'))}{ratio(m.get('energy_j'), p.get('energy_j'))}   predicted {fmt_mj(p.get('energy_j'))}",
            *(
                [
                    f"         calibrated prediction {fmt_ms(p['latency_calibrated_s'])}{ratio(m.get('latency_s'), p['latency_calibrated_s'])}"
                ]
                if p.get("latency_calibrated_s")
                else []
            ),
            f"runs {stats.get('n', '?')}  p50 {fmt_ms(stats.get('p50'))}  p90 {fmt_ms(stats.get('p90'))}  p99 {fmt_ms(stats.get('p99'))}  std {fmt_ms(stats.get('std'))}",
        ]
    )


def labelled(label: str, widget: Widget) -> ComposeResult:
    """A form row: a visible label beside its field."""
    with Horizontal(classes="form-row"):
        yield Label(label, classes="form-label")
        yield widget


class TargetForm(Vertical):
    """Target, remote python, energy source and host-key trust."""

    DEFAULT_CSS = """
    TargetForm { height: auto; }
    """

    def compose(self) -> ComposeResult:
        hosts = ssh_hosts()
        yield from labelled(
            "target", Input(value="local", placeholder="local | user@host[:port] | ~/.ssh/config alias", id="target", compact=True)
        )
        if hosts:
            yield from labelled("ssh hosts", Select([(h, h) for h in hosts], prompt="~/.ssh/config hosts", id="hosts", compact=True))
        yield from labelled("remote python", Input(placeholder="default python3; this python for local", id="python", compact=True))
        yield from labelled("energy sensor", Select(ENERGY_CHOICES, value="none", allow_blank=False, id="energy", compact=True))
        yield from labelled("host key", Checkbox("trust a new one (records it in known_hosts)", id="tofu", compact=True))

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "hosts" and event.value is not Select.BLANK:
            self.query_one("#target", Input).value = str(event.value)

    def connect_options(self):
        from ...device.profiler import ConnectOptions

        target = self.query_one("#target", Input).value.strip()
        if not target:
            raise UserError("enter a target: local, user@host[:port] or an ~/.ssh/config alias")
        python = self.query_one("#python", Input).value.strip() or None
        return ConnectOptions(target, python, self.query_one("#tofu", Checkbox).value)

    def energy(self):
        from ...device.energy import parse_energy

        return parse_energy(str(self.query_one("#energy", Select).value))


class DeployScreen(HannaScreen):
    """Pick a run and a target, deploy, and see measured vs predicted."""

    HOME = "#deploy-runs"
    BINDINGS = [Binding("d", "deploy", "Deploy"), Binding("r", "reload", "Reload runs", show=False)]
    DEFAULT_CSS = """
    DeployScreen .form-row { height: 1; }
    DeployScreen .form-label { width: 16; }
    DeployScreen #deploy-runs { width: 45%; }
    DeployScreen #deploy-right { width: 55%; }
    DeployScreen RichLog { height: 8; }
    """

    def __init__(self, runs_dir: str | Path | None = None, bench: Any = None) -> None:
        super().__init__()
        self.runs_dir = runs_dir
        self.bench = bench
        self.runs: list[RunSummary] = []
        self.busy = False

    def _root(self) -> Path:
        if self.runs_dir:
            return Path(self.runs_dir)
        index = getattr(self.app, "index", None)
        return index.base() if index is not None and hasattr(index, "base") else runs_root()

    def compose(self) -> ComposeResult:
        yield Static(
            "[b]Deploy[/b]  run a childnet on a board and measure it · d (or enter in a field): deploy · tab: the form",
            classes="screen-title",
        )
        with Horizontal():
            yield OptionList(id="deploy-runs")
            with VerticalScroll(id="deploy-right"):
                yield TargetForm(id="deploy-form")
                yield Button("Deploy", variant="primary", id="deploy-go")
                yield RichLog(id="deploy-log", markup=True, wrap=True)
                yield Static("pick a run with a sampled childnet (arch.json)", id="deploy-result")
        yield Footer()

    def on_mount(self) -> None:
        self.ready = True
        self.action_reload()
        self.action_home()

    def runs_changed(self) -> None:
        self.action_reload()

    def candidates(self) -> list[RunSummary]:
        """Runs with a model to deploy: a sampled childnet (arch.json) or a baseline."""
        index = getattr(self.app, "index", None)
        if self.runs_dir is None and index is not None:
            return [r for r in index.summaries() if r.kind == "baseline" or r.argmax_latency_s is not None or r.argmax_energy_j is not None]
        return [r for r in list_runs(self._root()) if r.kind == "baseline" or (Path(r.path) / "arch.json").is_file()]

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
            measured = f"  measured {fmt.latency(r.measured_latency_s)}" if r.measured_latency_s is not None else ""
            options.add_option(Option(f"{r.id}  pred {fmt.latency(r.pred_latency_s)}{measured}", id=r.id))
        selected = previous.id if previous is not None else getattr(self.app, "selected_run", None)
        index = next((i for i, r in enumerate(self.runs) if r.id == selected), 0)
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
        text = result_text(results[-1]) if results else f"{run.id}: not deployed yet (predicted {fmt_ms(run.pred_latency_s)})"
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
            self.notify("a deployment is already running", severity="warning")
            return
        if run is None:
            self.notify("pick a run first", severity="warning")
            return
        try:
            form = self.query_one(TargetForm)
            connect, energy = form.connect_options(), form.energy()
        except UserError as exc:
            self.notify(str(exc), severity="error")
            return
        self.busy = True
        log.write(f"deploying {run.id} to {connect.target}")
        self.deploy_worker(run.path, connect, energy)

    @work(thread=True, exclusive=True, group="deploy")
    def deploy_worker(self, run_path: str, connect: Any, energy: Any) -> None:
        from ...device.deploy import DeployRequest, deploy_run
        from ...device.profiler import BenchOptions
        from ...store import Run

        bench = self.bench or BenchOptions(min_runs=100, min_s=1.0, max_s=30.0, warmup_runs=10, warmup_s=0.5)
        req = DeployRequest(Run(run_path), connect, bench, energy)
        try:
            _, result = deploy_run(req, lambda msg: self.app.call_from_thread(self.step, msg))
        except UserError as exc:
            self.app.call_from_thread(self.finished, None, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - shown, never a crash of the dashboard
            self.app.call_from_thread(self.finished, None, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self.finished, result, "")

    def step(self, message: str) -> None:
        self.query_one("#deploy-log", RichLog).write(message)

    def finished(self, result: dict | None, error: str) -> None:
        self.busy = False
        log = self.query_one("#deploy-log", RichLog)
        if error:
            log.write(f"[red]failed:[/red] {error}")
            self.notify(error, title="Deploy failed", severity="error")
            return
        self.query_one("#deploy-result", Static).update(result_text(result or {}))
        log.write("[green]done[/green]")
        self.action_reload()


class ProfileTargetScreen(HannaScreen):
    """Measure a target's lookup tables from the dashboard (the Profiles screen's 'profile a target')."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]
    DEFAULT_CSS = """
    ProfileTargetScreen .form-row { height: 1; }
    ProfileTargetScreen .form-label { width: 18; }
    ProfileTargetScreen RichLog { height: 10; }
    """

    def __init__(self, profiles_dir: str | Path | None = None, bench: Any = None) -> None:
        super().__init__()
        self.profiles_dir = profiles_dir
        self.bench = bench
        self.busy = False

    def _folder(self) -> Path:
        return Path(self.profiles_dir or getattr(self.app, "profiles_path", "profiles"))

    def compose(self) -> ComposeResult:
        yield Static(
            "[b]Profile a target[/b]  time every candidate block on the board · esc: back (profiling goes on)", classes="screen-title"
        )
        with VerticalScroll():
            yield TargetForm(id="profile-form")
            yield from labelled(
                "space", Select([(s, s) for s in SPACE_NAMES], value="fbnet-cifar10", allow_blank=False, id="space", compact=True)
            )
            yield from labelled("width multiplier", Input(value="1.0", placeholder="a number > 0", id="width", compact=True))
            yield from labelled("output name", Input(placeholder="profiles/NAME.toml; default: the target", id="out", compact=True))
            yield Button("Start profiling", variant="primary", id="profile-go")
            yield ProgressBar(id="profile-progress", show_eta=True)
            yield Static("", id="profile-status")
            yield RichLog(id="profile-log", markup=True, wrap=True)
        yield Footer()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "profile-go":
            self.start()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.start()

    def request(self):
        from ...device.deploy import target_slug
        from ...device.profiler import BenchOptions, ProfileRequest

        form = self.query_one(TargetForm)
        connect, energy = form.connect_options(), form.energy()
        try:
            width = float(self.query_one("#width", Input).value)
        except ValueError:
            raise UserError("width multiplier: expected a number > 0") from None
        if not width > 0:
            raise UserError("width multiplier: expected a number > 0")
        name = self.query_one("#out", Input).value.strip() or target_slug(connect.target)
        out = self._folder() / (name if name.endswith(".toml") else f"{name}.toml")
        space = str(self.query_one("#space", Select).value)
        return ProfileRequest(connect, out, space, width, self.bench or BenchOptions(), energy)

    def start(self) -> None:
        if self.busy:
            self.notify("profiling is already running", severity="warning")
            return
        try:
            req = self.request()
        except UserError as exc:
            self.notify(str(exc), severity="error")
            return
        self.busy = True
        self.query_one("#profile-log", RichLog).write(f"profiling {req.connect.target} -> {req.out}")
        self.profile_worker(req)

    @work(thread=True, exclusive=True, group="profile")
    def profile_worker(self, req: Any) -> None:
        from ...device.profiler import profile_target

        try:
            profile_target(req, lambda event: self.app.call_from_thread(self.progress, event))
        except UserError as exc:
            self.app.call_from_thread(self.finished, str(exc), req.out)
            return
        except Exception as exc:  # noqa: BLE001 - shown, never a crash of the dashboard
            self.app.call_from_thread(self.finished, f"{type(exc).__name__}: {exc}", req.out)
            return
        self.app.call_from_thread(self.finished, "", req.out)

    def progress(self, event: Any) -> None:
        bar = self.query_one("#profile-progress", ProgressBar)
        bar.update(total=event.total, progress=event.done)
        if event.message:
            self.query_one("#profile-log", RichLog).write(f"[yellow]{event.message}[/yellow]")
        else:
            lat = f" {event.latency_s * 1e3:.4f} ms" if event.latency_s is not None else ""
            self.query_one("#profile-status", Static).update(f"[{event.done}/{event.total}] {event.key}{lat}")

    def finished(self, error: str, out: Path) -> None:
        self.busy = False
        log = self.query_one("#profile-log", RichLog)
        if error:
            log.write(f"[red]failed:[/red] {error}")
            self.notify(error, title="Profiling failed", severity="error")
        else:
            log.write(f"[green]wrote {out}[/green]")
            self.notify(f"wrote {out}", title="Profile ready")
