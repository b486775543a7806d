"""User-facing errors and the documented exit codes."""

from __future__ import annotations

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_UNREACHABLE = 3
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """An error the user caused; printed as one line, never with a traceback."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class ConfigError(UserError):
    """A file or field that is not what was expected: names the file, the field and the expectation."""

    def __init__(self, source: str, field: str | None, expected: str) -> None:
        where = f"{source}: {field}" if field else source
        super().__init__(f"{where}: {expected}")
        self.source = source
        self.field = field


class TargetUnreachable(UserError):
    exit_code = EXIT_UNREACHABLE
