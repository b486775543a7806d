"""SSH layer (paramiko): targets, host-key policy, commands with deadlines, verified uploads.

- A target is an ~/.ssh/config alias or user@host[:port]; keys come from the agent, the
  config's IdentityFile entries and the usual ~/.ssh/id_* files.
- Host keys are checked against known_hosts: an unknown or changed key is refused unless
  trust-on-first-use is asked for explicitly, which records a new key (never a changed one).
- Every command has a deadline; stdout and stderr are drained while waiting for the exit
  status (no deadlock on full buffers), and the command is wrapped in `timeout` on the target.
- Uploads go to a temporary name over SFTP, are checksummed on the target, then renamed.
"""

from __future__ import annotations

import contextlib
import getpass
import glob
import hashlib
import os
import shlex
import socket
import stat
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paramiko

from ..errors import TargetUnreachable, UserError

DEFAULT_PORT = 22
POLL_S = 0.005
CHUNK = 64 * 1024


class HostKeyError(TargetUnreachable):
    """Unknown or changed host key."""


class AuthError(TargetUnreachable):
    """No key was accepted."""


class ConnectionDropped(TargetUnreachable):
    """The connection went away during a command or a transfer."""


class DeadlineExceeded(TargetUnreachable):
    """A command ran past its deadline."""


class RemoteDiskFull(UserError):
    """Not enough space on the target for an upload."""


