"""hanna-tui report: figures as real PNG/SVG files of the expected size, data.json holding the plotted
numbers of the runs, index.md linking every figure; bad input one line and exit 2."""

from __future__ import annotations

import json
import math
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from fixtures import fake_theta, make_run  # noqa: E402
from search_support import run_cli, tiny_config  # noqa: E402

from hanna_tui.cli import main  # noqa: E402
from hanna_tui.report import DPI, FIGURE_SIZES, SUMMARY_FIGURES, write_report  # noqa: E402
from hanna_tui.store import Run  # noqa: E402
from hanna_tui.theta import write_theta  # noqa: E402

TRAINED = "20260104-110000-trained"
SEARCHED = "20260103-100000-searched"
BASELINE = "20251231-070000-mobilenetv2"
BROKEN = "20260102-090000-broken"


def trained(root: Path) -> Path:
    """A finished search with theta/epoch_NNN.txt for every epoch and a trained childnet."""
    path = make_run(
        root,
        TRAINED,
        knobs=(0.1, 0.6, 0.8, 0.6),
        epochs_done=4,
        total_epochs=4,
        seed=2,
        train={"state": "done", "top1": 0.874, "epoch": 3, "total_epochs": 3},
    )
    run = Run(path)
    for n in range(1, 5):
        write_theta(run.theta_epoch_path(n), fake_theta(2, 0.5 + n))
    train_log(run, [0.61, 0.79, 0.874])
    return path


def searched(root: Path) -> Path:
    """A finished search, not trained, with only the latest theta.txt."""
    return make_run(root, SEARCHED, knobs=(0.9, 1.0, 0.05, 0.3), epochs_done=3, total_epochs=3, seed=3)


def baseline(root: Path) -> Path:
    path = make_run(
        root,
        BASELINE,
        kind="baseline",
        knobs=(0, 0, 0, 0),
        epochs_done=0,
        total_epochs=0,
        seed=6,
        acc=0.912,
        metrics=False,
        measured=(4.2, 21.5),
        train={"state": "done", "top1": 0.912},
    )
    train_log(Run(path), [0.7, 0.912])
    return path


def broken(root: Path) -> Path:
    path = root / BROKEN
    path.mkdir(parents=True)
    (path / "run.json").write_text("{not json", encoding="utf-8")
    return path


def train_log(run: Run, top1: list[float]) -> None:
    training = run.training()
    training.path.mkdir(parents=True, exist_ok=True)
    for epoch, acc in enumerate(top1, start=1):
        training.log_metrics(
            {"kind": "epoch", "epoch": epoch, "loss": 1.5 / epoch, "acc": acc - 0.02, "top1": acc, "test_loss": 1.6 / epoch}
        )


def expected_pixels(stem: str) -> tuple[int, int]:
    kind = (
        "fig7"
        if stem.startswith("fig7")
        else "knobs"
        if stem.startswith("fig")
        else "acc"
        if stem.startswith("acc_")
        else stem.split("_", 1)[0]
    )
    width, height = FIGURE_SIZES[kind]
    return round(width * DPI), round(height * DPI)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    assert data[12:16] == b"IHDR", path
    return struct.unpack(">II", data[16:24])


