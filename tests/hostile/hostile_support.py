"""Running the hostile cases of cases.toml: plant files, call the CLI, check the outcome.

A case is data: the command line (with placeholders), the files to plant, the exit code (2 bad
input, 3 target unreachable) and a word the one stderr line must contain. Every case must
leave exactly one line on stderr, no traceback, and every file the user had byte for byte.

Placeholders: {tmp} the case's folder, {runs} the runs root ($HANNA_RUNS), {good} a valid
search config, {profile} the shipped profile, {run} a finished search run (planted),
{repo} the checkout. File values: plain text, or "@copy:PATH", "@hex:HEX", "@fifo", "@dir",
"@link:TARGET", "@big:N" (N bytes), "@good:KEY=VALUE" (the good config with one key set,
VALUE as TOML) or "@good-drop:SECTION.KEY".
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from hanna_tui.tomlio import dumps_toml, load_toml, loads_toml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PROFILE = REPO / "profiles" / "rpi3b-hanna.toml"
CASES_FILE = HERE / "cases.toml"
THETA = "".join(" ".join(["0.0"] * 9) + "\n" for _ in range(22))


@dataclass
class Case:
    id: str
    argv: list[str]
    exit: int = 2
    needle: str = ""
    files: dict[str, str] = field(default_factory=dict)  # relative to {tmp}
    run_files: dict[str, str] = field(default_factory=dict)  # relative to {run}
    env: dict[str, str] = field(default_factory=dict)
    subprocess: bool = False
    may_change: list[str] = field(default_factory=list)  # files the command may rewrite (relative to {tmp})


def load_cases(path: Path = CASES_FILE) -> list[Case]:
    doc = load_toml(path)
    cases = [Case(**entry) for entry in doc.get("case", [])]
    for matrix in doc.get("matrix", []):
        template = dict(matrix)
        values = template.pop("values")
        prefix = template.pop("id")
        for i, value in enumerate(values):
            entry = json.loads(json.dumps(template).replace("{value}", json.dumps(value)[1:-1]))
            cases.append(Case(id=f"{prefix}-{i}", **entry))
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    return cases


def good_config_text() -> str:
    doc = load_toml(REPO / "examples" / "demo-search.toml")
    doc["profile"]["path"] = str(PROFILE)
    doc["search"]["epochs"] = 1
    return dumps_toml(doc)


def _good_with(assignment: str) -> str:
    doc = loads_toml(good_config_text())
    key, _, raw = assignment.partition("=")
    section, _, name = key.partition(".")
    doc.setdefault(section, {})[name] = loads_toml(f"v = {raw}")["v"]
    return dumps_toml(doc)


def _good_without(key: str) -> str:
    doc = loads_toml(good_config_text())
    section, _, name = key.partition(".")
    doc.get(section, {}).pop(name, None)
    return dumps_toml(doc)


def plant(path: Path, value: str, subst) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or path.is_file():
        path.unlink()
    kind, _, arg = value.partition(":") if value.startswith("@") else ("", "", value)
    arg = subst(arg)
    if kind == "@copy":
        shutil.copyfile(arg, path)
    elif kind == "@hex":
        path.write_bytes(bytes.fromhex(arg))
    elif kind == "@fifo":
        os.mkfifo(path)
    elif kind == "@dir":
        path.mkdir(exist_ok=True)
    elif kind == "@link":
        os.symlink(arg, path)
    elif kind == "@big":
        with open(path, "wb") as out:
            out.truncate(int(arg))
    elif kind == "@good":
        path.write_text(_good_with(arg), encoding="utf-8")
    elif kind == "@good-drop":
        path.write_text(_good_without(arg), encoding="utf-8")
    elif kind == "":
        path.write_text(subst(value), encoding="utf-8")
    else:
        raise ValueError(f"unknown plant kind {kind}")


def plant_good_run(run: Path) -> None:
    run.mkdir(parents=True)
    meta = {
        "id": run.name,
        "kind": "search",
        "name": "good",
        "created": "2026-12-01T09:00:00+00:00",
        "origin": "cli",
        "knobs": {"alpha": 2.0, "beta": 0.6, "gamma": 4.0, "delta": 0.6},
        "space": "fbnet-cifar10",
        "mode": "sampled",
        "profile": str(PROFILE),
    }
    (run / "run.json").write_text(json.dumps(meta), encoding="utf-8")
    (run / "status.json").write_text(json.dumps({"state": "done", "epoch": 1, "total_epochs": 1, "progress": 1.0}), encoding="utf-8")
    (run / "config.toml").write_text(good_config_text(), encoding="utf-8")
    (run / "theta.txt").write_text(THETA, encoding="utf-8")
    (run / "metrics.jsonl").write_text('{"kind":"epoch","epoch":1,"acc":0.3}\n', encoding="utf-8")


def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every regular file under root (links and FIFOs by what they are, never opened)."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            rel = str(path.relative_to(root))
            if stat.S_ISREG(st.st_mode):
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                out[rel] = "link:" + os.readlink(path)
            elif not stat.S_ISDIR(st.st_mode):
                out[rel] = f"special:{stat.S_IFMT(st.st_mode)}"
    return out


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str


def run_in_process(argv: list[str], env: dict[str, str]) -> Outcome:
    from hanna_tui.cli import main

    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return Outcome(code, out.getvalue(), err.getvalue())


def run_subprocess(argv: list[str], env: dict[str, str]) -> Outcome:
    full = dict(os.environ, **env)
    full["PYTHONPATH"] = str(REPO) + os.pathsep + full.get("PYTHONPATH", "")
    full.setdefault("OMP_NUM_THREADS", "1")
    proc = subprocess.run(
        [sys.executable, "-m", "hanna_tui", *argv],
        cwd=REPO,
        env=full,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    return Outcome(proc.returncode, proc.stdout, proc.stderr)


def prepare(case: Case, tmp: Path, runs: Path) -> tuple[list[str], dict[str, str], Path]:
    run_dir = runs / "20261201-090000-good"
    good = tmp / "good.toml"

    def subst(text: str) -> str:
        return (
            text.replace("{tmp}", str(tmp))
            .replace("{runs}", str(runs))
            .replace("{good}", str(good))
            .replace("{profile}", str(PROFILE))
            .replace("{run}", str(run_dir))
            .replace("{repo}", str(REPO))
        )

    good.write_text(good_config_text(), encoding="utf-8")
    plant_good_run(run_dir)
    for rel, value in case.files.items():
        plant(tmp / subst(rel), value, subst)
    for rel, value in case.run_files.items():
        plant(run_dir / rel, value, subst)
    return [subst(a) for a in case.argv], {k: subst(v) for k, v in case.env.items()}, run_dir


def check(case: Case, tmp: Path, runs: Path) -> list[str]:
    """Run one case; the list of what went wrong (empty when it passed)."""
    argv, env, _ = prepare(case, tmp, runs)
    before = snapshot(tmp)
    outcome = (run_subprocess if case.subprocess else run_in_process)(argv, env)
    after = snapshot(tmp)
    problems = []
    if outcome.code != case.exit:
        problems.append(f"exit {outcome.code}, expected {case.exit}")
    lines = outcome.stderr.strip().splitlines()
    if len(lines) != 1:
        problems.append(f"{len(lines)} stderr lines")
    if "Traceback" in outcome.stderr:
        problems.append("traceback")
    if case.needle and case.needle not in outcome.stderr:
        problems.append(f"stderr lacks {case.needle!r}")
    allowed = set(case.may_change)
    changed = [k for k, v in before.items() if after.get(k) != v and k not in allowed]
    if changed:
        problems.append(f"changed or removed: {', '.join(sorted(changed)[:5])}")
    if problems:
        problems.append(f"stderr: {outcome.stderr.strip()[-600:]!r}")
    return problems
