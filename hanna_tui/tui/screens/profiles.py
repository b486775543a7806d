"""Profiles: every profiles/*.toml with its device and provenance, tables as heatmaps, quirks."""

from __future__ import annotations

import os
from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ...errors import ConfigError
from ...fmt import SCALES_J, SCALES_S, num, pick_scale
from ...profiles import DeviceProfile, list_profiles
from ...space import CANDIDATE_NAMES, CANDIDATES
from ..footer import HannaFooter
from ..render import table_heatmap
from .base import HannaScreen

SKIP = CANDIDATE_NAMES.index("skip")
QUIRKS_SHOWN = 4
NARROW = 100


def quirks(profile: DeviceProfile) -> tuple[list[str], dict[str, set[tuple[int, int]]]]:
    """Surprises worth seeing before a search: skips dearer than a conv, bigger blocks cheaper than smaller."""
    notes: list[str] = []
    marks: dict[str, set[tuple[int, int]]] = {"latency": set(), "energy": set()}
    space = profile.space()
    for label, table, unit in (("latency", profile.latency_s(), "s"), ("energy", profile.energy_j(), "J")):
        if table is None:
            continue
        for i, layer in enumerate(space.layers):
            convs = [j for j in layer.allowed if j != SKIP]
            cheapest = min(convs, key=lambda j, i=i: table[i][j])
            if SKIP in layer.allowed and table[i][SKIP] > table[i][cheapest]:
                marks[label].add((i, SKIP))
                notes.append(
                    f"{label}: layer {i} skip ({num(table[i][SKIP], unit)}) costs more than {CANDIDATE_NAMES[cheapest]} ({num(table[i][cheapest], unit)})"
                )
            for j in convs:
                c = CANDIDATES[j]
                smaller = next(
                    (
                        k
                        for k in convs
                        if CANDIDATES[k].kernel == c.kernel and CANDIDATES[k].group == c.group and CANDIDATES[k].expansion < c.expansion
                    ),
                    None,
                )
                if smaller is not None and table[i][j] < table[i][smaller]:
                    marks[label].add((i, j))
                    notes.append(f"{label}: layer {i} {CANDIDATE_NAMES[j]} is cheaper than {CANDIDATE_NAMES[smaller]}")
    return notes, marks


def info_table(profile: DeviceProfile, path: Path) -> Table:
    t = Table.grid(padding=(0, 1))
    t.add_column(style="bold", no_wrap=True)
    t.add_column(overflow="fold")
    t.add_row("file", f"{path.parent.name}/{path.name}")
    for key, value in profile.device.items():
        t.add_row(f"device.{key}", str(value))
    t.add_row("space", f"{profile.space_name} (input {profile.input_shape}, width {profile.width_mult:g})")
    t.add_row(
        "units",
        f"latency stored in {profile.latency.unit}, energy {'stored in ' + profile.energy.unit if profile.energy else 'absent (no sensor)'}",
    )
    if profile.extra:
        t.add_row("extra tables", ", ".join(f"{k} [{v.unit}]" for k, v in profile.extra.items()))
    return t


def provenance_table(profile: DeviceProfile) -> Table:
    t = Table.grid(padding=(0, 1))
    t.add_column(style="bold", no_wrap=True)
    t.add_column(overflow="fold")
    for title, section in (("provenance", profile.provenance), ("measurement", profile.measurement)):
        for key, value in section.items():
            t.add_row(f"{title}.{key}", str(value))
    return t


def folder_signature(folder: Path) -> tuple[tuple[str, int], ...]:
    """Names and mtimes of the profiles in a folder: a new or re-measured profile changes it."""
    try:
        return tuple(sorted((e.name, e.stat().st_mtime_ns) for e in os.scandir(folder) if e.name.endswith(".toml")))
    except OSError:
        return ()


