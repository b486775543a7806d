"""hanna-tui report: the paper's figures and each run's curves as image files, with index.md and data.json.

matplotlib draws them because it is the library for image figures (the dashboard's plotext draws
in the terminal only). The Agg backend is selected before anything of matplotlib's plotting is
imported, and every figure is a matplotlib.figure.Figure of its own (no pyplot state), so a report
is made headless, with no display. This module is core: no textual, no torch; the dashboard runs
`hanna-tui report` as a subprocess.

What is written to the output folder (each file atomically, PNG and SVG of every figure):

  fig7_lat_energy            the paper's Fig. 7: predicted latency (s) x energy (J) of each run's
                             argmax childnet (arch.json), bubble area = accuracy
  fig8_alpha_beta_accuracy   the paper's Fig. 8-10: the knobs against accuracy, latency and
  fig9_alpha_beta_latency    energy, two panels each (one knob on x, coloured by the other)
  fig10_gamma_delta_energy
  acc_vs_latency             accuracy against latency and energy, baselines included, with the
  acc_vs_energy              Pareto front (hanna_tui.pareto) of the finished runs as a step line
  theta_<run>                softmax(theta) of the last epoch (layer x candidate) and the argmax
                             candidate of every layer over the epochs (theta/epoch_NNN.txt)
  curves_<run>               the search's epoch records (loss, accuracy, latency, energy) and the
                             training's (top-1, loss) when RUN/train/ has them
  index.md                   every figure (relative links) and a table of the runs
  data.json                  exactly the numbers each figure plots, per figure

Accuracy is a run's trained top-1 when it has one (RUN/train/status.json), otherwise its search
accuracy: the test accuracy of the argmax childnet at the epoch arch.json was sampled after (its
epoch record), else the run's best search accuracy (status.json); every point says which. Latency and
energy are the profile's predictions for the argmax childnet; in acc_vs_latency/acc_vs_energy a
run measured on a target (RUN/deploy/) is placed at its measured cost instead (filled marker),
which is the only cost a baseline has; a baseline without one is a horizontal line at its accuracy.
A run directory that cannot be read is skipped with one line on stderr.
"""

from __future__ import annotations

import io
import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before anything that plots is imported

from matplotlib import colormaps  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap, Normalize  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from . import fmt  # noqa: E402
from .errors import UserError  # noqa: E402
from .fsutil import atomic_write_bytes, atomic_write_json, atomic_write_text, finite_or_none, json_safe  # noqa: E402
from .pareto import ACCURACY, ENERGY, LATENCY, front, run_point  # noqa: E402
from .space import CANDIDATE_NAMES, SearchSpace, get_space  # noqa: E402
from .store import Run, RunSummary, is_run_dir, now_iso, summarize  # noqa: E402
from .theta import argmax_choices, read_theta, softmax_allowed  # noqa: E402

DPI = 100
# inches; a PNG is exactly FIGURE_SIZES[kind] * DPI pixels (constrained layout, no tight bounding box)
FIGURE_SIZES: dict[str, tuple[float, float]] = {
    "fig7": (10.5, 6.5),
    "knobs": (13.0, 5.0),
    "acc": (9.0, 6.0),
    "theta": (14.0, 7.0),
    "curves": (16.0, 8.0),
}
SUMMARY_FIGURES = (
    "fig7_lat_energy",
    "fig8_alpha_beta_accuracy",
    "fig9_alpha_beta_latency",
    "fig10_gamma_delta_energy",
    "acc_vs_latency",
    "acc_vs_energy",
)
FORMATS = ("png", "svg")
MAX_LABELS = 40  # runs named beside their points; more would cover the figure
EVAL_PHASE = "eval"  # the search's per-epoch evaluation of the argmax childnet (nas/search.py)
ACC_TOP1 = "top-1"  # accuracy_source values
ACC_SEARCH = "search"
ACC_LABELS = {ACC_TOP1: "trained top-1", ACC_SEARCH: "search accuracy (not trained)"}
_RC = {"svg.hashsalt": "hanna-tui", "svg.fonttype": "path", "font.size": 10, "axes.grid": True, "grid.alpha": 0.3}

BUDGET_UNITS = {"latency_s": "s", "energy_j": "J"}  # config.toml [constraints]

Warn = Callable[[str], None]


def warn_stderr(line: str) -> None:
    sys.stderr.write(f"hanna-tui report: {' '.join(line.splitlines())}\n")