def test_figures_data_and_index(tmp_path: Path, isolated_runs_root: Path) -> None:
    root = isolated_runs_root
    runs = [trained(root), searched(root), baseline(root), broken(root)]
    out = tmp_path / "report" / "nested"
    warnings: list[str] = []
    written = write_report(runs, out, warn=warnings.append)

    assert len(warnings) == 1 and BROKEN in warnings[0] and "\n" not in warnings[0]
    assert all(p.parent == out and p.is_file() for p in written)
    stems = {p.stem for p in written if p.suffix == ".png"}
    assert stems == {
        *SUMMARY_FIGURES,
        f"theta_{TRAINED}",
        f"theta_{SEARCHED}",
        f"curves_{TRAINED}",
        f"curves_{SEARCHED}",
        f"curves_{BASELINE}",
    }
    for stem in stems:
        assert png_size(out / f"{stem}.png") == expected_pixels(stem), stem
        assert ET.parse(out / f"{stem}.svg").getroot().tag.endswith("svg")
    assert {p.name for p in written} == {f"{s}.{e}" for s in stems for e in ("png", "svg")} | {"index.md", "data.json"}

    data = json.loads((out / "data.json").read_text())
    figures = data["figures"]
    assert set(figures) == stems and data["skipped"] == [str(runs[3])]
    arch = {rid: Run(root / rid).arch()["predicted"] for rid in (TRAINED, SEARCHED)}
    search_acc = Run(root / SEARCHED).status()["best_acc"]

    fig7 = {p["run"]: p for p in figures["fig7_lat_energy"]["points"]}
    assert set(fig7) == {TRAINED, SEARCHED}  # a baseline has no predicted cost
    for rid, predicted in arch.items():
        assert fig7[rid]["latency_s"] == predicted["latency_s"] and fig7[rid]["energy_j"] == predicted["energy_j"]
    assert (fig7[TRAINED]["accuracy"], fig7[TRAINED]["accuracy_source"]) == (0.874, "top-1")
    assert (fig7[SEARCHED]["accuracy"], fig7[SEARCHED]["accuracy_source"]) == (search_acc, "search")

    fig9 = {p["run"]: p for p in figures["fig9_alpha_beta_latency"]["points"]}
    assert (fig9[TRAINED]["alpha"], fig9[TRAINED]["beta"], fig9[TRAINED]["latency"]) == (0.1, 0.6, arch[TRAINED]["latency_s"])
    fig10 = {p["run"]: p for p in figures["fig10_gamma_delta_energy"]["points"]}
    assert (fig10[SEARCHED]["gamma"], fig10[SEARCHED]["delta"], fig10[SEARCHED]["energy"]) == (0.05, 0.3, arch[SEARCHED]["energy_j"])
    assert {p["run"]: p["accuracy"] for p in figures["fig8_alpha_beta_accuracy"]["points"]} == {TRAINED: 0.874, SEARCHED: search_acc}

    for cost, key in (("latency", "latency_s"), ("energy", "energy_j")):
        fig = figures[f"acc_vs_{cost}"]
        points = {p["run"]: p for p in fig["points"]}
        assert points[BASELINE][key] == (4.2 if cost == "latency" else 21.5) and points[BASELINE][f"{cost}_source"] == "measured"
        assert points[BASELINE]["accuracy"] == 0.912
        assert points[TRAINED][key] == arch[TRAINED][key] and points[TRAINED][f"{cost}_source"] == "predicted"
        # the most accurate run and the cheapest run are optimal; the front runs from cheap to dear
        cheapest = min(points.values(), key=lambda p: p[key])["run"]
        assert BASELINE in fig["pareto_front"] and cheapest in fig["pareto_front"]
        assert [points[r][key] for r in fig["pareto_front"]] == sorted(points[r][key] for r in fig["pareto_front"])
        assert {r for r, p in points.items() if p["pareto"]} == set(fig["pareto_front"])

    theta = figures[f"theta_{TRAINED}"]
    assert theta["argmax_by_epoch"]["epochs"] == [1, 2, 3, 4] and theta["epoch"] == 4
    assert len(theta["probabilities"]) == 22 and len(theta["argmax_by_epoch"]["choices"][0]) == 22
    assert all(math.isclose(sum(p for p in row if p is not None), 1.0) for row in theta["probabilities"])
    assert figures[f"theta_{SEARCHED}"]["argmax_by_epoch"]["epochs"] == []  # only theta.txt: the last theta, no history
    curves = figures[f"curves_{TRAINED}"]
    assert curves["train"]["top1"] == [0.61, 0.79, 0.874]
    assert {phase: series["epoch"] for phase, series in curves["search"].items()} == {"warmup": [0, 1], "theta": [2, 3]}
    assert figures[f"curves_{BASELINE}"]["search"] == {}

    rows = {r["id"]: r for r in data["runs"]}
    assert set(rows) == {TRAINED, SEARCHED, BASELINE}
    assert rows[TRAINED]["argmax_latency_s"] == arch[TRAINED]["latency_s"] and rows[TRAINED]["accuracy"] == 0.874

    index = (out / "index.md").read_text()
    for path in written:
        if path.name != "index.md":
            assert f"]({path.name})" in index, path.name
    assert "87.4% (top-1)" in index and TRAINED in index and BROKEN in index


