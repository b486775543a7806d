"""Files of a run directory: atomic writes, JSON lines, and one hardened reader.

Everything in a run directory may have been written by a killed process, another user or an
attacker (a shared runs folder). Reading goes through ``read_bytes``: regular files only,
opened with O_NOFOLLOW | O_NONBLOCK (a symlink is refused, a FIFO or device never blocks or
streams forever), with a size limit. A file that is there but cannot be used raises
``Unreadable`` (a UserError: "FILE: REASON"); callers that list runs turn it into a per-run
"unreadable" state.

Permission policy: every file written here is created 0600 (owner read/write only), whatever
the umask, atomic writes and appended JSON lines alike.
"""

from __future__ import annotations

import errno
import json
import math
import os
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UserError

FILE_MODE = 0o600
SMALL_FILE_LIMIT = 4 << 20  # status.json, run.json, arch.json, deploy results: a few KB in practice
TEXT_FILE_LIMIT = 16 << 20  # TOML configs and profiles
FIRST_TAIL_BYTES = 8 << 20  # a follower's first read of a metrics history: the last 8 MB
STEP_TAIL_BYTES = 32 << 20  # at most this much appended data per poll
_OPEN_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


class Unreadable(UserError):
    """A file that exists but cannot be used: not regular, a link, too large, not UTF-8, not JSON."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: str | os.PathLike) -> tuple[int, os.stat_result]:
    """A read-only descriptor of a regular file, never following a final symlink.

    FileNotFoundError passes through (callers treat a missing file as absent); anything else
    that is not a plain file is Unreadable.
    """
    try:
        fd = os.open(path, _OPEN_READ)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Unreadable(path, "is a symbolic link (not followed)") from None
        if exc.errno == errno.EISDIR:
            raise Unreadable(path, "is a directory (expected a file)") from None
        raise Unreadable(path, exc.strerror or str(exc)) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise Unreadable(path, f"is {_kind(st.st_mode)} (expected a regular file)")
    return fd, st


def _read_fd(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = os.read(fd, min(1 << 20, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def read_bytes(path: str | os.PathLike, limit: int = SMALL_FILE_LIMIT) -> bytes:
    """The whole content of a regular file of at most ``limit`` bytes (else Unreadable)."""
    fd, st = open_regular(path)
    try:
        if st.st_size > limit:
            raise Unreadable(path, f"too large ({st.st_size} bytes, expected at most {limit})")
        data = _read_fd(fd, limit)
    except OSError as exc:
        raise Unreadable(path, exc.strerror or str(exc)) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise Unreadable(path, f"too large (grew past {limit} bytes while read)")
    return data


def read_text(path: str | os.PathLike, limit: int = TEXT_FILE_LIMIT) -> str:
    data = read_bytes(path, limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable(path, f"not UTF-8 text (byte {exc.start}: {data[exc.start : exc.start + 1]!r})") from None


def parse_json(data: bytes, path: str | os.PathLike) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable(path, f"not UTF-8 (byte {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise Unreadable(path, f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise Unreadable(path, "not usable JSON (nested too deeply)") from None
    except ValueError as exc:  # e.g. an integer with too many digits
        raise Unreadable(path, f"not usable JSON ({str(exc).splitlines()[0]})") from None


def load_json(path: str | os.PathLike, limit: int = SMALL_FILE_LIMIT) -> Any:
    """The parsed JSON of a file, None when it is missing; Unreadable when it cannot be used."""
    try:
        data = read_bytes(path, limit)
    except FileNotFoundError:
        return None
    return parse_json(data, path)


def read_json(path: str | os.PathLike, default: Any = None) -> Any:
    """Lenient read: ``default`` when the file is missing or unusable, or when a default is given
    and the JSON is of another type (a status.json holding a list reads as the default {})."""
    try:
        value = load_json(path)
    except Unreadable:
        return default
    if value is None:
        return default
    if default is not None and not isinstance(value, type(default)):
        return default
    return value


def finite_or_none(value: Any) -> float | None:
    """A JSON number as a finite float; anything else (NaN, inf, a string, a bool) as None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def json_safe(value: Any) -> Any:
    """A copy with every non-finite float replaced by None (strict JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


# writing


def _naming(exc: BaseException, path: str | os.PathLike) -> BaseException:
    """A write error that names no file (ENOSPC from write(2)) gets the target's name, for the one-line message."""
    if type(exc) is OSError and exc.filename is None and exc.errno is not None:
        return OSError(exc.errno, exc.strerror, str(path))
    return exc


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write to a temp file in the same directory, fsync, then rename over the target.

    The rename replaces a symlink at the target rather than writing through it. On any
    failure (a full disk included) the temp file is removed and the old file stays whole.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise _naming(exc, path) from None


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def append_jsonl(path: str | os.PathLike, record: dict[str, Any]) -> None:
    """Append one whole JSON line with a single write so readers never see half a record.

    A symlink at ``path`` is refused (O_NOFOLLOW), so a planted link cannot redirect the appends;
    a write that does not fit (full disk) is cut back so no torn line stays behind.
    """
    line = (json.dumps(record, separators=(",", ":")) + "\n").encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Unreadable(path, "is a symbolic link (refused: files in a run directory are not followed)") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Unreadable(path, f"is {_kind(st.st_mode)} (expected a regular file)")
        written = os.write(fd, line)
        if written != len(line):
            os.ftruncate(fd, st.st_size)
            raise OSError(errno.ENOSPC, "short write (disk full?)", str(path))
    except OSError as exc:
        try:
            os.ftruncate(fd, st.st_size)
        except (OSError, UnboundLocalError):
            pass
        raise _naming(exc, path) from None
    finally:
        os.close(fd)


