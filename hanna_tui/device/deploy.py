"""Deploy a run's model to a target: export for the runtime -> upload -> agent -> result JSON in the run.

The result goes to RUN/deploy/<target>-<timestamp>.json (atomically, and only when the
measurement is complete): target, time, measured {latency_s, energy_j, stats, repeatability},
predicted {...} from a profile of that same board and runtime (calibrated when it has a
calibration), board information. With no such profile the prediction is absent and the result
says how to profile the target: a prediction of another device is never shown as the comparison.
predicted.note says, in one line, where the prediction came from and whether it is like with like
(the same board, runtime and precision; the clock and statistic of the measurement), or why there is none.

A request with a stop flag (runtime.StopFlag) ends on SIGTERM/SIGINT by raising runtime.Cancelled: the
agent is ended on the target (runner.AgentSession), the export's temp folder goes, nothing is saved.
"""

from __future__ import annotations

import re
import shlex
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..fsutil import atomic_write_json
from ..store import Run
from .artifacts import CALIBRATION_IMAGES, Artifact, export_model, random_inputs
from .energy import EnergyConfig
from .profiler import BenchOptions, ConnectOptions
from .runner import AgentSession, open_target


@dataclass
class DeployRequest:
    run: Run
    connect: ConnectOptions
    bench: BenchOptions = field(default_factory=BenchOptions)
    energy: EnergyConfig = field(default_factory=EnergyConfig)
    trained: bool = True
    deadline_s: float | None = None
    profiles: list[Path] | None = None  # profile folders to find the target's profile in (default: the usual ones)
    follow_profile: bool = False  # measured latency in the clock and statistic of the target's profile (when one is found)
    stop: Any = None  # a runtime.StopFlag: once set, the deployment ends with runtime.Cancelled (nothing saved)


@dataclass
class ExportedModel:
    artifact: Artifact
    weights: str
    calibration: str  # int8: what calibrated it (images of the run's data, or random inputs)

    @property
    def sha256(self) -> str:
        return self.artifact.sha256

    @property
    def input_shape(self) -> list[int]:
        return self.artifact.input_shape


StepCallback = Callable[[str], None]


def export_run_model(run: Run, folder: Path, trained: bool = True, bench: BenchOptions | None = None) -> ExportedModel:
    """The run's model in the runtime's format (trained weights when present, else random ones: enough for latency)."""
    from ..models import load_run_model, trained_state

    bench = bench or BenchOptions()
    model, shape = load_run_model(run, trained=trained)
    weights = "trained" if trained and trained_state(run) is not None else "random"
    calibration, source = (None, "")
    if bench.precision == "int8":
        calibration, source = calibration_images(run, list(shape))
    artifact = export_model(model, list(shape), folder, bench.runtime, bench.precision, calibration)
    return ExportedModel(artifact, weights, source)


def calibration_images(run: Run, shape: list[int]) -> tuple[list[Any], str]:
    """A few test images of the run's data set (the int8 calibration); random inputs when there are none."""
    from ..config import load_config

    try:
        from ..data import build_datasets

        cfg = load_config(run.config_path)
        bundle = build_datasets(cfg.data, shape[-1], False, cfg.run.seed, int((run.arch() or {}).get("num_classes") or 10))
        images = [bundle.test[i][0].unsqueeze(0) for i in range(min(CALIBRATION_IMAGES, len(bundle.test)))]
        if images and list(images[0].shape) == shape:
            return images, f"{len(images)} {cfg.data.name} images"
    except (UserError, OSError, ValueError, KeyError, IndexError, AttributeError, TypeError):
        pass
    return random_inputs(shape), f"{CALIBRATION_IMAGES} random inputs"


def check_deployable(run: Run) -> None:
    """Fail before connecting when the run has no model to deploy (e.g. no arch.json yet)."""
    from ..models import spec_for_run

    if not run.exists():
        raise UserError(f"{run.path}: not a run directory (expected run.json)")
    spec_for_run(run)


def target_slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("_") or "target"


def deploy_run(req: DeployRequest, step: StepCallback | None = None) -> tuple[Path, dict[str, Any]]:
    """Measure the run's model on the target; returns the result path and document."""
    req.bench.validate()
    note = step or (lambda _msg: None)
    check_deployable(req.run)
    note(f"connecting to {req.connect.target}")
    target = open_target(req.connect.target, req.connect.trust_new_host, req.connect.known_hosts)
    try:
        session = AgentSession(target, req.connect.remote_python, req.connect.remote_dir, req.stop)
        session.check_stop()
        note("installing the agent" if session.ensure_agent() else "agent already installed")
        note("probing the board")
        board = session.probe(req.bench.runtime, req.energy.agent_spec()).get("board") or {}
        plan = reference_plan(req, board)
        with tempfile.TemporaryDirectory(prefix="hanna-deploy-") as tmp:
            note(f"exporting for {req.bench.runtime_label}")
            exported = export_run_model(req.run, Path(tmp), req.trained, req.bench)
            session.check_stop()
            doc = _measure(req, session, exported, plan, Path(tmp), note)
    finally:
        target.close()
    session.check_stop()  # measured, but a stop asked for meanwhile still saves nothing
    result = build_result(req, exported, doc, session, plan)
    path = req.run.path / "deploy" / f"{target_slug(req.connect.target)}-{datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    atomic_write_json(path, result)
    note(f"saved {path}")
    return path, result


