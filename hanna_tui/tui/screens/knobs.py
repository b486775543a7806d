"""Knobs: alpha, beta, gamma, delta with live pre-visualisation (paper: vLAT, vENER, dominance), and the launch form.

Everything a real search needs is a field here (data root and download, batch size, width, image
size, epochs, warm-up, mode, seed, profile, optional budgets); the form is checked as it is typed
(launch.build_config) so a launch that would fail is refused here with the reason.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.timer import Timer
from textual.widgets import Checkbox, Collapsible, Input, Label, Select, Static
from textual_plotext import PlotextPlot

from ... import fmt
from ...config import DATA_NAMES, MODES, SearchConfig, demo_config
from ...cost import CostModel, knob_readout
from ...errors import ConfigError, UserError
from ...knobs import FORMS, KNOB_NAMES, Knobs, penalty
from ...profiles import DeviceProfile, list_profiles
from ...space import SPACE_NAMES
from ..footer import HannaFooter
from ..launch import LaunchForm, build_config, launch_search
from ..paths import DEFAULT_PROFILE_NAME
from ..presets import Preset, list_presets, load_preset, preset_from_config, save_preset
from ..readouts import penalty_vs_ce
from ..render import SHORT
from ..widgets import KnobInput, NameDialog, PickDialog, parse_float
from .base import HannaScreen
from .profiles import folder_signature

KNOBS = KNOB_NAMES
KNOB_HELP = {
    "alpha": "α lat factor",
    "beta": "β lat exponent",
    "gamma": "γ ener factor",
    "delta": "δ ener exponent",
}
KNOB_RANGE = {"alpha": (0.0, 1000.0), "beta": (-10.0, 10.0), "gamma": (0.0, 1000.0), "delta": (-10.0, 10.0)}
KNOB_KEYS = {"alpha": "a", "beta": "b", "gamma": "g", "delta": "d"}
DEMO = Preset()
PLOT_DELAY_S = 0.12


@dataclass
class ProfileChoice:
    path: str
    profile: DeviceProfile
    model: CostModel


class KnobsScreen(HannaScreen):
    """Set the loss knobs and see at once what they do; one key launches the search."""

    HOME = "#knob-form"
    BINDINGS = [
        Binding("l,ctrl+s", "launch", "Launch search"),
        *(Binding(key, f"edit('{name}')", f"edit {name}", show=False) for name, key in KNOB_KEYS.items()),
        Binding("o", "toggle_options", "Search/data options"),
        Binding("f7", "save_preset", "Save preset"),
        Binding("f8", "load_preset", "Load preset"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.choices: dict[str, ProfileChoice] = {}
        self.errors: list[str] = []
        self.readout: dict[str, Any] | None = None
        self._plot_timer: Timer | None = None
        self._shown_errors = ""

    # layout
    def compose(self) -> ComposeResult:
        self._load_profiles()
        base = self.base()
        yield Static(
            "[b]Knobs[/b]  loss = CE + α·LAT^β + γ·ENER^δ · a b g d: edit · ↑/↓: step · l: launch",
            classes="screen-title",
        )
        with Horizontal(id="knobs-body"):
            with VerticalScroll(id="knob-form"):
                yield Static("loss", classes="form-section")
                for name in KNOBS:
                    low, high = KNOB_RANGE[name]
                    yield from self._row(
                        f"{KNOB_HELP[name]} ({KNOB_KEYS[name]})", KnobInput(f"{getattr(DEMO.knobs, name):g}", id=name, low=low, high=high)
                    )
                yield from self._row(
                    "loss form", Select([(f, f) for f in FORMS], value=base.knobs.form, allow_blank=False, id="form", compact=True)
                )
                with Collapsible(title="search, data and budgets (o)", collapsed=True, id="run-fields"):
                    yield Static("search", classes="form-section")
                    profiles = [(Path(p).stem, p) for p in self.choices]
                    default = self._default_profile()
                    yield from self._row(
                        "profile",
                        Select(
                            profiles, value=default if default else Select.NULL, allow_blank=default is None, id="profile", compact=True
                        ),
                    )
                    yield from self._row(
                        "space", Select([(s, s) for s in SPACE_NAMES], value=DEMO.space, allow_blank=False, id="space", compact=True)
                    )
                    yield from self._row(
                        "mode", Select([(m, m) for m in MODES], value=DEMO.mode, allow_blank=False, id="mode", compact=True)
                    )
                    yield from self._row("epochs", KnobInput(str(DEMO.epochs), id="epochs", fine=1, low=1, high=10000, integer=True))
                    yield from self._row(
                        "warm-up epochs", KnobInput(str(base.search.warmup_epochs), id="warmup", fine=1, low=0, high=10000, integer=True)
                    )
                    yield from self._row(
                        "batch size", KnobInput(str(base.search.batch_size), id="batch", fine=8, low=1, high=65536, integer=True)
                    )
                    yield from self._row("width mult", KnobInput(f"{base.space.width_mult:g}", id="width", fine=0.05, low=0.05, high=4.0))
                    yield from self._row(
                        "image size (0=space)", KnobInput(str(base.data.image_size), id="image", fine=8, low=0, high=1024, integer=True)
                    )
                    yield from self._row("seed", KnobInput(str(DEMO.seed), id="seed", fine=1, low=0, high=2**31 - 1, integer=True))
                    yield Static("data", classes="form-section")
                    yield from self._row(
                        "data set", Select([(d, d) for d in DATA_NAMES], value=DEMO.data, allow_blank=False, id="data", compact=True)
                    )
                    yield from self._row("data root", Input(base.data.root, id="data-root", compact=True))
                    yield from self._row("download", Checkbox("fetch if missing", base.data.download, id="download", compact=True))
                    yield Static("budgets (optional, empty = none)", classes="form-section")
                    yield from self._row("latency ≤ (s)", Input("", id="budget-lat", placeholder="none", compact=True))
                    yield from self._row("energy ≤ (J)", Input("", id="budget-ener", placeholder="none", compact=True))
                yield Static("", id="form-errors")
            with Vertical(id="knob-right"):
                yield Static("", id="readout")
                yield PlotextPlot(id="penalty-plot")
        yield HannaFooter()

    def base(self) -> SearchConfig:
        """The config the form starts from and launches on (tui --config FILE, else the demo)."""
        return self.hanna_app.base_config or demo_config()

    def _row(self, label: str, widget) -> ComposeResult:
        with Horizontal(classes="form-row"):
            yield Label(label, classes="form-label")
            yield widget

    def _load_profiles(self) -> None:
        self._profiles_seen = folder_signature(self.hanna_app.profiles_path)
        self.choices = {}
        for path, prof in list_profiles(self.hanna_app.profiles_path):
            if isinstance(prof, DeviceProfile):
                try:
                    self.choices[str(path)] = ProfileChoice(str(path), prof, CostModel(prof))
                except ValueError:
                    continue

    def tick(self) -> None:
        """A profile measured or copied in meanwhile appears in the profile list by itself."""
        signature = folder_signature(self.hanna_app.profiles_path)
        if signature == self._profiles_seen:
            return
        self._profiles_seen = signature
        select = self.query_one("#profile", Select)
        current = select.value
        self._load_profiles()
        select.set_options([(Path(p).stem, p) for p in self.choices])
        if isinstance(current, str) and current in self.choices:
            select.value = current
        elif (default := self._default_profile()) is not None:
            select.value = default
        self.update_readout()

    def _default_profile(self) -> str | None:
        for path in self.choices:
            if Path(path).name == DEFAULT_PROFILE_NAME:
                return path
        return next(iter(self.choices), None)

    def on_mount(self) -> None:
        self.ready = True
        self.action_home()
        if self.hanna_app.base_config is not None:
            self.apply_preset(preset_from_config(self.hanna_app.base_config))
        self.update_readout()
        if self.readout:
            self.draw_plot(self.readout)  # at once on mount; later keystrokes debounce it

    # validation and readouts
    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _changed(self, event) -> None:
        self.update_readout()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_home()

    def action_toggle_options(self) -> None:
        """The search, data and budget fields fold away: fewer widgets keep each keystroke's repaint cheap."""
        fields = self.query_one("#run-fields", Collapsible)
        fields.collapsed = not fields.collapsed

    def action_edit(self, name: str) -> None:
        self.query_one(f"#{name}", Input).focus()

    def knob_values(self) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for name in KNOBS:
            widget = self.query_one(f"#{name}", KnobInput)
            result = widget.validate(widget.value)
            out[name] = parse_float(widget.value) if result is None or result.is_valid else None
        return out

    def field_errors(self) -> list[str]:
        """Each field's own check, then the whole form as the search would see it (one line each)."""
        errors = []
        if not getattr(self, "_number_inputs", None):  # queried once: a keystroke should not walk the DOM
            self._number_inputs = list(self.query(KnobInput))
        for widget in self._number_inputs:
            result = widget.validate(widget.value)
            if result is not None and not result.is_valid:
                errors.append(f"{widget.id}: {'; '.join(result.failure_descriptions)}")
        for wid in ("budget-lat", "budget-ener"):
            text = self.query_one(f"#{wid}", Input).value.strip()
            if text and parse_float(text) is None:
                errors.append(f"{wid}: expected a number > 0 or nothing, got {text!r}")
        choice = self.current_choice()
        if choice is None:
            errors.append(
                f"profile: none found in {self.hanna_app.profiles_path} (make one with `hanna-tui profile` or copy profiles/{DEFAULT_PROFILE_NAME})"
            )
        if errors:
            return errors
        try:
            build_config(self.read_form(), copy.deepcopy(self.base()), choice.profile if choice else None)
        except ConfigError as exc:
            errors.append(str(exc).removeprefix("knobs screen: "))
        return errors

    def current_choice(self) -> ProfileChoice | None:
        value = self.query_one("#profile", Select).value
        return self.choices.get(value) if isinstance(value, str) else None

    def update_readout(self) -> None:
        self.errors = self.field_errors()
        errors_text = "\n".join(self.errors)
        if any(not e.startswith(KNOBS) for e in self.errors):
            self.query_one("#run-fields", Collapsible).collapsed = False  # a problem in a folded field: show it
        if errors_text != self._shown_errors:
            self._shown_errors = errors_text
            self.query_one("#form-errors", Static).update(Text(errors_text, style="bold red"))
        choice, values = self.current_choice(), self.knob_values()
        readout_widget = self.query_one("#readout", Static)
        if choice is None or any(v is None for v in values.values()):
            self.readout = None
            readout_widget.update(Text("Fix the fields marked in red to see the readouts.", style="italic"), layout=False)
            return
        try:
            form = str(self.query_one("#form", Select).value)
            self.readout = knob_readout(choice.model, Knobs(**values, form=form))  # type: ignore[arg-type]
        except (ValueError, OverflowError) as exc:
            self.readout = None
            readout_widget.update(Text(f"cannot compute: {exc}", style="bold red"), layout=False)
            return
        readout_widget.update(readout_table(self.readout, choice.profile.network.num_classes), layout=False)
        self.schedule_plot()

    def schedule_plot(self) -> None:
        """The numbers repaint on the keystroke; the plot follows once typing pauses (it costs more)."""
        if self._plot_timer is not None:
            self._plot_timer.stop()
        self._plot_timer = self.set_timer(PLOT_DELAY_S, lambda: self.readout and self.draw_plot(self.readout))

    def draw_plot(self, r: dict[str, Any]) -> None:
        widget = self.query_one("#penalty-plot", PlotextPlot)
        plt = widget.plt
        plt.clear_figure()
        xs = [i / 40 for i in range(41)]
        lat = [penalty(r["lat_min"] + x * (r["lat_max"] - r["lat_min"]), r["alpha"], r["beta"]) for x in xs]
        plt.plot(xs, lat, label="α·LAT^β", marker="braille")
        if r["ener_min"] is not None:
            ener = [penalty(r["ener_min"] + x * (r["ener_max"] - r["ener_min"]), r["gamma"], r["delta"]) for x in xs]
            plt.plot(xs, ener, label="γ·ENER^δ", marker="braille")
        plt.title("penalty over the profile's range (0 = cheapest arch, 1 = dearest)")
        plt.xlim(0, 1)
        widget.refresh()

    # actions
    def form(self) -> LaunchForm | None:
        """The form to launch, or None while a field is wrong (self.errors says which)."""
        return None if self.errors else self.read_form()

    def read_form(self) -> LaunchForm:
        values = self.knob_values()
        choice = self.current_choice()
        assert choice is not None

        def number(wid: str) -> str:
            return self.query_one(f"#{wid}", Input).value.strip()

        return LaunchForm(
            alpha=values["alpha"] or 0.0,
            beta=values["beta"] or 0.0,
            gamma=values["gamma"] or 0.0,
            delta=values["delta"] or 0.0,
            profile=choice.path,
            space=str(self.query_one("#space", Select).value),
            data=str(self.query_one("#data", Select).value),
            epochs=int(number("epochs")),
            mode=str(self.query_one("#mode", Select).value),
            seed=int(number("seed")),
            form=str(self.query_one("#form", Select).value),
            data_root=number("data-root") or self.base().data.root,
            download=self.query_one("#download", Checkbox).value,
            batch_size=int(number("batch")),
            width_mult=float(number("width")),
            image_size=int(number("image")),
            warmup_epochs=int(number("warmup")),
            latency_s=parse_float(number("budget-lat")) if number("budget-lat") else None,
            energy_j=parse_float(number("budget-ener")) if number("budget-ener") else None,
        )

    def action_launch(self) -> None:
        self.update_readout()
        form = self.form()
        if form is None:
            self.notify("Nothing launched: " + "; ".join(self.errors), title="Invalid knobs", severity="error")
            return
        try:
            run, proc = launch_search(form, root=self.hanna_app.index.root, spawn=self.hanna_app.spawn, base=self.hanna_app.base_config)
        except (UserError, OSError) as exc:
            self.notify(str(exc), title="Launch failed", severity="error")
            return
        self.hanna_app.track(proc)
        self.hanna_app.index.refresh(full=True)
        self.hanna_app.selected_run = run.id
        self.notify(f"search {run.id} started (log: {run.path / 'search.log'})", title="Launched")
        self.app.switch_mode("runs")

    def current_preset(self) -> Preset:
        values = self.knob_values()
        choice = self.current_choice()
        preset = Preset()
        try:
            preset.knobs = replace(preset.knobs, **{n: v for n, v in values.items() if n in KNOBS and v is not None})
        except ValueError:
            pass  # an out-of-range knob keeps the demo's value
        preset.profile = choice.path if choice else ""
        preset.space = str(self.query_one("#space", Select).value)
        preset.data = str(self.query_one("#data", Select).value)
        preset.mode = str(self.query_one("#mode", Select).value)
        for name in ("epochs", "seed"):
            text = self.query_one(f"#{name}", Input).value
            if text.isdigit():
                setattr(preset, name, int(text))
        return preset

    def action_save_preset(self) -> None:
        def save(name: str | None) -> None:
            if name:
                path = save_preset(name, self.current_preset())
                self.notify(f"saved {path}", title="Preset")

        self.app.push_screen(NameDialog("Save the knobs as a preset (TOML in presets/)"), save)

    def action_load_preset(self) -> None:
        def load(path: Path | None) -> None:
            if path is None:
                return
            try:
                self.apply_preset(load_preset(path))
            except UserError as exc:
                self.notify(str(exc), title="Preset not loaded", severity="error")
                return
            self.notify(f"loaded {path}", title="Preset")

        self.app.push_screen(PickDialog("Load a preset", list_presets(), "No presets yet: press F7 to save the current knobs."), load)

    def apply_preset(self, preset: Preset) -> None:
        for name in KNOBS + ("epochs", "seed"):
            self.query_one(f"#{name}", Input).value = f"{getattr(preset.knobs if name in KNOBS else preset, name):g}"
        for path in self.choices:
            if preset.profile and Path(path).resolve() == Path(preset.profile).resolve():
                self.query_one("#profile", Select).value = path
        for name in ("space", "data", "mode"):
            self.query_one(f"#{name}", Select).value = getattr(preset, name)
        self.update_readout()

    def palette_commands(self):
        yield SystemCommand("Launch search", "Start a search with these knobs (ctrl+s)", self.action_launch)
        yield SystemCommand("Save preset", "Save the knobs as a TOML preset (F7)", self.action_save_preset)
        yield SystemCommand("Load preset", "Load knobs from a TOML preset (F8)", self.action_load_preset)