# JSON lines


def _records(lines: list[bytes]) -> Iterator[dict[str, Any]]:
    for raw in lines:
        raw = raw.strip()
        if not raw:
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            continue
        if isinstance(record, dict):
            yield record


def iter_jsonl(path: str | os.PathLike) -> Iterator[dict[str, Any]]:
    """Yield the complete object records, streaming; a torn last line (a killed writer), lines that
    are not JSON objects and a file that is not a regular file (or a link) are skipped."""
    try:
        fd, _ = open_regular(path)
    except (FileNotFoundError, Unreadable):
        return
    with os.fdopen(fd, "rb") as handle:
        for line in handle:
            if not line.endswith(b"\n"):
                return
            yield from _records([line])


@dataclass
class Increment:
    """What a poll of a growing JSON-lines file found (see read_increment)."""

    inode: int
    offset: int  # where the next poll continues
    records: list[dict[str, Any]]
    reset: bool  # the file was replaced or truncated: drop what was read before
    skipped: int = 0  # bytes at the start that a bounded first read left out


INTERVAL_MARK = b'"kind":"interval"'  # how append_jsonl spells an interval record


def read_increment(
    path: str | os.PathLike, offset: int, inode: int, first_limit: int = FIRST_TAIL_BYTES, step_limit: int = STEP_TAIL_BYTES
) -> Increment | None:
    """The complete records appended since ``offset``; None when the file is missing or unusable.

    The first read of a large file (offset 0) parses only its last ``first_limit`` bytes, from a
    line boundary; of the part before, only the records that are not intervals (epochs, resume
    markers: a few per epoch) are kept, found by a byte scan without parsing the intervals. So a
    200 MB history costs about as much as an 8 MB one. Later polls read at most ``step_limit``.
    """
    try:
        fd, st = open_regular(path)
    except (FileNotFoundError, Unreadable):
        return None
    head: list[dict[str, Any]] = []
    try:
        reset = st.st_ino != inode or st.st_size < offset
        if reset:
            offset = 0
        skipped = st.st_size - first_limit if offset == 0 and st.st_size > first_limit else 0
        if skipped:
            head = _sparse_head(fd, skipped)
        start = max(offset, skipped)
        os.lseek(fd, start, os.SEEK_SET)
        chunk = _read_fd(fd, min(st.st_size - start, step_limit) - 1) if st.st_size > start else b""
    except OSError:
        return None
    finally:
        os.close(fd)
    if skipped and start == skipped:
        cut = chunk.find(b"\n")
        chunk, start = (chunk[cut + 1 :], start + cut + 1) if cut >= 0 else (b"", start)
    end = chunk.rfind(b"\n")
    if end < 0:
        return Increment(st.st_ino, start, head, reset, skipped)
    return Increment(st.st_ino, start + end + 1, head + list(_records(chunk[: end + 1].split(b"\n"))), reset, skipped)


def _sparse_head(fd: int, length: int, block: int = 16 << 20) -> list[dict[str, Any]]:
    """The records other than intervals among the first ``length`` bytes (whole lines only)."""
    kept: list[dict[str, Any]] = []
    carry = b""
    done = 0
    os.lseek(fd, 0, os.SEEK_SET)
    while done < length:
        data = os.read(fd, min(block, length - done))
        if not data:
            break
        done += len(data)
        lines = (carry + data).split(b"\n")
        carry = lines.pop()
        kept.extend(_records([line for line in lines if INTERVAL_MARK not in line]))
    return kept


def check_jsonl_tail(path: str | os.PathLike, window: int = 16 << 10) -> str | None:
    """Why the end of a JSON-lines file is unusable (binary data, no JSON object record), else None."""
    try:
        fd, st = open_regular(path)
    except FileNotFoundError:
        return None
    except Unreadable as exc:
        return exc.reason
    try:
        start = max(0, st.st_size - window)
        os.lseek(fd, start, os.SEEK_SET)
        chunk = _read_fd(fd, window - 1)
    except OSError as exc:
        return exc.strerror or str(exc)
    finally:
        os.close(fd)
    lines = chunk.split(b"\n")[:-1]  # the last piece is torn or empty
    if start:
        lines = lines[1:]
    lines = [line for line in lines if line.strip()]
    if not lines:
        return "binary data (no line breaks)" if b"\0" in chunk else None
    if b"\0" in chunk:
        return "binary data (not JSON lines)"
    if not any(True for _ in _records(lines)):
        return "not JSON lines (no record in its last lines)"
    return None