@dataclass
class ThetaFrames:
    """The run's theta per completed epoch: probabilities of the last, argmax of every one."""

    epochs: list[int]
    choices: list[list[int]]  # per epoch, the argmax candidate index of each layer
    probabilities: list[list[float | None]]  # the last epoch's softmax(theta); None where a layer has no such candidate
    last_epoch: int | None


@dataclass
class RunData:
    summary: RunSummary
    slug: str
    label: str
    accuracy: float | None
    accuracy_source: str
    constraints: dict[str, float] = field(default_factory=dict)
    search_epochs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # phase -> one record per epoch
    train_epochs: list[dict[str, Any]] = field(default_factory=list)
    theta: ThetaFrames | None = None

    @property
    def id(self) -> str:
        return self.summary.id

    @property
    def is_baseline(self) -> bool:
        return self.summary.kind == "baseline"


# reading


def load_run(path: Path, warn: Warn = warn_stderr) -> RunData | None:
    """What the report shows of one run directory; None (and one warning) when it cannot be read.
    A path that is not a run directory at all is a UserError."""
    if not is_run_dir(path):
        raise UserError(f"{path}: not a run directory (expected a folder holding run.json)")
    run = Run(path)
    summary = summarize(run)
    if summary.state == "unreadable":
        warn(f"skipped {path}: {summary.error}")
        return None
    try:
        return _load(run, summary, warn)
    except (UserError, OSError, ValueError) as exc:
        warn(f"skipped {path}: {exc}")
        return None


def _load(run: Run, s: RunSummary, warn: Warn) -> RunData:
    meta = run.meta()
    if s.top1 is not None:
        accuracy, source = s.top1, ACC_TOP1
    else:
        accuracy, source = s.search_acc, ACC_SEARCH if s.search_acc is not None else ""
    label = s.name
    if s.kind == "baseline":
        label = next((v for v in (meta.get("label"), meta.get("model")) if isinstance(v, str) and v), s.name)
    data = RunData(s, _slug(s.id), label, accuracy, source)
    space = None
    if s.kind == "search":
        space, data.constraints = _space_and_constraints(run, s)
        data.search_epochs = _by_phase(run.metrics("epoch"))
        if source == ACC_SEARCH:  # the accuracy of the childnet plotted: arch.json's epoch, not the best of all epochs
            data.accuracy = _arch_epoch_accuracy(run, data.search_epochs.get(EVAL_PHASE, []), s.search_acc)
    if run.train_path != run.path or s.kind == "baseline":
        data.train_epochs = _epoch_records(run.training().metrics("epoch"))
    if space is not None:
        data.theta = _theta_frames(run, s, space, [r for records in data.search_epochs.values() for r in records], warn)
    return data


def _arch_epoch_accuracy(run: Run, epochs: list[dict[str, Any]], best: float | None) -> float | None:
    arch = run.arch() or {}
    epoch = finite_or_none(arch.get("epoch")) if isinstance(arch, dict) else None
    for record in epochs:
        if epoch is not None and record.get("epoch") == epoch:
            value = finite_or_none(record.get("acc"))
            return best if value is None else value
    return best


def _space_and_constraints(run: Run, s: RunSummary) -> tuple[SearchSpace | None, dict[str, float]]:
    from .config import load_config

    try:
        cfg = load_config(run.config_path)
    except (UserError, OSError, ValueError):
        try:
            return get_space(s.space or "fbnet-cifar10"), {}
        except ValueError:
            return None, {}
    c = cfg.constraints
    constraints = {k: v for k, v in (("latency_s", c.latency_s), ("energy_j", c.energy_j)) if v > 0}
    try:
        return get_space(cfg.space.name, cfg.space.width_mult), constraints
    except ValueError:
        return None, constraints


