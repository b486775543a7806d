"""`hanna-tui`: the dashboard with no arguments, `--batch CONFIG` headless, or a subcommand.

Exit codes: 0 ok, 1 a run failed, 2 bad input, 3 target unreachable, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, UserError

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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for name in COMMANDS:
        if load is None or name in load:
            module = importlib.import_module(f"hanna_tui.commands.{name.replace('-', '_')}")
            module.register(sub)
        else:
            sub.add_parser(name, help=COMMANDS[name], add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    wanted = [a for a in argv if a in COMMANDS][:1]
    try:
        parser = build_parser(load=wanted if wanted else [])
        args = parser.parse_args(argv)
        if args.version:
            from . import __version__

            print(f"hanna-tui {__version__}")
            return 0
        if args.batch:
            if args.command:
                parser.error("--batch takes no subcommand")
            from .batch import run_batch_cli

            return run_batch_cli(args.batch, executor=args.executor, address=args.address, concurrency=args.concurrency)
        if not args.command:
            from .commands.tui import open_dashboard

            return open_dashboard(args)
        return int(args.func(args) or 0)
    except UserError as exc:
        sys.stderr.write(f"hanna-tui: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("hanna-tui: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
