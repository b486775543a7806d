"""`hanna-tui`: the dashboard with no arguments, `--batch CONFIG` headless, or a subcommand.

Exit codes: 0 ok, 1 a run failed, 2 bad input, 3 target unreachable, 130 interrupted.
Every error is one line on stderr: a file the user named that cannot be used or written exits 2
("failed: PATH: REASON"), a disk that fills up or fails exits 1; no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import math
import os
import sys

from .errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_RUN_FAILED, UserError

# errors of the machine rather than of the input: the run failed (exit 1), the input was fine
ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG, errno.ENOMEM}

# subcommand -> module under hanna_tui.commands; each module has register(subparsers) and is
# imported only when needed so that `hanna-tui knobs` never pays for torch.
COMMANDS = {
    "knobs": "Pre-visualise knobs: LAT0, ENER0, vLAT, vENER and dominance for a profile",
    "search": "Run an architecture search as this process, writing its run directory",
    "runs": "List runs with status, knobs, progress and predicted cost",
    "sample": "Sample the childnet (argmax of theta per layer) of a run or a theta file",
    "profile": "Measure a device profile (lookup tables) on a target over SSH or locally",
    "deploy": "Export a run's childnet, run it on a target and store measured latency/energy",
    "train": "Train a run's sampled childnet to full accuracy",
    "baseline": "Train a baseline (MobileNetV2, CondenseNet) as a run",
    "export": "Export a run's model as TorchScript or ONNX",
    "report": "Write figures of runs (PNG, SVG) with index.md and data.json",
    "tui": "Open the dashboard",
}


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad flag as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        sys.exit(EXIT_BAD_INPUT)


def build_parser(load: list[str] | None = None) -> argparse.ArgumentParser:
    parser = OneLineParser(prog="hanna-tui", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", metavar="CONFIG", help="run the whole pipeline headless from a TOML config")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("--executor", choices=("local", "ray"), help="with --batch: where runs execute (default: the config's)")
    parser.add_argument("--address", help="with --batch --executor ray: the Ray cluster address (default: a local cluster)")
    parser.add_argument("--concurrency", type=int, help="with --batch: runs at a time (default: the config's)")
    parser.add_argument(
        "--set",
        dest="batch_sets",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="with --batch: override one search-config value in every setting (repeatable), e.g. search.epochs=2",
    )
    parser.add_argument("--only", metavar="LABEL,...", help="with --batch: run only these settings (their labels)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for name in COMMANDS:
        if load is None or name in load:
            module = importlib.import_module(f"hanna_tui.commands.{name.replace('-', '_')}")
            module.register(sub)
        else:
            sub.add_parser(name, help=COMMANDS[name], add_help=False)
    return parser


def check_finite_flags(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """No number flag takes inf or nan (argparse's float() accepts both)."""
    for name, value in vars(args).items():
        if isinstance(value, float) and not math.isfinite(value):
            parser.error(f"--{name.replace('_', '-')}: expected a finite number, got {value}")


def os_error_line(exc: OSError) -> tuple[str, int]:
    """One line for an OSError that escaped a command, and its exit code."""
    where = exc.filename if exc.filename is not None else ""
    if exc.filename2 is not None:
        where = f"{where} -> {exc.filename2}"
    reason = exc.strerror or str(exc) or type(exc).__name__
    code = EXIT_RUN_FAILED if exc.errno in ENVIRONMENT_ERRNOS else EXIT_BAD_INPUT
    return (f"failed: {where}: {reason}" if where else f"failed: {reason}"), code


def _say(line: str) -> None:
    try:
        sys.stderr.write(f"hanna-tui: {' '.join(line.splitlines())}\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # stderr closed or gone: the exit code still tells
        pass


def _tolerant_streams() -> None:
    # a run id or file name with undecodable bytes is printed with escapes, never a crash
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):
                pass


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    wanted = [a for a in argv if a in COMMANDS][:1]
    _tolerant_streams()
    try:
        parser = build_parser(load=wanted if wanted else [])
        args = parser.parse_args(argv)
        check_finite_flags(parser, args)
        if args.version:
            from . import __version__

            print(f"hanna-tui {__version__}")
            return 0
        if args.batch:
            if args.command:
                parser.error("--batch takes no subcommand")
            from .batch import run_batch_cli

            only = [label.strip() for label in (args.only or "").split(",") if label.strip()]
            return run_batch_cli(
                args.batch, executor=args.executor, address=args.address, concurrency=args.concurrency, sets=args.batch_sets, only=only
            )
        if args.batch_sets or args.only:
            parser.error("--set and --only before a subcommand go with --batch (a subcommand takes --set after its name)")
        if not args.command:
            from .commands.tui import open_dashboard

            return open_dashboard(args)
        return int(args.func(args) or 0)
    except UserError as exc:
        _say(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        _say("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    except OSError as exc:
        line, code = os_error_line(exc)
        _say(line)
        return code
    except (RecursionError, MemoryError, OverflowError) as exc:
        _say(f"failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'input too large'}")
        return EXIT_BAD_INPUT
    except Exception as exc:  # noqa: BLE001 - a bug: one line, the traceback on request
        if os.environ.get("HANNA_DEBUG"):
            raise
        _say(f"internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} (set HANNA_DEBUG=1 for the traceback)")
        return EXIT_RUN_FAILED


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
