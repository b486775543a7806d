"""The dashboard on a small terminal (80x24) and a wide one (120x40): nothing essential falls off.

The footer keeps 1-5, ? and ^q on every screen, the screen's own keys first; tables show whole
numbers or drop a column, never clip one; dialog text wraps; an undefined ratio reads "-".
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("textual")

from fixtures import make_fixture_set, make_run  # noqa: E402
from rich.text import Text  # noqa: E402
from textual.widgets import DataTable, Label, OptionList, ProgressBar, Static  # noqa: E402
from textual.widgets._footer import FooterKey  # noqa: E402

from hanna_tui.tui.app import HannaApp  # noqa: E402
from hanna_tui.tui.footer import HannaFooter, fit, key_width  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from test_tui_support import PROFILES, FakeSpawn, plain, sync  # noqa: E402

SMALL = (80, 24)
WIDE = (120, 40)
ESSENTIAL = {"1", "2", "3", "4", "5", "question_mark", "ctrl+q"}


@pytest.fixture()
def runs(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "runs"
    root.mkdir()
    monkeypatch.setenv("HANNA_RUNS", str(root))
    monkeypatch.setenv("HANNA_PRESETS", str(tmp_path / "presets"))
    monkeypatch.setenv("HANNA_SSH_CONFIG", str(tmp_path / "no-ssh-config"))
    make_fixture_set(root)
    return root


def make_app(root: Path) -> HannaApp:
    return HannaApp(runs_root=root, profiles=PROFILES, spawn=FakeSpawn(), poll_s=3600)


async def settle(pilot) -> None:
    for _ in range(3):
        await pilot.pause()


def footer_keys(app: HannaApp) -> list[FooterKey]:
    footer = app.screen.query_one(HannaFooter)
    return [k for k in footer.query(FooterKey) if "-command-palette" not in k.classes]


def visible(app: HannaApp, key: FooterKey) -> bool:
    return key.region.width > 0 and key.region.right <= app.size.width


def own_keys(screen) -> set[str]:
    return {k.strip() for b in screen.BINDINGS if b.show and b.description for k in b.key.split(",")}


@pytest.mark.parametrize("size", [SMALL, WIDE])
@sync
async def test_the_footer_keeps_screens_help_and_quit_on_every_screen(runs, size) -> None:
    app = make_app(runs)
    async with app.run_test(size=size) as pilot:
        for screen_key, profile_target in (("1", False), ("2", False), ("3", False), ("4", False), ("5", False), ("4", True)):
            await pilot.press(screen_key)
            if profile_target:
                await pilot.press("n")
            await settle(pilot)
            keys = footer_keys(app)
            shown = {k.key for k in keys if visible(app, k)}
            name = type(app.screen).__name__
            assert ESSENTIAL <= shown, (name, size, sorted(shown))
            assert all(visible(app, k) for k in keys), (name, "a footer key runs off the edge")
            # the screen's own keys come first, then the keys that work everywhere
            first = keys[0].key
            assert first in own_keys(app.screen), (name, first)
            assert keys[-1].key == "ctrl+q"
            if profile_target:
                await pilot.press("escape")
                await settle(pilot)


@sync
async def test_the_wide_footer_shows_the_runs_job_keys(runs) -> None:
    app = make_app(runs)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("2")
        await settle(pilot)
        shown = {k.key for k in footer_keys(app) if visible(app, k)}
        assert {"t", "c", "r", "s", "m", "e", "b", "w", "p"} <= shown


def test_footer_fit_keeps_the_leading_keys_in_order() -> None:
    widths = [key_width("t", "Train"), key_width("c", "Cancel"), key_width("r", "Resume")]
    assert widths[0] == len("t Train") + 1
    assert fit(widths, 100) == 3 and fit(widths, widths[0] + widths[1]) == 2 and fit(widths, 3) == 0


@sync
async def test_history_shows_an_undefined_dominance_as_a_dash(runs) -> None:
    make_run(runs, "20260107-000000-budget-only", knobs=(0.0, 0.6, 0.0, 0.6), seed=7)
    app = make_app(runs)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("3")
        await settle(pilot)
        table = app.screen.query_one("#history-table", DataTable)
        header = plain(next(iter(table.columns.values())).label)
        row = plain(table.get_row("20260107-000000-budget-only")[0])
        at = header.index("E/L")
        assert row[at : at + 6].strip() == "-", row
        assert "inf" not in row
        other = plain(table.get_row("20260104-110000-energy-heavy")[0])
        assert other[at] in "EL" and "inf" not in other


@sync
async def test_history_headers_are_whole_and_the_sort_is_said_in_the_title(runs) -> None:
    app = make_app(runs)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("3")
        await settle(pilot)
        screen = app.screen
        header = plain(next(iter(screen.query_one("#history-table", DataTable).columns.values())).label)
        for name in ("best acc", "argmax LAT", "argmax ENER", "date"):
            assert name in header
        assert "…" not in header
        title = plain(screen.query_one("#history-title", Static).content)
        assert "sorted by date ↓" in title
        await pilot.press("o")
        await settle(pilot)
        assert "sorted by date ↑" in plain(screen.query_one("#history-title", Static).content)


@sync
async def test_a_filter_without_a_match_says_so_in_the_table_tab(runs) -> None:
    app = make_app(runs)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("slash", *"kind=nothing", "enter")
        await settle(pilot)
        nomatch = app.screen.query_one("#history-nomatch", Static)
        assert nomatch.display and "No runs match the filter 'kind=nothing' (esc clears it" in plain(nomatch.content)
        await pilot.press("escape")  # on the table: the filter goes
        await settle(pilot)
        assert not nomatch.display and app.screen.query_one("#history-table", DataTable).row_count == 6


@pytest.mark.parametrize("size", [SMALL, WIDE])
@sync
async def test_the_runs_table_shows_whole_columns_only(runs, size) -> None:
    app = make_app(runs)
    async with app.run_test(size=size) as pilot:
        await pilot.press("2")
        await settle(pilot)
        table = app.screen.query_one("#runs-table", DataTable)
        total = sum(c.get_render_width(table) for c in table.columns.values())
        assert total <= size[0], [c.label.plain for c in table.columns.values()]
        names = [c.label.plain for c in table.columns.values()]
        assert names[:3] == ["state", "progress", "run (ᴾ proxy search)"] and "best acc" in names


@sync
async def test_the_run_detail_names_its_numbers(runs) -> None:
    import json

    run = runs / "20260104-110000-energy-heavy"
    status = json.loads((run / "status.json").read_text())
    status.update(phase="done", best_acc=0.41, latest={**status["latest"], "loss": 2.36, "ce": 2.36, "acc": 0.349})
    (run / "status.json").write_text(json.dumps(status))
    app = make_app(runs)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("2")
        await settle(pilot)
        table = app.screen.query_one("#runs-table", DataTable)
        keys = [str(k.value) for k in table.rows]
        table.move_cursor(row=keys.index(run.name))
        await settle(pilot)
        info = plain(app.screen.query_one("#run-info", Static).content)
        assert "eval loss (CE) 2.36" in info and "last epoch acc 34.9%" in info and "best search acc 41.0%" in info
        assert "search acc 34.9%" not in info.replace("last epoch acc", "")


@sync
async def test_narrow_runs_show_one_pane_at_a_time_with_its_title(runs) -> None:
    app = make_app(runs)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("2")
        await settle(pilot)
        screen = app.screen
        plots, theta = screen.query_one("#plots"), screen.query_one("#theta-pane")
        assert plots.display and not theta.display
        assert screen.query_one("#curves").size.width >= 70  # the curves get the whole width
        await pilot.press("v")
        await settle(pilot)
        assert theta.display and not plots.display
        await pilot.press("v")
        await settle(pilot)
        assert plots.display and not theta.display


@sync
async def test_dialog_text_wraps_inside_the_dialog(runs) -> None:
    app = make_app(runs)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("2")
        await settle(pilot)
        for key, needle in (
            ("t", "(the grey values)"),
            ("p", "written by its own process (hanna-tui report)"),
            ("j", "p writes a report."),
        ):
            await pilot.press(key)
            await settle(pilot)
            dialog = app.screen.query_one(".dialog")
            labels = [w for w in dialog.query(Label) if needle in plain(w.content)]
            assert labels, (key, needle)
            label = labels[0]
            text = plain(label.content).strip()
            assert label.region.right <= dialog.region.right and dialog.region.right <= SMALL[0], (key, label.region, dialog.region)
            assert label.size.width * label.size.height >= len(text), (key, "the text is cut", label.size)
            await pilot.press("escape")
            await settle(pilot)


@sync
async def test_the_help_says_how_to_close_at_the_top_and_names_keys_in_words(runs) -> None:
    app = make_app(runs)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("question_mark")
        await settle(pilot)
        frame = app.screen.query_one("#help")
        assert "escape, ? or q: close" in str(frame.border_title)
        keys = plain(app.screen.query_one("#help-screen-keys", Static).content)
        assert "l or ctrl+s" in keys and "l,ctrl+s" not in keys
        await pilot.press("escape", "4", "n", "question_mark")
        await settle(pilot)
        keys = plain(app.screen.query_one("#help-screen-keys", Static).content, width=60)
        assert keys.startswith("Profile a target keys")


@sync
async def test_profile_tables_fit_beside_the_list_at_80_columns(runs) -> None:
    app = make_app(runs)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("4")
        for _ in range(50):
            await pilot.pause(0.05)
            if "rpi3b" in plain(app.screen.query_one("#profile-info", Static).content):
                break
        await settle(pilot)
        heat = app.screen.query_one("#latency-heat", Static)
        view = app.screen.query_one("#profile-view")
        lines = plain(heat.content).rstrip("\n").split("\n")
        assert heat.size.height in (len(lines), len(lines) + 1), "a row of the table wrapped"  # + the final newline
        assert heat.region.right <= view.content_region.right  # no sideways scroll needed
        assert lines[1].split()[0] == "lyr" and lines[1].split()[-1] == "skp"


@sync
async def test_deploy_lists_states_and_preselects_a_finished_run(runs) -> None:
    app = make_app(runs)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("5")
        await settle(pilot)
        screen = app.screen
        options = screen.query_one("#deploy-runs", OptionList)
        prompts = [options.get_option_at_index(i).prompt for i in range(options.option_count)]
        assert all(isinstance(p, Text) and "\n  " in p.plain for p in prompts)
        selected = screen.selected()
        assert selected is not None and selected.state == "done"
        state_line = prompts[options.highlighted].plain.split("\n")[1]
        assert state_line.strip().startswith("done · pred")


@sync
async def test_the_profile_progress_bar_waits_for_a_job(runs) -> None:
    app = make_app(runs)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("4", "n")
        await settle(pilot)
        bar = app.screen.query_one("#profile-progress", ProgressBar)
        assert not bar.display


def test_chart_labels_tell_same_named_runs_apart_and_accuracy_stays_under_100() -> None:
    from types import SimpleNamespace

    from hanna_tui.tui.charts import limits, short_name, unique_labels, whole_ticks

    def point(run_id: str, name: str):
        return SimpleNamespace(row=SimpleNamespace(s=SimpleNamespace(id=run_id, name=name)))

    points = [
        point("20261203-071624-demo", "demo"),
        point("20261203-071639-demo", "demo"),
        point("20261203-071707-demo", "demo"),
        point("front-sweep-lat-4.69s-7638fb70", "front-sweep/lat-4.69s"),
        point("front-sweep-lat-3.81s-345b2b09", "front-sweep/lat-3.81s"),
    ]
    labels = unique_labels(points)  # type: ignore[arg-type]
    assert len(set(labels)) == len(labels)
    assert labels[3:] == ["lat-4.69s", "lat-3.81s"] and labels[2].startswith("demo 07:17")
    assert short_name("x" * 30).startswith("…") and len(short_name("x" * 30)) == 16
    low, high = limits([12.0, 99.0], "accuracy")
    assert high == 100.0 and low >= 0.0
    assert limits([2.0, 3.0], "latency")[1] > 3.0
    assert whole_ticks(1, 3, 6) == [1, 2, 3] and whole_ticks(1, 1, 6) == [1]
    assert all(isinstance(t, int) for t in whole_ticks(0.5, 1.5, 6) + whole_ticks(1, 400, 8))


def test_a_job_log_path_folds_after_a_slash_on_its_own_line() -> None:
    from types import SimpleNamespace

    from hanna_tui.tui.screens.jobs import fold_path, job_line

    path = "/tmp/hanna-captures/runs/20261203-071624-demo/train.log"
    lines = fold_path(path, 30, "  ").split("\n")
    assert all(len(line) <= 30 + 2 for line in lines) and lines[0].endswith("/")  # a line, and the indent of the next ones
    assert "".join(s.strip() for s in lines) == path
    job = SimpleNamespace(state=lambda: "running", label="train 20261203-071624-demo --epochs 1", log=path)
    text = job_line(job, 40).plain  # type: ignore[arg-type]
    first, *rest = text.split("\n")
    assert first.startswith("running") and rest[0].startswith("  log /") and all(len(line) <= 40 for line in rest)