@dataclass
class TargetSpec:
    """Where to connect, after ~/.ssh/config is applied."""

    label: str
    host: str
    port: int = DEFAULT_PORT
    user: str = ""
    identity_files: list[str] = field(default_factory=list)
    known_hosts: str = ""
    connect_timeout: float = 10.0
    jump: list[TargetSpec] = field(default_factory=list)  # ProxyJump hops, first hop first
    proxy_command: str = ""  # ProxyCommand (tokens expanded), used for the first connection
    identities_only: bool = False  # IdentitiesOnly yes: only the IdentityFile keys, no agent
    identity_agent: str = ""  # IdentityAgent: a socket path, "none", or "" (SSH_AUTH_SOCK)

    @property
    def where(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"

    @property
    def host_key_name(self) -> str:
        return self.host if self.port == DEFAULT_PORT else f"[{self.host}]:{self.port}"


def ssh_config_path() -> Path:
    return Path(os.environ.get("HANNA_SSH_CONFIG", "~/.ssh/config")).expanduser()


INCLUDE_DEPTH = 16  # OpenSSH's limit on nested Include


def load_ssh_config(path: Path | None = None) -> paramiko.SSHConfig:
    """~/.ssh/config (or $HANNA_SSH_CONFIG) with its Include directives expanded, parsed by paramiko."""
    path = path or ssh_config_path()
    if not path.is_file():
        return paramiko.SSHConfig()
    text = expanded_config_text(path, path.parent if path.parent.name == ".ssh" else Path("~/.ssh").expanduser())
    try:
        return paramiko.SSHConfig.from_text(text)
    except (paramiko.ssh_exception.ConfigParseError, ValueError) as exc:
        raise UserError(f"{path}: cannot parse the ssh config ({exc})") from None


def expanded_config_text(path: Path, ssh_dir: Path, depth: int = 0) -> str:
    """The config text with each Include line replaced by the files it names (globs; relative to ~/.ssh), in order.

    paramiko does not read Include itself. As in OpenSSH, an included file is read where the
    Include stands (inside a Host block it applies to that block's hosts until its own Host lines).
    """
    if depth > INCLUDE_DEPTH:
        raise UserError(f"{path}: Include nested more than {INCLUDE_DEPTH} deep (a loop?)")
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise UserError(f"{path}: cannot read the ssh config ({exc.strerror})") from None
    out = []
    for line in lines:
        words = line.strip().replace("=", " ", 1).split()
        if not words or words[0].lower() != "include":
            out.append(line)
            continue
        for pattern in words[1:]:
            expanded = Path(os.path.expanduser(pattern))
            full = expanded if expanded.is_absolute() else ssh_dir / expanded
            for match in sorted(glob.glob(str(full))):
                if os.path.isfile(match):
                    out.append(expanded_config_text(Path(match), ssh_dir, depth + 1))
    return "\n".join(out) + "\n"


def config_hosts(path: Path | None = None) -> list[str]:
    """Concrete Host aliases of ~/.ssh/config (no wildcards), for pickers."""
    hosts = load_ssh_config(path).get_hostnames()
    return sorted(h for h in hosts if not any(c in h for c in "*?!"))


def parse_target(text: str, known_hosts: str = "", config_path: Path | None = None) -> TargetSpec:
    """user@host[:port] or an ~/.ssh/config alias (the config fills in what the text leaves out)."""
    text = text.strip()
    if not text or any(c.isspace() for c in text) or text.startswith("-"):
        raise UserError(f"--target {text!r}: expected an ~/.ssh/config alias or user@host[:port]")
    return _resolve(text, known_hosts, load_ssh_config(config_path), 0)


def _resolve(text: str, known_hosts: str, config: paramiko.SSHConfig, depth: int) -> TargetSpec:
    if depth > INCLUDE_DEPTH:
        raise UserError(f"--target {text!r}: ProxyJump chain longer than {INCLUDE_DEPTH} hops (a loop?)")
    user, _, rest = text.rpartition("@")
    host, port = _split_port(rest, text)
    cfg = config.lookup(host)
    hostname = cfg.get("hostname", host)
    port = port or _config_port(cfg.get("port"), text)
    user = user or cfg.get("user") or getpass.getuser()
    identities = [os.path.expanduser(p) for p in cfg.get("identityfile", [])]
    kh = known_hosts or _first(cfg.get("userknownhostsfile")) or "~/.ssh/known_hosts"
    timeout = _config_timeout(cfg.get("connecttimeout"), text)
    spec = TargetSpec(text, hostname, port, user, identities, os.path.expanduser(kh), timeout)
    spec.identities_only = str(cfg.get("identitiesonly", "no")).lower() == "yes"
    spec.identity_agent = os.path.expandvars(os.path.expanduser(str(cfg.get("identityagent", ""))))
    jump = str(cfg.get("proxyjump", "") or "")
    if jump and jump.lower() != "none":
        for hop in jump.split(","):
            hop_spec = _resolve(hop.strip().removeprefix("ssh://"), known_hosts, config, depth + 1)
            spec.jump += [*hop_spec.jump, hop_spec]
            hop_spec.jump = []
    elif cfg.get("proxycommand"):
        spec.proxy_command = str(cfg["proxycommand"])
    return spec


def _config_port(value: str | None, text: str) -> int:
    if value is None:
        return DEFAULT_PORT
    if not str(value).isdigit() or not 0 < int(value) < 65536:
        raise UserError(f"--target {text!r}: ssh config Port must be a number 1-65535, got {value!r}")
    return int(value)


def _config_timeout(value: str | None, text: str) -> float:
    if value is None:
        return 10.0
    try:
        seconds = float(value)
    except ValueError:
        raise UserError(f"--target {text!r}: ssh config ConnectTimeout must be a number of seconds, got {value!r}") from None
    return seconds if seconds > 0 else 10.0


def _split_port(rest: str, text: str) -> tuple[str, int]:
    if rest.startswith("["):  # [v6addr]:port
        host, bracket, tail = rest[1:].partition("]")
        if not bracket or (tail and not tail.startswith(":")):
            raise UserError(f"--target {text!r}: expected [IPv6-ADDRESS] or [IPv6-ADDRESS]:PORT after the user")
        port_text = tail[1:]
    elif rest.count(":") == 1:
        host, port_text = rest.split(":")
    else:
        host, port_text = rest, ""
    if port_text and not (port_text.isdigit() and 0 < int(port_text) < 65536):
        raise UserError(f"--target {text!r}: port must be a number 1-65535, got {port_text!r}")
    if not host:
        raise UserError(f"--target {text!r}: no host name")
    return host, int(port_text) if port_text else 0


def _first(value) -> str:
    if isinstance(value, list):
        return value[0] if value else ""
    return (value or "").split()[0] if value else ""


@dataclass
class KnownHosts:
    """A known_hosts file as OpenSSH reads it: plain and hashed entries, @revoked keys honoured,
    @cert-authority lines skipped (host certificates are not supported: list the host's own key)."""

    keys: paramiko.HostKeys
    revoked: set[tuple[str, str]]  # (key type, base64)
    skipped: list[str]

    @classmethod
    def load(cls, path: str) -> KnownHosts:
        keys, revoked, skipped, entries = paramiko.HostKeys(), set(), [], []
        try:
            # O_NONBLOCK + S_ISREG: a FIFO or device named as known_hosts is refused, never waited on
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
            with open(fd, encoding="utf-8", errors="replace") as handle:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    raise UserError(f"{path}: known_hosts is not a regular file")
                lines = handle.read().splitlines()
        except FileNotFoundError:
            return cls(keys, revoked, skipped)
        except OSError as exc:
            raise UserError(f"{path}: cannot read known_hosts ({exc.strerror})") from None
        for number, raw in enumerate(lines, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            marker = ""
            if line.startswith("@"):
                marker, _, line = line.partition(" ")
                line = line.strip()
            if marker == "@cert-authority" or (marker and marker != "@revoked"):
                skipped.append(f"{path}:{number}: {marker} line skipped (host certificates are not supported; list the host's own key)")
                continue
            fields = line.split()
            if marker == "@revoked":
                if len(fields) >= 3:
                    revoked.add((fields[1], fields[2]))
                continue
            try:
                entry = paramiko.hostkeys.HostKeyEntry.from_line(" ".join(fields[:3]), number)
            except (paramiko.SSHException, ValueError, TypeError):  # binascii.Error is a ValueError
                entry = None
            if entry is not None and entry.key is not None:
                entries.append(entry)
        for entry in entries:  # a revoked key is never a known one: it reaches the policy, which refuses it before auth
            if (entry.key.get_name(), entry.key.get_base64()) not in revoked:
                for name in entry.hostnames:
                    keys.add(name, entry.key.get_name(), entry.key)
        return cls(keys, revoked, skipped)

    def is_revoked(self, key: paramiko.PKey) -> bool:
        return (key.get_name(), key.get_base64()) in self.revoked


class _TrustOnFirstUse(paramiko.MissingHostKeyPolicy):
    """Record an unknown key in known_hosts (a changed key never reaches a policy: paramiko refuses it)."""

    def __init__(self, path: str, known: KnownHosts | None = None) -> None:
        self.path = path
        self.known = known

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        if self.known is not None and self.known.is_revoked(key):
            raise _RevokedHostKey(f"{key.get_name()} {key.fingerprint}")
        client.get_host_keys().add(hostname, key.get_name(), key)
        os.makedirs(os.path.dirname(self.path) or ".", mode=0o700, exist_ok=True)
        with open(self.path, "a", encoding="ascii") as handle:
            handle.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")


@dataclass
class CommandResult:
    rc: int
    stdout: bytes
    stderr: bytes
    elapsed_s: float

    def text(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    def err_text(self) -> str:
        return self.stderr.decode("utf-8", "replace")


LineCallback = Callable[[str], None]


class LineSplitter:
    """Feeds complete lines of a byte stream to a callback."""

    def __init__(self, callback: LineCallback | None) -> None:
        self.callback = callback
        self.pending = b""

    def feed(self, data: bytes) -> None:
        if not self.callback:
            return
        self.pending += data
        *lines, self.pending = self.pending.split(b"\n")
        for line in lines:
            self.callback(line.decode("utf-8", "replace"))


def wrap_deadline(command: str, seconds: float) -> str:
    """Run through coreutils `timeout` on the target when it has one, so nothing outlives the deadline."""
    limit = max(1, int(seconds + 0.999)) + 2  # the host's deadline fires first; this stops what is left
    inner = shlex.quote(command)
    # no exec: a command killed by a signal then ends as exit status 128+N (paramiko ignores exit-signal)
    return f"if command -v timeout >/dev/null 2>&1; then timeout -k 3 {limit} sh -c {inner}; else sh -c {inner}; fi"


def connect_error(spec: TargetSpec, exc: BaseException, tofu_hint: bool = True, via: str = "") -> TargetUnreachable:
    where = f"{spec.user}@{spec.host}:{spec.port}{via}"
    if isinstance(exc, _RevokedHostKey):
        return HostKeyError(f"{where}: REVOKED host key ({exc.fingerprint}) is marked @revoked in {spec.known_hosts}; refusing to connect")
    if isinstance(exc, paramiko.ssh_exception.ProxyCommandFailure):
        return TargetUnreachable(f"{where}: ProxyCommand failed ({exc.command!r}: {exc.error})")
    if isinstance(exc, paramiko.ChannelException):
        return TargetUnreachable(f"{where}: the jump host could not open a connection to it ({exc.text or exc.code})")
    if isinstance(exc, paramiko.BadHostKeyException):
        return HostKeyError(
            f"{where}: HOST KEY MISMATCH: the target's {exc.key.get_name()} key differs from the one in "
            f"{spec.known_hosts} (possible impersonation); if the board was reinstalled, remove the old line "
            f"(ssh-keygen -R {shlex.quote(spec.host_key_name)} -f {spec.known_hosts})"
        )
    if isinstance(exc, _UnknownHostKey):
        hint = "; connect once with --trust-new-host to record it" if tofu_hint else ""
        return HostKeyError(f"{where}: unknown host key ({exc.fingerprint}) not in {spec.known_hosts}{hint}")
    if isinstance(exc, paramiko.SSHException) and "No authentication methods" in str(exc):
        return AuthError(f"{where}: no key to authenticate with (no IdentityFile found, no ssh-agent, or IdentitiesOnly without keys)")
    if isinstance(exc, paramiko.AuthenticationException):
        return AuthError(
            f"{where}: authentication failed (no key accepted; tried ssh-agent and {', '.join(spec.identity_files) or '~/.ssh/id_*'})"
        )
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        return TargetUnreachable(f"{where}: connection refused (is sshd running and the port right?)")
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return TargetUnreachable(f"{where}: connection timed out after {spec.connect_timeout:g} s")
    if isinstance(exc, socket.gaierror):
        return TargetUnreachable(f"{where}: unknown host name ({exc.strerror})")
    if isinstance(exc, paramiko.SSHException) and ("banner" in str(exc).lower() or "No existing session" in str(exc)):
        return TargetUnreachable(f"{where}: no SSH banner/negotiation within {spec.connect_timeout:g} s (not an SSH server, or stalled)")
    return TargetUnreachable(f"{where}: cannot connect ({type(exc).__name__}: {exc})")


class _UnknownHostKey(paramiko.SSHException):
    def __init__(self, fingerprint: str) -> None:
        super().__init__(f"unknown host key {fingerprint}")
        self.fingerprint = fingerprint


class _RevokedHostKey(_UnknownHostKey):
    pass


class _Refuse(paramiko.MissingHostKeyPolicy):
    def __init__(self, known: KnownHosts | None = None) -> None:
        self.known = known

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        if self.known is not None and self.known.is_revoked(key):
            raise _RevokedHostKey(f"{key.get_name()} {key.fingerprint}")
        raise _UnknownHostKey(f"{key.get_name()} {key.fingerprint}")


class SSHTarget:
    """One connection to a board. Use as a context manager."""

    is_local = False

    def __init__(self, spec: TargetSpec, trust_new_host: bool = False) -> None:
        self.spec = spec
        self.trust_new_host = trust_new_host
        self.client: paramiko.SSHClient | None = None
        self.hops: list[paramiko.SSHClient] = []

    @property
    def label(self) -> str:
        return self.spec.label

    def connect(self) -> SSHTarget:
        """Connect through the ProxyJump hops (each one's host key checked) or the ProxyCommand, then to the target."""
        hops: list[paramiko.SSHClient] = []
        sock: Any = paramiko.ProxyCommand(self.spec.proxy_command) if self.spec.proxy_command else None
        if self.spec.jump and self.spec.jump[0].proxy_command:
            sock = paramiko.ProxyCommand(self.spec.jump[0].proxy_command)
        try:
            for index, hop in enumerate(self.spec.jump):
                client = self._client(hop, sock, _via(self.spec.jump[:index]))
                hops.append(client)
                sock = self._forward(client, self.spec.jump[index + 1] if index + 1 < len(self.spec.jump) else self.spec, hop)
            self.client = self._client(self.spec, sock, _via(self.spec.jump))
        except BaseException:
            for client in reversed(hops):
                client.close()
            raise
        self.hops = hops
        transport = self.client.get_transport()
        if transport is not None:
            transport.set_keepalive(5)
        return self

    def _client(self, spec: TargetSpec, sock: Any, via: str) -> paramiko.SSHClient:
        known = KnownHosts.load(spec.known_hosts)
        for note in known.skipped:
            _note_once(note)
        client = paramiko.SSHClient()
        for name, keys in known.keys.items():
            for key_type, key in keys.items():
                client.get_host_keys().add(name, key_type, key)
        client.set_missing_host_key_policy(_TrustOnFirstUse(spec.known_hosts, known) if self.trust_new_host else _Refuse(known))
        agent = spec.identity_agent
        allow_agent = not spec.identities_only and agent.lower() != "none"
        try:
            with _agent_socket(agent if allow_agent and agent and agent != "SSH_AUTH_SOCK" else None):
                client.connect(
                    spec.host,
                    port=spec.port,
                    username=spec.user,
                    key_filename=[p for p in spec.identity_files if os.path.isfile(p)] or None,
                    timeout=spec.connect_timeout,
                    banner_timeout=spec.connect_timeout,
                    auth_timeout=spec.connect_timeout,
                    channel_timeout=spec.connect_timeout,
                    allow_agent=allow_agent,
                    look_for_keys=not spec.identity_files and not spec.identities_only,
                    sock=sock,
                )
            server_key = client.get_transport().get_remote_server_key() if client.get_transport() else None
            if server_key is not None and known.is_revoked(server_key):
                raise _RevokedHostKey(f"{server_key.get_name()} {server_key.fingerprint}")
        except (paramiko.SSHException, OSError, EOFError) as exc:
            client.close()
            raise connect_error(spec, exc, via=via) from None
        return client

    def _forward(self, client: paramiko.SSHClient, to: TargetSpec, hop: TargetSpec) -> paramiko.Channel:
        """A direct-tcpip channel from a jump host to the next host (what ssh -J does)."""
        try:
            return client.get_transport().open_channel("direct-tcpip", (to.host, to.port), ("127.0.0.1", 0), timeout=to.connect_timeout)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise connect_error(to, exc, via=f" via {hop.where}") from None

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        for client in reversed(getattr(self, "hops", [])):
            client.close()
        self.hops = []

    def __enter__(self) -> SSHTarget:
        return self if self.client else self.connect()

    def __exit__(self, *exc) -> None:
        self.close()

    def _transport(self) -> paramiko.Transport:
        transport = self.client.get_transport() if self.client else None
        if transport is None or not transport.is_active():
            raise ConnectionDropped(f"{self.label}: connection dropped")
        return transport

    def run(self, command: str, deadline_s: float, stdin: bytes = b"", on_stderr_line: LineCallback | None = None) -> CommandResult:
        """Run a shell command (already quoted) with a deadline; both streams are drained while polling."""
        try:
            channel = self._transport().open_session(timeout=min(deadline_s, 30))
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise ConnectionDropped(f"{self.label}: connection dropped ({exc})") from None
        start = time.monotonic()
        try:
            channel.exec_command(wrap_deadline(command, deadline_s))
            if stdin:
                channel.sendall(stdin)
            channel.shutdown_write()
            out, err = _drain(channel, start + deadline_s, on_stderr_line)
        except DeadlineExceeded:
            raise DeadlineExceeded(f"{self.label}: command ran past its deadline of {deadline_s:g} s ({_short(command)})") from None
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise ConnectionDropped(f"{self.label}: connection dropped while running {_short(command)} ({exc})") from None
        finally:
            channel.close()
        rc = channel.recv_exit_status() if channel.exit_status_ready() else -1
        if rc == -1:
            raise ConnectionDropped(f"{self.label}: connection dropped while running {_short(command)}")
        return CommandResult(rc, out, err, time.monotonic() - start)

    def upload(self, data: bytes, remote_path: str, mode: int = 0o644, deadline_s: float = 120) -> None:
        """SFTP to a temporary name, verify the SHA-256 on the target, rename into place."""
        digest = hashlib.sha256(data).hexdigest()
        tmp = f"{remote_path}.tmp-{uuid.uuid4().hex[:8]}"
        self.ensure_space(os.path.dirname(remote_path) or ".", len(data))
        try:
            sftp = self.client.open_sftp() if self.client else None
            if sftp is None:
                raise ConnectionDropped(f"{self.label}: not connected")
            sftp.get_channel().settimeout(deadline_s)
            with sftp:
                _sftp_write(sftp, tmp, data, mode)
                remote = self.sha256(tmp)
                if remote != digest:
                    sftp.remove(tmp)
                    raise TargetUnreachable(f"{self.label}: upload of {remote_path} corrupted (sha256 {remote[:12]} != {digest[:12]})")
                sftp.posix_rename(tmp, remote_path)
        except OSError as exc:
            self._cleanup(tmp)
            if "No space" in str(exc) or getattr(exc, "errno", None) == 28:
                raise RemoteDiskFull(f"{self.label}: disk full while uploading {remote_path}") from None
            if isinstance(exc, socket.timeout) or not self.alive():
                raise ConnectionDropped(f"{self.label}: connection dropped while uploading {remote_path}") from None
            self._raise_if_full(os.path.dirname(remote_path) or ".", len(data))
            raise TargetUnreachable(f"{self.label}: upload of {remote_path} failed ({exc})") from None
        except (paramiko.SSHException, EOFError) as exc:
            raise ConnectionDropped(f"{self.label}: connection dropped while uploading {remote_path} ({exc})") from None

    def alive(self) -> bool:
        transport = self.client.get_transport() if self.client else None
        return bool(transport and transport.is_active())

    def _cleanup(self, path: str) -> None:
        if self.alive():
            try:
                self.run(f"rm -f {shlex.quote(path)}", 15)
            except TargetUnreachable:
                pass

    def sha256(self, path: str) -> str:
        q = shlex.quote(path)
        res = self.run(f"sha256sum {q} 2>/dev/null || shasum -a 256 {q}", 60)
        return res.text().split()[0] if res.rc == 0 and res.text().strip() else ""

    def free_bytes(self, directory: str) -> int | None:
        res = self.run(f"df -Pk {shlex.quote(directory)} | tail -n 1", 30)
        fields = res.text().split()
        return int(fields[3]) * 1024 if res.rc == 0 and len(fields) >= 4 and fields[3].isdigit() else None

    def ensure_space(self, directory: str, size: int) -> None:
        self._raise_if_full(directory, size, margin=64 * 1024)

    def _raise_if_full(self, directory: str, size: int, margin: int = 0) -> None:
        free = self.free_bytes(directory)
        if free is not None and free < size + margin:
            raise RemoteDiskFull(
                f"{self.label}: disk full: {free // 1024} KiB free in {directory}, {(size + margin) // 1024 + 1} KiB needed"
            )

    def home(self) -> str:
        res = self.run('printf %s "$HOME"', 30)
        return res.text().strip() or "/tmp"


def _via(hops: list[TargetSpec]) -> str:
    return f" via {' -> '.join(h.where for h in hops)}" if hops else ""


_NOTED: set[str] = set()


def _note_once(message: str) -> None:
    if message not in _NOTED:
        _NOTED.add(message)
        sys.stderr.write(f"hanna-tui: note: {message}\n")


@contextlib.contextmanager
def _agent_socket(path: str | None):
    """IdentityAgent: paramiko's agent client reads SSH_AUTH_SOCK, so point it at the configured socket meanwhile."""
    if not path:
        yield
        return
    before = os.environ.get("SSH_AUTH_SOCK")
    os.environ["SSH_AUTH_SOCK"] = path
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("SSH_AUTH_SOCK", None)
        else:
            os.environ["SSH_AUTH_SOCK"] = before


def _sftp_write(sftp: paramiko.SFTPClient, path: str, data: bytes, mode: int) -> None:
    with sftp.open(path, "wb") as handle:
        handle.set_pipelined(True)
        for offset in range(0, len(data), CHUNK):
            handle.write(data[offset : offset + CHUNK])
    sftp.chmod(path, mode)


def _drain(channel: paramiko.Channel, deadline: float, on_err: LineCallback | None) -> tuple[bytes, bytes]:
    out, err = bytearray(), bytearray()
    out_lines, err_lines = LineSplitter(None), LineSplitter(on_err)
    while True:
        busy = False
        if channel.recv_ready():
            data = channel.recv(CHUNK)
            out += data
            out_lines.feed(data)
            busy = True
        if channel.recv_stderr_ready():
            data = channel.recv_stderr(CHUNK)
            err += data
            err_lines.feed(data)
            busy = True
        if not busy:
            if (channel.exit_status_ready() or channel.closed) and not channel.recv_ready() and not channel.recv_stderr_ready():
                break
            transport = channel.get_transport()
            if transport is None or not transport.is_active():
                raise ConnectionDropped("transport closed")
            if time.monotonic() > deadline:
                raise DeadlineExceeded("deadline")
            time.sleep(POLL_S)
    return bytes(out), bytes(err)


def _short(command: str, limit: int = 60) -> str:
    return command if len(command) <= limit else command[: limit - 3] + "..."