class ProfilesScreen(HannaScreen):
    HOME = "#profile-list"
    BINDINGS = [Binding("n", "profile_target", "Profile a target")]

    def compose(self) -> ComposeResult:
        yield Static("[b]Profiles[/b]  device lookup tables (! marks a quirk) · n: profile a target", classes="screen-title")
        yield Static("", id="profiles-empty", classes="empty-state")
        with Horizontal(id="profiles-body"):
            yield OptionList(id="profile-list")
            with VerticalScroll(id="profile-view"):
                yield Static("", id="profile-info")
                yield Static("", id="profile-quirks")
                yield Static("", id="latency-heat")
                yield Static("", id="energy-heat")
                yield Static("", id="profile-provenance")
        yield HannaFooter()

    def on_mount(self) -> None:
        self.ready = True
        self._signature: tuple[tuple[str, int], ...] | None = None
        self.load()
        self.action_home()

    def tick(self) -> None:
        self.load()

    def on_resize(self) -> None:
        self.set_class(self.size.width < NARROW, "-narrow")  # a narrower list: the lookup tables fit beside it

    def load(self) -> None:
        """(Re)read the profiles when the folder changed: a profile measured meanwhile appears by itself."""
        folder = self.hanna_app.profiles_path
        signature = folder_signature(folder)
        if signature == self._signature:
            return
        self._signature = signature
        options = self.query_one("#profile-list", OptionList)
        previous = self.entries[options.highlighted][0] if getattr(self, "entries", None) and options.highlighted is not None else None
        self.entries = list_profiles(folder)
        empty = not self.entries
        self.query_one("#profiles-empty", Static).update(
            f"No profiles in {folder}.\n\nMake one by measuring a board: `hanna-tui profile --target user@host --out profiles/NAME.toml`\n"
            "(press n to do it from here), or copy the shipped profiles/rpi3b-hanna.toml and edit it."
        )
        self.query_one("#profiles-empty").display = empty
        self.query_one("#profiles-body").display = not empty
        options.clear_options()
        for i, (path, prof) in enumerate(self.entries):
            label = f"{path.stem}\n  {prof.device_name}" if isinstance(prof, DeviceProfile) else f"{path.stem}\n  [red]invalid[/red]"
            options.add_option(Option(Text.from_markup(label), id=str(i)))
        if self.entries:
            index = next((i for i, (path, _) in enumerate(self.entries) if path == previous), 0)
            options.highlighted = index
            self.show(index)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.show(int(event.option.id or 0))

    def show(self, index: int) -> None:
        path, prof = self.entries[index]
        info, quirk_w = self.query_one("#profile-info", Static), self.query_one("#profile-quirks", Static)
        lat_w, ener_w = self.query_one("#latency-heat", Static), self.query_one("#energy-heat", Static)
        if isinstance(prof, ConfigError):
            info.update(Text(f"{path}: not a valid profile\n{prof}", style="bold red"))
            for w in (quirk_w, lat_w, ener_w, self.query_one("#profile-provenance", Static)):
                w.update("")
            return
        info.update(info_table(prof, path))
        self.query_one("#profile-provenance", Static).update(provenance_table(prof))
        notes, marks = quirks(prof)
        quirk_text = Text("quirks: ", style="bold")
        quirk_text.append(f"{len(notes)} found\n" if notes else "none found\n")
        for note in notes[:QUIRKS_SHOWN]:
            quirk_text.append(f"  • {note}\n", style="yellow")
        if len(notes) > QUIRKS_SHOWN:
            quirk_text.append(f"  … and {len(notes) - QUIRKS_SHOWN} more (marked ! in the tables)\n", style="dim")
        quirk_w.update(quirk_text)
        mask = prof.space().mask()
        lat = prof.latency_s()
        unit, factor = pick_scale(max(max(r) for r in lat), SCALES_S)
        lat_w.update(Text(f"latency per block [{unit}]\n", style="bold") + table_heatmap(lat, mask, unit, factor, marks["latency"]))
        ener = prof.energy_j()
        if ener is None:
            ener_w.update(Text("energy: no table in this profile (measured without a power sensor)", style="italic"))
        else:
            eu, ef = pick_scale(max(max(r) for r in ener), SCALES_J)
            ener_w.update(Text(f"\nenergy per block [{eu}]\n", style="bold") + table_heatmap(ener, mask, eu, ef, marks["energy"]))

    def action_profile_target(self) -> None:
        from .deploy import ProfileTargetScreen

        self.app.push_screen(ProfileTargetScreen())

    def palette_commands(self):
        yield SystemCommand("Profile a target", "Measure a board's lookup tables (n)", self.action_profile_target)