@dataclass
class ReferencePlan:
    """The like-with-like profile the prediction comes from (None: there is none), found once before
    measuring, and the reference networks of it measured beside the model (speed.py)."""

    profile: Any = None
    refs: list[Any] = field(default_factory=list)


def reference_plan(req: DeployRequest, board: dict[str, Any]) -> ReferencePlan:
    from .speed import references

    profile = target_profile(req.run, board, req.bench, req.profiles)
    return ReferencePlan(profile, references(profile)) if profile is not None else ReferencePlan()


def _measure(
    req: DeployRequest, session: AgentSession, exported: ExportedModel, plan: ReferencePlan, folder: Path, note: StepCallback
) -> dict:
    from .profiler import network_artifact

    remote_model = f"{session.workdir}/models/{exported.sha256[:16]}{exported.artifact.suffix}"
    note("uploading the model")
    upload_if_changed(session.target, exported.artifact.path, exported.sha256, remote_model)
    models = [{"name": "model", "model_path": remote_model, "input_shape": exported.input_shape}]
    for number, ref in enumerate(plan.refs):
        art = network_artifact(plan.profile.space(), ref.choices, req.bench, folder, f"reference{number}")
        remote = f"{session.workdir}/models/{art.sha256[:16]}{art.suffix}"
        upload_if_changed(session.target, art.path, art.sha256, remote)
        models.append({"name": f"reference{number}", "model_path": remote, "input_shape": art.input_shape})
    note("measuring" + (f" (with {len(plan.refs)} reference networks of the profile)" if plan.refs else ""))
    job = {"mode": "model", "models": models, "bench": asdict(req.bench), "energy": req.energy.agent_spec()}
    deadline = req.deadline_s or (120 + len(models) * (3 * req.bench.max_s + 2 * req.bench.warmup_s))
    doc = session.run_job(job, deadline)
    doc["model"], doc["references"] = doc["models"][0], doc["models"][1:]
    return doc


def upload_if_changed(target: Any, path: Path, sha256: str, remote_path: str) -> None:
    """Upload a file unless the target already has it (same SHA-256)."""
    folder = remote_path.rsplit("/", 1)[0]
    q = shlex.quote(remote_path)
    check = target.run(f"mkdir -p {shlex.quote(folder)} && (sha256sum {q} 2>/dev/null || shasum -a 256 {q} 2>/dev/null)", 60)
    if check.rc == 0 and check.text().split()[:1] == [sha256]:
        return
    target.upload(path.read_bytes(), remote_path)


def deployed_network(run: Run) -> tuple[Any, list[int]]:
    """(Network, choices) of the run's childnet, or (None, []) for a baseline."""
    from ..models import spec_for_run
    from ..profiles import Network
    from ..space import CANDIDATE_NAMES

    spec = spec_for_run(run)
    arch = spec.arch or {}
    if spec.family != "childnet" or not arch.get("choices"):
        return None, []
    choices = [CANDIDATE_NAMES.index(n) for n in arch["choices"]]
    return Network(str(arch["space"]), float(arch.get("width_mult", 1.0)), int(spec.input_size), int(spec.num_classes)), choices


def target_profile(run: Run, board: dict[str, Any], bench: BenchOptions, folders: list[Path] | None = None) -> Any:
    """The profile of this board and runtime for the run's network (None: none, or a baseline)."""
    from ..profiles import find_target_profile

    network, _ = deployed_network(run)
    return find_target_profile(board, bench.runtime_label, network, _run_profile(run), folders) if network is not None else None


_SEARCH = object()  # prediction(): find the profile in the folders


def prediction(
    run: Run, board: dict[str, Any], bench: BenchOptions, target: str, folders: list[Path] | None = None, profile: Any = _SEARCH
) -> dict[str, Any]:
    """The prediction of a profile of this board and runtime for the deployed network, or why there is none
    (profile: the one target_profile found already, None included)."""
    network, choices = deployed_network(run)
    out: dict[str, Any] = {"latency_s": None, "energy_j": None, "profile": None, "runtime": bench.runtime_label}
    if network is None:
        out["note"] = "no prediction: a baseline model has no lookup-table prediction"
        return out
    if profile is _SEARCH:
        profile = target_profile(run, board, bench, folders)
    if profile is None:
        where = board.get("model") or board.get("cpu") or target
        out["note"] = (
            f"no profile of this board ({where}, runtime {bench.runtime_label}, {network.describe()}) to compare with; "
            f"profile it: {profile_command(target, bench, network)}"
        )
        return out
    from ..cost import CostModel
    from .calibration import from_profile, predict_latency

    lut = predict_latency(profile, choices, calibrated=False)
    cost = CostModel(profile).arch_cost(choices)
    calibrated = from_profile(profile) is not None
    out.update(
        {
            "note": (
                f"like with like: {'calibrated ' if calibrated else ''}prediction of {profile.path} ({profile.device_name}), "
                f"a profile of this board in the measured runtime and precision ({bench.runtime_label})"
            ),
            "latency_s": cost.latency_s,
            "latency_lut_s": lut,
            "energy_j": cost.energy_j,
            "profile": profile.path,
            "device": profile.device_name,
            "calibrated": calibrated,
            "clock": str(profile.measurement.get("clock", "wall")),
            "statistic": str(profile.measurement.get("statistic", "p50")),
        }
    )
    if calibrated:
        out["latency_calibrated_s"] = cost.latency_s
    return out