def test_cli_reports_a_real_search_and_skips_a_broken_run(
    tmp_path: Path, isolated_runs_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A tiny search as the CLI writes it (epoch records, theta/epoch_NNN.txt, arch.json, a budget), reported
    with every run under the root: the broken one is one line on stderr, the files written are printed."""
    config = tiny_config(tmp_path, epochs=2)
    config.write_text(config.read_text() + "\n[constraints]\nlatency_s = 3.5\n", encoding="utf-8")
    run_dir = isolated_runs_root / "real"
    result = run_cli("search", "--config", str(config), "--run-dir", str(run_dir), timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    broken(isolated_runs_root)
    out = tmp_path / "out"
    capsys.readouterr()
    assert main(["report", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    printed = [Path(line) for line in captured.out.splitlines()]
    assert {p.name for p in printed} == {f"{s}.{e}" for s in (*SUMMARY_FIGURES, "theta_real", "curves_real") for e in ("png", "svg")} | {
        "index.md",
        "data.json",
    }
    assert all(p.is_file() for p in printed)
    warning = captured.err.strip()
    assert "\n" not in warning and BROKEN in warning and "skipped" in warning

    data = json.loads((out / "data.json").read_text())
    run = Run(run_dir)
    arch, epochs = run.arch(), [r for r in run.metrics("epoch") if r["phase"] == "eval"]
    point = data["figures"]["fig7_lat_energy"]["points"][0]
    assert (point["latency_s"], point["energy_j"]) == (arch["predicted"]["latency_s"], arch["predicted"]["energy_j"])
    assert point["accuracy"] == next(r["acc"] for r in epochs if r["epoch"] == arch["epoch"]) and point["accuracy_source"] == "search"
    assert data["figures"]["theta_real"]["argmax_by_epoch"]["epochs"] == [1, 2]
    assert data["figures"]["theta_real"]["argmax_by_epoch"]["choices"][-1] == arch["indices"]
    curves = data["figures"]["curves_real"]
    assert curves["search"]["eval"]["lat"] == [r["lat"] for r in epochs] and curves["constraints"] == {"latency_s": 3.5}
    assert "LAT budget 3.5 s" in (out / "index.md").read_text()


def assert_one_line(err: str, *needles: str) -> None:
    err = err.strip()
    assert err and "\n" not in err and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err


def test_bad_input_is_one_line_and_exit_2(isolated_runs_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["report", "--out", str(out)]) == 2  # no runs at all
    assert_one_line(capsys.readouterr().err, "no runs")

    searched(isolated_runs_root)
    not_a_run = tmp_path / "not-a-run"
    not_a_run.mkdir()
    assert main(["report", SEARCHED[:15], str(not_a_run), "--out", str(out)]) == 2
    assert_one_line(capsys.readouterr().err, str(not_a_run), "not a run directory")
    assert not out.exists()

    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    assert main(["report", SEARCHED, "--out", str(a_file)]) == 2
    assert_one_line(capsys.readouterr().err, str(a_file), "not a directory")

    result = run_cli("report", str(not_a_run), "--out", str(out), timeout=120)  # the entry point the dashboard runs
    assert result.returncode == 2 and result.stdout == ""
    assert_one_line(result.stderr, "not a run directory")
