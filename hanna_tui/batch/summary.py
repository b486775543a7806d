"""The batch summary: every run with its settings, state, predicted and measured cost, accuracy; the Pareto set.

A batch whose runs search to a budget ([sweep] budgets or [constraints] in a setting) also gets a
"front" entry (front_entry): per run its budget(s), the final argmax childnet's predicted latency
and energy (arch.json "predicted"), its gap to each budget (cost / budget - 1) and whether it
landed in the band, its accuracy, and whether it is Pareto-optimal over (accuracy max, latency
min, energy min; latency and accuracy only when the profile has no energy table), by pareto.front.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import fmt
from ..pareto import ACCURACY, ALL, ENERGY, LATENCY, front, run_point
from ..store import Run, summarize
from .pipeline import Job, JobResult, planned_steps, search_state, step_done

FRONT_BASIS = {
    LATENCY.name: "argmax_latency_s (min)",
    ENERGY.name: "argmax_energy_j (min)",
    ACCURACY.name: "top1, else search_acc (max)",
}
BUDGET_KEYS = ("latency_s", "energy_j")
PARETO_BASIS = {
    LATENCY.name: "pred_latency_s (min)",
    ENERGY.name: "pred_energy_j (min)",
    ACCURACY.name: "top1, else search_acc (max)",
}


def run_record(job: Job, result: JobResult | None) -> dict[str, Any]:
    run = Run(job.run_dir)
    record: dict[str, Any] = {
        "name": job.name,
        "label": job.label,
        "index": job.index,
        "settings": job.settings,
        "run_dir": job.run_dir,
        "state": result.state if result else _state_from_files(job),
        "steps": result.steps if result else {s: ("done" if step_done(job, s) else "pending") for s in planned_steps(job)},
        "error": result.error if result else "",
    }
    record.update(run_costs(run))
    record["knobs"] = record["knobs"] or job.knobs
    record["pareto"] = False
    return record


def _state_from_files(job: Job) -> str:
    if all(step_done(job, s) for s in planned_steps(job)):
        return "done"
    state = search_state(Path(job.run_dir))
    return "queued" if state == "missing" else f"incomplete ({state})"


def run_costs(run: Run) -> dict[str, Any]:
    if not run.path.is_dir():
        return {
            "knobs": {},
            "pred_latency_s": None,
            "pred_energy_j": None,
            "search_acc": None,
            "top1": None,
            "accuracy": None,
            "argmax_latency_s": None,
            "argmax_energy_j": None,
            "measured": [],
        }
    s = summarize(run)
    measured = [
        {"target": d.get("target", ""), **{k: d.get("measured", {}).get(k) for k in ("latency_s", "energy_j")}}
        for d in run.deploy_results()
    ]
    return {
        "knobs": s.knobs,
        "pred_latency_s": s.pred_latency_s,
        "pred_energy_j": s.pred_energy_j,
        "search_acc": s.search_acc,
        "top1": s.top1,
        "accuracy": s.top1 if s.top1 is not None else s.search_acc,
        "argmax_latency_s": s.argmax_latency_s,
        "argmax_energy_j": s.argmax_energy_j,
        "params": s.params,
        "macs": s.macs,
        "measured": measured,
    }


def mark_pareto(records: list[dict[str, Any]]) -> list[str]:
    """Flag the non-dominated finished runs (pareto.ALL: min latency, min energy, max accuracy); return their names."""
    points = [run_point(r.get("state", ""), r.get("pred_latency_s"), r.get("pred_energy_j"), r.get("accuracy")) for r in records]
    optimal = front(points)
    for i in sorted(optimal):
        records[i]["pareto"] = True
    return [records[i]["name"] for i in sorted(optimal)]


def front_entry(records: list[dict[str, Any]], constraints: list[Any], spread: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The budget front: records and constraints (config.ConstraintsSection) in the same order; None without any budget."""
    budgets = [{key: float(getattr(c, key)) for key in BUDGET_KEYS if getattr(c, key) > 0} for c in constraints]
    if not any(budgets):
        return None
    rows = []
    for record, budget, c in zip(records, budgets, constraints, strict=True):
        costs = {"latency_s": record.get("argmax_latency_s"), "energy_j": record.get("argmax_energy_j")}
        gaps = {key: (costs[key] / value - 1.0 if isinstance(costs[key], (int, float)) else None) for key, value in budget.items()}
        rows.append(
            {
                "name": record["name"],
                "label": record["label"],
                "state": record["state"],
                "budget": budget,
                "argmax_latency_s": costs["latency_s"],
                "argmax_energy_j": costs["energy_j"],
                "gap": gaps,
                "landed": bool(budget) and all(g is not None and -float(c.band) <= g <= 0.0 for g in gaps.values()),
                "accuracy": record.get("accuracy"),
                "pareto": False,
            }
        )
    points = [run_point(r["state"], r["argmax_latency_s"], r["argmax_energy_j"], r["accuracy"]) for r in rows]
    has_energy = any(p is not None and p[ENERGY.name] is not None for p in points)
    objectives = ALL if has_energy else (LATENCY, ACCURACY)
    optimal = front(points, objectives)
    for i in optimal:
        rows[i]["pareto"] = True
    entry: dict[str, Any] = {}
    if spread is not None:
        entry.update(kind=spread["kind"], count=spread["count"], range=spread["range"])
    entry.update(
        objectives=[o.name for o in objectives],
        basis={o.name: FRONT_BASIS[o.name] for o in objectives},
        runs=rows,
        pareto=[rows[i]["name"] for i in sorted(optimal)],
    )
    return entry


def front_lines(entry: dict[str, Any] | None) -> list[str]:
    """The front as a table for people (stderr): budget, final argmax cost, gap, accuracy, Pareto mark."""
    if not entry:
        return []
    lines = [f"front: {'budget':>18s} {'latency':>10s} {'energy':>10s} {'gap':>14s} {'acc':>6s}  pareto"]
    for r in entry["runs"]:
        budget = " ".join(fmt.latency(v) if k == "latency_s" else fmt.energy(v) for k, v in r["budget"].items()) or "-"
        gap = " ".join(f"{g:+.1%}" if g is not None else "-" for g in r["gap"].values()) or "-"
        lines.append(
            f"front: {budget[:18]:>18s} {fmt.latency(r['argmax_latency_s']):>10s} {fmt.energy(r['argmax_energy_j']):>10s} "
            f"{gap[:14]:>14s} {fmt.pct(r['accuracy']):>6s}  {'*' if r['pareto'] else ''}"
        )
    return lines


def counts(records: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for record in records:
        key = record["state"].split(" ", 1)[0]
        out[key] = out.get(key, 0) + 1
    return out


def summary_lines(records: list[dict[str, Any]]) -> list[str]:
    """The summary as a table for people (stderr): state, predicted cost, accuracy, Pareto mark."""
    lines = [f"{'run':28s} {'state':10s} {'latency':>10s} {'energy':>10s} {'acc':>6s}  pareto"]
    for r in records:
        lines.append(
            f"{str(r['name'])[:28]:28s} {str(r['state']).split(' ', 1)[0][:10]:10s} "
            f"{fmt.latency(r.get('pred_latency_s')):>10s} {fmt.energy(r.get('pred_energy_j')):>10s} "
            f"{fmt.pct(r.get('accuracy')):>6s}  {'*' if r.get('pareto') else ''}"
        )
    return lines