def _by_phase(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The search's epoch records per phase (eval first: the argmax childnet on the test split, then the
    phases' means in the order they appear), one record per epoch each."""
    phases: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        phase = record.get("phase")
        phases.setdefault(phase if isinstance(phase, str) and phase else "epoch", []).append(record)
    order = sorted(phases, key=lambda p: p != EVAL_PHASE)
    return {p: kept for p in order if (kept := _epoch_records(phases[p]))}


def _epoch_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per epoch number (the last written: a resumed run redoes its interrupted epoch), in order."""
    by_epoch: dict[int, dict[str, Any]] = {}
    for record in records:
        epoch = finite_or_none(record.get("epoch"))
        if epoch is not None and epoch == int(epoch):
            by_epoch[int(epoch)] = record
    return [by_epoch[e] for e in sorted(by_epoch)]


def _theta_frames(run: Run, s: RunSummary, space: SearchSpace, epochs: list[dict[str, Any]], warn: Warn) -> ThetaFrames | None:
    done = {int(r["epoch"]) for r in epochs} | set(range(1, s.epoch + 1))
    found: list[tuple[int, list[list[float]]]] = []
    for n in sorted(e for e in done if e >= 0):
        path = run.theta_epoch_path(n)
        if not os.path.lexists(path):
            continue
        try:
            found.append((n, read_theta(path, space)))
        except UserError as exc:
            warn(f"{run.id}: {exc} (epoch left out)")
    last_epoch: int | None = found[-1][0] if found else None
    last = found[-1][1] if found else None
    if last is None and os.path.lexists(run.theta_path):
        try:
            last = read_theta(run.theta_path, space)
        except UserError as exc:
            warn(f"{run.id}: {exc} (no theta figure)")
            return None
        last_epoch = s.epoch or None
    if last is None:
        return None
    probs = softmax_allowed(last, space)
    mask = space.mask()
    return ThetaFrames(
        epochs=[n for n, _ in found],
        choices=[argmax_choices(theta, space) for _, theta in found],
        probabilities=[[p if ok else None for p, ok in zip(row, allowed, strict=True)] for row, allowed in zip(probs, mask, strict=True)],
        last_epoch=last_epoch,
    )


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.")[:80] or "run"


# writing


def write_report(run_dirs: list[Path], out_dir: Path, warn: Warn = warn_stderr) -> list[Path]:
    """Figures of the given run directories in out_dir (created if missing); the files written.

    Raises UserError for a path that is not a run directory, for no runs at all and for no
    readable run; a run that cannot be read is left out with one line through ``warn``."""
    if not run_dirs:
        raise UserError("no runs to report on (give RUN directories or ids, or start a run first)")
    runs: list[RunData] = []
    seen: set[str] = set()
    skipped: list[str] = []
    for path in run_dirs:
        key = os.path.realpath(path)
        if key in seen:
            continue
        seen.add(key)
        data = load_run(Path(path), warn)
        if data is None:
            skipped.append(str(path))
            continue
        runs.append(data)
    if not runs:
        raise UserError(f"no readable run among the {len(run_dirs)} given: nothing to report")
    _unique_slugs(runs)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"{out_dir}: not a directory (expected the folder for the report)")
    out_dir.mkdir(parents=True, exist_ok=True)

    written: list[Path] = []
    figures: dict[str, dict[str, Any]] = {}
    with matplotlib.rc_context(_RC):
        for stem, draw in (
            ("fig7_lat_energy", fig7_lat_energy),
            ("fig8_alpha_beta_accuracy", lambda rs: knob_figure(rs, ("alpha", "beta"), "accuracy")),
            ("fig9_alpha_beta_latency", lambda rs: knob_figure(rs, ("alpha", "beta"), "latency")),
            ("fig10_gamma_delta_energy", lambda rs: knob_figure(rs, ("gamma", "delta"), "energy")),
            ("acc_vs_latency", lambda rs: accuracy_vs_cost(rs, "latency")),
            ("acc_vs_energy", lambda rs: accuracy_vs_cost(rs, "energy")),
        ):
            fig, data = draw(runs)
            written += _save(fig, out_dir, stem, data, figures)
        for r in runs:
            if r.theta is not None:
                fig, data = theta_figure(r)
                written += _save(fig, out_dir, f"theta_{r.slug}", data, figures)
            if r.search_epochs or r.train_epochs:
                fig, data = curves_figure(r)
                written += _save(fig, out_dir, f"curves_{r.slug}", data, figures)

    document = {"generated": now_iso(), "runs": [run_row(r) for r in runs], "skipped": skipped, "figures": figures}
    data_path = out_dir / "data.json"
    atomic_write_json(data_path, json_safe(document))
    index_path = out_dir / "index.md"
    atomic_write_text(index_path, index_markdown(runs, figures, skipped, document["generated"]))
    return [*written, index_path, data_path]


def _unique_slugs(runs: list[RunData]) -> None:
    used: set[str] = set()
    for r in runs:
        slug, n = r.slug, 2
        while slug in used:
            slug, n = f"{r.slug}-{n}", n + 1
        r.slug = slug
        used.add(slug)


def _save(fig: Figure, out_dir: Path, stem: str, data: dict[str, Any], figures: dict[str, dict[str, Any]]) -> list[Path]:
    paths = []
    for fmt_name in FORMATS:
        buffer = io.BytesIO()
        metadata = {"Date": None} if fmt_name == "svg" else None
        fig.savefig(buffer, format=fmt_name, dpi=DPI, metadata=metadata)
        path = out_dir / f"{stem}.{fmt_name}"
        atomic_write_bytes(path, buffer.getvalue())
        paths.append(path)
    data["files"] = [p.name for p in paths]
    figures[stem] = data
    return paths


def _figure(kind: str) -> Figure:
    return Figure(figsize=FIGURE_SIZES[kind], dpi=DPI, layout="constrained")


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4", wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def _pct(value: float | None) -> float:
    return float("nan") if value is None else value * 100.0


def _nan(value: Any) -> float:
    number = finite_or_none(value)
    return float("nan") if number is None else number


# the summary figures

SOURCE_COLOURS = {ACC_TOP1: "tab:blue", ACC_SEARCH: "tab:orange"}


def _bubble_area(acc: float, low: float, high: float) -> float:
    """Marker area (points^2): linear in accuracy from the lowest plotted (small) to the highest (large)."""
    if high <= low:
        return 320.0
    return 60.0 + 900.0 * (acc - low) / (high - low)


def fig7_lat_energy(runs: Sequence[RunData]) -> tuple[Figure, dict[str, Any]]:
    fig = _figure("fig7")
    ax = fig.add_subplot()
    points = [
        {
            "run": r.id,
            "name": r.label,
            "latency_s": r.summary.argmax_latency_s,
            "energy_j": r.summary.argmax_energy_j,
            "accuracy": r.accuracy,
            "accuracy_source": r.accuracy_source,
        }
        for r in runs
        if r.summary.argmax_latency_s is not None and r.summary.argmax_energy_j is not None
    ]
    caption = (
        "Predicted latency and energy of each run's argmax childnet (arch.json, the run's device profile); "
        "bubble area grows linearly with accuracy from the lowest to the highest shown: trained top-1 where "
        "the childnet was trained, otherwise the search accuracy (colour)."
    )
    ax.set_title("Fig. 7: latency x energy of the argmax childnets (bubble area = accuracy)")
    ax.set_xlabel("predicted latency (s)")
    ax.set_ylabel("predicted energy (J)")
    accs = [p["accuracy"] for p in points if p["accuracy"] is not None]
    low, high = (min(accs), max(accs)) if accs else (0.0, 0.0)
    handles, sizes = [], []
    for source in (ACC_TOP1, ACC_SEARCH):
        group = [p for p in points if p["accuracy_source"] == source and p["accuracy"] is not None]
        if group:
            ax.scatter(
                [p["latency_s"] for p in group],
                [p["energy_j"] for p in group],
                s=[_bubble_area(p["accuracy"], low, high) for p in group],
                color=SOURCE_COLOURS[source],
                alpha=0.55,
                edgecolors="black",
                linewidths=0.6,
            )
            handles.append(
                Line2D(
                    [],
                    [],
                    marker="o",
                    linestyle="",
                    markersize=9,
                    markerfacecolor=SOURCE_COLOURS[source],
                    markeredgecolor="black",
                    alpha=0.7,
                    label=f"accuracy = {ACC_LABELS[source]}",
                )
            )
    no_acc = [p for p in points if p["accuracy"] is None]
    if no_acc:
        ax.scatter([p["latency_s"] for p in no_acc], [p["energy_j"] for p in no_acc], marker="x", color="0.4", s=40)
        handles.append(Line2D([], [], marker="x", linestyle="", color="0.4", label="no accuracy yet"))
    if accs and high > low:
        for acc in (low, (low + high) / 2, high):
            sizes.append(
                Line2D(
                    [],
                    [],
                    marker="o",
                    linestyle="",
                    markerfacecolor="none",
                    markeredgecolor="0.3",
                    markersize=math.sqrt(_bubble_area(acc, low, high)),
                    label=fmt.pct(acc),
                )
            )
    if not points:
        _empty(ax, "no run has an argmax childnet with predicted latency and energy (arch.json)")
    else:
        ax.margins(0.12)
        _label_points(ax, [(p["latency_s"], p["energy_j"], f"{p['name']} {fmt.pct(p['accuracy'])}") for p in points])
        # one legend beside the axes (constrained layout makes room for it): colours, then the bubble sizes
        ax.legend(
            handles=handles + sizes,
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            fontsize=8,
            labelspacing=1.4,
            borderpad=1.0,
            handletextpad=1.5,
            title="accuracy",
            title_fontsize=8,
        )
    return fig, {
        "title": "Fig. 7: predicted latency x energy, bubble area = accuracy",
        "caption": caption,
        "x": "latency_s",
        "y": "energy_j",
        "size": "accuracy",
        "points": points,
    }


def _label_points(ax: Any, points: list[tuple[float, float, str]]) -> None:
    """Name the points (those at the same place once, their names joined); none when there are too many."""
    if len(points) > MAX_LABELS:
        return
    places: dict[tuple[float, float], list[str]] = {}
    for x, y, text in points:
        if math.isfinite(x) and math.isfinite(y):
            places.setdefault((x, y), []).append(text)
    for (x, y), texts in places.items():
        ax.annotate(
            ", ".join(texts),
            (x, y),
            xytext=(6, 6),
            textcoords="offset points",
            fontsize=7,
            color="0.2",
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.6, "linewidth": 0},
        )


METRICS = {  # name: (label, value of a run, plotted scale)
    "accuracy": ("accuracy (%)", lambda r: r.accuracy, 100.0),
    "latency": ("predicted latency of the argmax childnet (s)", lambda r: r.summary.argmax_latency_s, 1.0),
    "energy": ("predicted energy of the argmax childnet (J)", lambda r: r.summary.argmax_energy_j, 1.0),
}
FIG_NUMBERS = {"accuracy": 8, "latency": 9, "energy": 10}


def knob_figure(runs: Sequence[RunData], knobs: tuple[str, str], metric: str) -> tuple[Figure, dict[str, Any]]:
    """Two panels: each knob of the pair on x against the metric, coloured by the other knob."""
    label, value, scale = METRICS[metric]
    first, second = knobs
    points = [
        {
            "run": r.id,
            "name": r.label,
            first: r.summary.knobs[first],
            second: r.summary.knobs[second],
            metric: value(r),
            **({"accuracy_source": r.accuracy_source} if metric == "accuracy" else {}),
        }
        for r in runs
        if not r.is_baseline and first in r.summary.knobs and second in r.summary.knobs and value(r) is not None
    ]
    number = FIG_NUMBERS[metric]
    title = f"Fig. {number}: {first} and {second} against {metric}"
    fig = _figure("knobs")
    fig.suptitle(title)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, (x_knob, c_knob) in zip(axes, ((first, second), (second, first)), strict=True):
        ax.set_xlabel(x_knob)
        if not points:
            _empty(ax, f"no search run with {first}, {second} and {metric}")
            continue
        colours = [p[c_knob] for p in points]
        low, high = min(colours), max(colours)
        if high <= low:
            low, high = low - 0.5, high + 0.5
        dots = ax.scatter(
            [p[x_knob] for p in points],
            [p[metric] * scale for p in points],
            c=colours,
            cmap="viridis",
            norm=Normalize(low, high),
            s=60,
            edgecolors="black",
            linewidths=0.5,
        )
        ax.margins(0.1)
        fig.colorbar(dots, ax=ax, label=c_knob)
        _label_points(ax, [(p[x_knob], p[metric] * scale, p["name"]) for p in points])
    axes[0].set_ylabel(label)
    caption = f"Each search run's knobs against {label}; left {first} on x coloured by {second}, right the other way round."
    if metric == "accuracy":
        sources = sorted({ACC_LABELS[p["accuracy_source"]] for p in points})
        caption += f" Accuracy: {', '.join(sources) or 'none'} (trained top-1 where the childnet was trained, else the search accuracy)."
    return fig, {"title": title, "caption": caption, "knobs": list(knobs), "metric": metric, "points": points}


BASELINE_STYLES = (("tab:red", "s"), ("tab:green", "^"), ("tab:purple", "D"), ("tab:brown", "v"), ("tab:pink", "P"))


def accuracy_vs_cost(runs: Sequence[RunData], cost: str) -> tuple[Figure, dict[str, Any]]:
    """Accuracy against latency or energy, baselines included, and the Pareto front of the finished runs."""
    unit = "s" if cost == "latency" else "J"
    key = f"{cost}_s" if cost == "latency" else f"{cost}_j"
    objective = LATENCY if cost == "latency" else ENERGY
    points: list[dict[str, Any]] = []
    flat: list[dict[str, Any]] = []  # baselines with an accuracy and no cost
    for r in runs:
        s = r.summary
        measured = s.measured_latency_s if cost == "latency" else s.measured_energy_j
        predicted = s.argmax_latency_s if cost == "latency" else s.argmax_energy_j
        value, source = (measured, "measured") if measured is not None else (predicted, "predicted")
        if r.accuracy is None:
            continue
        if value is None:
            if r.is_baseline:
                flat.append({"run": r.id, "name": r.label, "accuracy": r.accuracy, "accuracy_source": r.accuracy_source})
            continue
        points.append(
            {
                "run": r.id,
                "name": r.label,
                "kind": s.kind,
                key: value,
                f"{cost}_source": source,
                "accuracy": r.accuracy,
                "accuracy_source": r.accuracy_source,
                "state": s.state,
            }
        )
    candidates = [
        run_point(p["state"], p[key] if cost == "latency" else None, p[key] if cost == "energy" else None, p["accuracy"]) for p in points
    ]
    optimal = front(candidates, (objective, ACCURACY))
    for i, p in enumerate(points):
        p["pareto"] = i in optimal
    front_points = sorted((points[i] for i in optimal), key=lambda p: (p[key], -p["accuracy"]))

    fig = _figure("acc")
    ax = fig.add_subplot()
    title = f"Accuracy against {cost}, with baselines and the Pareto front"
    ax.set_title(title)
    ax.set_xlabel(f"{cost} of the childnet ({unit}): predicted (hollow) or measured on the target (filled)")
    ax.set_ylabel("accuracy (%): trained top-1, else search accuracy")
    handles = []
    childnets = [p for p in points if p["kind"] != "baseline"]
    for source, face in (("predicted", "none"), ("measured", "tab:blue")):
        group = [p for p in childnets if p[f"{cost}_source"] == source]
        if group:
            ax.scatter(
                [p[key] for p in group],
                [_pct(p["accuracy"]) for p in group],
                marker="o",
                s=50,
                facecolors=face,
                edgecolors="tab:blue",
                linewidths=1.2,
            )
    if childnets:
        handles.append(
            Line2D([], [], marker="o", linestyle="", markeredgecolor="tab:blue", markerfacecolor="none", label="searched childnets")
        )
    labels = sorted({p["name"] for p in points if p["kind"] == "baseline"} | {p["name"] for p in flat})
    styles = {name: BASELINE_STYLES[i % len(BASELINE_STYLES)] for i, name in enumerate(labels)}
    for name in labels:
        colour, marker = styles[name]
        group = [p for p in points if p["kind"] == "baseline" and p["name"] == name]
        for p in group:
            face = colour if p[f"{cost}_source"] == "measured" else "none"
            ax.scatter([p[key]], [_pct(p["accuracy"])], marker=marker, s=80, facecolors=face, edgecolors=colour, linewidths=1.4)
        for p in (p for p in flat if p["name"] == name):
            ax.axhline(_pct(p["accuracy"]), color=colour, linestyle=":", linewidth=1.2)
            ax.annotate(
                f"{name} {fmt.pct(p['accuracy'])} (no {cost} measured)",
                (0.01, _pct(p["accuracy"])),
                xycoords=("axes fraction", "data"),
                xytext=(0, 3),
                textcoords="offset points",
                fontsize=7,
                color=colour,
            )
        handles.append(
            Line2D(
                [], [], marker=marker, linestyle=":" if not group else "", color=colour, markerfacecolor=colour, label=f"baseline {name}"
            )
        )
    if front_points:
        xs = [p[key] for p in front_points]
        ys = [_pct(p["accuracy"]) for p in front_points]
        ax.step(xs, ys, where="post", color="black", linewidth=1.3, alpha=0.8, zorder=1)
        handles.append(Line2D([], [], color="black", label=f"Pareto front (finished runs: min {cost}, max accuracy)"))
    if not points and not flat:
        _empty(ax, f"no run has an accuracy and a {cost}")
    else:
        ax.margins(0.08)
        _label_points(ax, [(p[key], _pct(p["accuracy"]), p["name"]) for p in points])
        ax.legend(handles=handles, loc="best", fontsize=8)
    caption = (
        f"Accuracy (trained top-1 where there is one, else the search accuracy) against {cost} ({unit}): the profile's "
        f"prediction for the argmax childnet (hollow), or the measurement on a target where the run was deployed (filled). "
        f"The step line is the Pareto front over {cost} and accuracy of the finished runs (hanna_tui.pareto)."
    )
    return fig, {
        "title": title,
        "caption": caption,
        "x": key,
        "y": "accuracy",
        "points": points,
        "baselines_without_cost": flat,
        "pareto_front": [p["run"] for p in front_points],
    }


# the figures of one run


def theta_figure(r: RunData) -> tuple[Figure, dict[str, Any]]:
    theta = r.theta
    assert theta is not None
    fig = _figure("theta")
    fig.suptitle(f"{r.label} ({r.id}): architecture parameters theta")
    left, right = fig.subplots(1, 2, width_ratios=(1, 1.6))
    cells = [[float("nan") if p is None else p for p in row] for row in theta.probabilities]
    cmap = colormaps["magma_r"].with_extremes(bad="0.85")
    image = left.imshow(cells, aspect="auto", cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
    left.grid(False)
    epoch = f"epoch {theta.last_epoch}" if theta.epochs else "theta.txt" + (f" (epoch {theta.last_epoch})" if theta.last_epoch else "")
    left.set_title(f"softmax(theta), {epoch} (grey: not a candidate)")
    left.set_xticks(range(len(CANDIDATE_NAMES)), CANDIDATE_NAMES, rotation=60, ha="right", fontsize=8)
    left.set_yticks(range(len(cells)), [str(i) for i in range(len(cells))], fontsize=7)
    left.set_ylabel("layer")
    fig.colorbar(image, ax=left, label="probability", shrink=0.8)

    n = len(CANDIDATE_NAMES)
    palette = ListedColormap([colormaps["tab10"](i) for i in range(n)])
    if theta.epochs:
        grid = [[theta.choices[e][layer] for e in range(len(theta.epochs))] for layer in range(len(theta.choices[0]))]
        shown = right.imshow(
            grid,
            aspect="auto",
            cmap=palette,
            norm=BoundaryNorm([i - 0.5 for i in range(n + 1)], n),
            interpolation="nearest",
            extent=(-0.5, len(theta.epochs) - 0.5, len(grid) - 0.5, -0.5),
        )
        right.grid(False)
        step = max(1, len(theta.epochs) // 20)
        ticks = list(range(0, len(theta.epochs), step))
        right.set_xticks(ticks, [str(theta.epochs[i]) for i in ticks], fontsize=8)
        right.set_yticks(range(len(grid)), [str(i) for i in range(len(grid))], fontsize=7)
        right.set_xlabel("completed epoch")
        right.set_ylabel("layer")
        right.set_title("argmax candidate per layer over the epochs")
        bar = fig.colorbar(shown, ax=right, ticks=range(n), shrink=0.8)
        bar.ax.set_yticklabels(CANDIDATE_NAMES, fontsize=8)
    else:
        _empty(right, "no theta/epoch_NNN.txt files: only the latest theta is known")
    data = {
        "title": f"theta of {r.id}",
        "caption": "Left: per-layer softmax of the last epoch's theta (the authors' format, theta/epoch_NNN.txt); "
        "right: the argmax candidate of every layer after each epoch.",
        "run": r.id,
        "candidates": list(CANDIDATE_NAMES),
        "epoch": theta.last_epoch,
        "probabilities": theta.probabilities,
        "argmax_by_epoch": {"epochs": theta.epochs, "choices": theta.choices},
    }
    return fig, data


SEARCH_PANELS = (  # key in the epoch record, axis label, scale, budget key
    ("loss", "search loss", 1.0, None),
    ("acc", "search accuracy (%)", 100.0, None),
    ("lat", "latency (s)", 1.0, "latency_s"),
    ("ener", "energy (J)", 1.0, "energy_j"),
)
PHASE_LABELS = {EVAL_PHASE: "eval: argmax childnet, test split"}
TRAIN_PANELS = ((("top1", "test top-1"), ("acc", "train accuracy")), (("loss", "train loss"), ("test_loss", "test loss")))


def curves_figure(r: RunData) -> tuple[Figure, dict[str, Any]]:
    fig = _figure("curves")
    fig.suptitle(f"{r.label} ({r.id}): per-epoch curves")
    grid = fig.add_gridspec(2, 4)
    search: dict[str, dict[str, list[Any]]] = {}
    for phase, records in r.search_epochs.items():
        search[phase] = {"epoch": [int(rec["epoch"]) for rec in records]}
        search[phase].update({key: [finite_or_none(rec.get(key)) for rec in records] for key, *_ in SEARCH_PANELS})
    for column, (key, label, scale, budget) in enumerate(SEARCH_PANELS):
        ax = fig.add_subplot(grid[0, column])
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("epoch")
        if not search:
            _empty(ax, "no search epochs" if not r.is_baseline else "a baseline: no search")
            continue
        for phase, series in search.items():
            style = {"linewidth": 2.0} if phase == EVAL_PHASE else {"linewidth": 1.0, "alpha": 0.8}
            ax.plot(
                series["epoch"],
                [_nan(v) * scale for v in series[key]],
                marker="o",
                markersize=3,
                label=PHASE_LABELS.get(phase, f"{phase} (phase mean)"),
                **style,
            )
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if column == 0:  # the phases once, for the whole row
            ax.legend(fontsize=7)
        if budget and budget in r.constraints:
            line = ax.axhline(r.constraints[budget], color="tab:red", linestyle="--", linewidth=1)
            ax.legend([line], [f"budget {fmt.num(r.constraints[budget], BUDGET_UNITS[budget])}"], fontsize=7)
    train: dict[str, list[Any]] = {"epoch": [int(rec["epoch"]) for rec in r.train_epochs]}
    for column, panel in enumerate(TRAIN_PANELS):
        ax = fig.add_subplot(grid[1, 2 * column : 2 * column + 2])
        is_acc = column == 0
        ax.set_title("childnet training: accuracy (%)" if is_acc else "childnet training: loss", fontsize=9)
        ax.set_xlabel("training epoch")
        for key, _label in panel:
            train[key] = [finite_or_none(rec.get(key)) for rec in r.train_epochs]
        if not r.train_epochs:
            trained = r.summary.train_state or r.summary.top1 is not None
            _empty(ax, "no training epochs recorded (RUN/train/metrics.jsonl)" if trained else "not trained")
            continue
        for key, label in panel:
            ax.plot(train["epoch"], [_nan(v) * (100.0 if is_acc else 1.0) for v in train[key]], marker="o", markersize=3, label=label)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=8)
    data = {
        "title": f"curves of {r.id}",
        "caption": "Top: the search's epoch records (metrics.jsonl) per phase: eval is the argmax childnet on the test split "
        "(cross-entropy, accuracy, predicted latency and energy), the others the means over the phase's steps; "
        "bottom: the training of the childnet (RUN/train/metrics.jsonl) when there is one.",
        "run": r.id,
        "constraints": r.constraints,
        "search": search,
        "train": train if r.train_epochs else {},
    }
    return fig, data


# index.md and the table of runs


def run_row(r: RunData) -> dict[str, Any]:
    s = r.summary
    return {
        "id": s.id,
        "name": r.label,
        "kind": s.kind,
        "state": s.state,
        "path": s.path,
        "knobs": s.knobs,
        "constraints": r.constraints,
        "argmax_latency_s": s.argmax_latency_s,
        "argmax_energy_j": s.argmax_energy_j,
        "measured_latency_s": s.measured_latency_s,
        "measured_energy_j": s.measured_energy_j,
        "accuracy": r.accuracy,
        "accuracy_source": r.accuracy_source,
    }


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|") or fmt.MISSING


def index_markdown(runs: Sequence[RunData], figures: dict[str, dict[str, Any]], skipped: Sequence[str], generated: str) -> str:
    lines = ["# hanna-tui report", "", f"{len(runs)} run(s), generated {generated}. The plotted numbers are in [data.json](data.json).", ""]
    if skipped:
        lines += [f"Skipped (unreadable): {', '.join(_cell(p) for p in skipped)}", ""]
    lines += [
        "## Runs",
        "",
        "| run | kind | state | alpha | beta | gamma | delta | constraints | argmax LAT | argmax ENER | accuracy |",
        "|---|---|---|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for r in runs:
        s = r.summary
        knobs = [f"{s.knobs[k]:g}" if k in s.knobs else fmt.MISSING for k in ("alpha", "beta", "gamma", "delta")]
        budget = (
            ", ".join(f"{'LAT' if k == 'latency_s' else 'ENER'} budget {fmt.num(v, BUDGET_UNITS[k])}" for k, v in r.constraints.items())
            or fmt.MISSING
        )
        acc = f"{fmt.pct(r.accuracy)} ({r.accuracy_source})" if r.accuracy is not None else fmt.MISSING
        name = f"{r.label} (`{s.id}`)"
        lines.append(
            "| "
            + " | ".join(
                _cell(c)
                for c in (name, s.kind, s.state, *knobs, budget, fmt.num(s.argmax_latency_s, "s"), fmt.num(s.argmax_energy_j, "J"), acc)
            )
            + " |"
        )
    lines += ["", "## Figures", ""]
    for stem, data in figures.items():
        png, svg = (f"{stem}.{ext}" for ext in FORMATS)
        lines += [f"### {data['title']}", "", f"![{stem}]({png})", "", f"{data['caption']} ([SVG]({svg}), [PNG]({png}))", ""]
    return "\n".join(lines)