def scale_by_speed(predicted: dict[str, Any], plan: ReferencePlan, records: list[dict]) -> None:
    """The prediction at the board's speed of the moment: scaled by the reference networks (speed.py)."""
    from .speed import describe, speed_record

    if predicted.get("latency_s") is None or not plan.refs:
        return
    clock, statistic = predicted["clock"], predicted["statistic"]  # as the profile holds its networks
    speed = speed_record(plan.refs, [float(r[clock][statistic]) for r in records], clock, statistic)
    predicted["latency_as_profiled_s"] = predicted["latency_s"]
    predicted["latency_s"] = predicted["latency_s"] * speed["factor"]
    predicted["speed"] = speed
    predicted["note"] += "; " + describe(speed["factor"], len(plan.refs))


def _run_profile(run: Run) -> str | None:
    arch = run.arch()
    return str(arch["profile"]) if isinstance(arch, dict) and isinstance(arch.get("profile"), str) else None


def profile_command(target: str, bench: BenchOptions, network: Any) -> str:
    flags = f" --runtime {bench.runtime}" + (" --precision int8" if bench.precision == "int8" else "")
    width = f" --width-mult {network.width_mult:g}" if network.width_mult != 1.0 else ""
    name = target_slug(target) + "-" + bench.runtime_label
    return f"hanna-tui profile --target {shlex.quote(target)}{flags} --space {network.space}{width} --out profiles/{name}.toml"


def build_result(
    req: DeployRequest, exported: ExportedModel, doc: dict, session: AgentSession, plan: ReferencePlan | None = None
) -> dict[str, Any]:
    record = doc["model"]
    latency = record["latency"]
    board = doc.get("board", {})
    if plan is None:  # not planned before measuring: find the profile now
        plan = ReferencePlan(target_profile(req.run, board, req.bench, req.profiles))
    predicted = prediction(req.run, board, req.bench, req.connect.target, profile=plan.profile)
    scale_by_speed(predicted, plan, doc.get("references") or [])
    clock, statistic = req.bench.clock, req.bench.statistic
    if req.follow_profile and predicted.get("clock") in ("wall", "cpu") and predicted.get("statistic") in ("p50", "min", "mean"):
        clock, statistic = predicted["clock"], predicted["statistic"]
        latency = record[clock]
    if predicted.get("latency_s") is not None:
        held = (predicted.get("statistic"), predicted.get("clock"))
        predicted["note"] += (
            f"; measured as the profile holds it ({statistic}, {clock} clock)"
            if held == (statistic, clock)
            else f"; but measured as {statistic} ({clock} clock) while the profile holds {held[0]} ({held[1]} clock)"
        )
    energy_info = record.get("energy")
    energy_j = None
    if req.energy.source == "paper":
        energy_j = req.energy.paper_energy("model", latency["mean"])
    elif energy_info:
        energy_j = energy_info.get("energy_j")
    return {
        "target": req.connect.target,
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "run": req.run.id,
        "complete": True,
        "device": board.get("model") or req.connect.target,  # where it was measured
        "measured": {
            "latency_s": latency[statistic],
            "energy_j": energy_j,
            "statistic": statistic,
            "clock": clock,
            "runtime": req.bench.runtime_label,
            "stats": latency,
            "repeatability": (record.get("repeatability") or {}).get(statistic),
            "rounds": record.get("rounds"),
            "energy": energy_info,
            "energy_source": req.energy.describe(),
        },
        "predicted": predicted,
        "model": {
            "format": exported.artifact.format,
            "runtime": req.bench.runtime,
            "precision": req.bench.precision,
            "sha256": exported.sha256,
            "input_shape": record["input_shape"],
            "weights": exported.weights,
            **({"int8_calibration": exported.calibration} if exported.calibration else {}),
        },
        "bench": doc.get("bench", asdict(req.bench)),
        "board": board,
        "probe": session.probe_info,
        "thermal_before": doc.get("thermal_before", {}),
        "thermal_after": doc.get("thermal_after", {}),
        "agent_sha256": session.hash,
    }