def verdict(r: dict[str, Any]) -> Text:
    if r["dominant"] == "none":
        return Text("no cost term (α = γ = 0): accuracy only", style="bold")
    if r.get("ener0") is None:
        return Text(r["verdict"], style="bold cyan")
    ratio = r["energy_dominance"] if r["dominant"] == "energy" else r["latency_dominance"]
    other = "latency" if r["dominant"] == "energy" else "energy"
    times = "∞" if ratio is None else f"{ratio:.3g}×"
    style = "bold magenta" if r["dominant"] == "energy" else "bold cyan"
    return Text(f"{r['dominant'].upper()}-dominant ({times} the {other} term)", style=style)


def _arch(names: list[str] | None) -> str:
    if not names:
        return "-"
    from ...space import CANDIDATE_NAMES

    return " ".join(SHORT[CANDIDATE_NAMES.index(n)] for n in names)


def dominance_row(r: dict[str, Any]) -> str:
    if r.get("ener0") is None:
        return "- (no energy term to compare the latency term with)"
    return f"energy vENER/vLAT {fmt.dominance(r['energy_dominance'])}   latency vLAT/vENER {fmt.dominance(r['latency_dominance'])}"


def readout_table(r: dict[str, Any], num_classes: int = 10) -> Text:
    """The readouts as one Text (cheaper to render than a table on every keystroke)."""
    by = "energy" if r["dominant"] == "energy" and r.get("cheapest_energy_arch") else "latency"
    lo, hi, unit = (r["ener_min"], r["ener_max"], "J") if by == "energy" else (r["lat_min"], r["lat_max"], "s")
    if r.get("ener0") is None:
        ener0: str | Text = Text("no energy table in this profile: the search minimises latency only", style="yellow")
        vener: str | Text = "-  (no energy term)"
    else:
        ener0 = f"{fmt.energy(r['ener0'])}  (archs {fmt.energy(r['ener_min'])} .. {fmt.energy(r['ener_max'])})"
        vener = f"{fmt.num(r['vener'])}  = γ·ENER0^δ"
    pvc = penalty_vs_ce(r, num_classes)
    ce_row = Text(f"CE0 = ln {num_classes} = {pvc.ce0:.3g}; ")
    ce_row.append(pvc.sentence(), style="bold red" if pvc.dominates else "")
    rows: list[tuple[str, str | Text]] = [
        ("E[LAT]0", f"{fmt.latency(r['lat0'])}  uniform θ  (archs {fmt.latency(r['lat_min'])} .. {fmt.latency(r['lat_max'])})"),
        ("E[ENER]0", ener0),
        ("vLAT", f"{fmt.num(r['vlat'])}  = α·LAT0^β"),
        ("vENER", vener),
        ("dominance", dominance_row(r)),
        ("verdict", verdict(r)),
        ("vs CE", ce_row),
        ("cheapest", f"{(fmt.energy if unit == 'J' else fmt.latency)(lo)} by {by}: {_arch(r[f'cheapest_{by}_arch'])}"),
        ("dearest", f"{(fmt.energy if unit == 'J' else fmt.latency)(hi)} by {by}: {_arch(r[f'dearest_{by}_arch'])}"),
    ]
    text = Text()
    for i, (label, value) in enumerate(rows):
        text.append(f"{label:<10s}", style="bold")
        text.append(value)
        if i < len(rows) - 1:
            text.append("\n")
    return text
