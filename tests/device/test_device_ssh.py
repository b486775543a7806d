"""The SSH layer against a real OpenSSH server on 127.0.0.1 (and a socket that never sends a banner)."""

from __future__ import annotations

import hashlib
import socket
import threading
import time

import pytest

from hanna_tui.device.ssh import (
    AuthError,
    DeadlineExceeded,
    HostKeyError,
    SSHTarget,
    config_hosts,
    parse_target,
)
from hanna_tui.errors import TargetUnreachable, UserError


def connect(text: str, **kwargs) -> SSHTarget:
    known = kwargs.pop("known_hosts", "")
    return SSHTarget(parse_target(text, known), **kwargs).connect()


def test_parse_target_forms(ssh_env):
    spec = parse_target("board")
    assert (spec.host, spec.port, spec.user) == ("127.0.0.1", ssh_env.port, "root")
    assert spec.identity_files == [str(ssh_env.client_key)]
    assert spec.known_hosts == str(ssh_env.known_hosts)
    spec = parse_target("pi@raspberry.example:2222")
    assert (spec.host, spec.port, spec.user) == ("raspberry.example", 2222, "pi")
    assert parse_target("x.example").user == "nobody"
    assert "board" in config_hosts() and "*.example" not in config_hosts()
    for bad in ("", "a b", "-oProxyCommand=x", "host:99999", "host:port"):
        with pytest.raises(UserError):
            parse_target(bad)


def test_run_command_and_exit_status(ssh_env):
    with connect("board") as target:
        res = target.run("printf hello; printf oops >&2; exit 3", 20)
        assert (res.rc, res.stdout, res.stderr) == (3, b"hello", b"oops")
        res = target.run("cat", 20, stdin=b"via stdin")
        assert res.stdout == b"via stdin"


def test_three_mib_on_both_streams_without_deadlock(ssh_env):
    size = 3 * 1024 * 1024
    command = f"head -c {size} /dev/urandom & head -c {size} /dev/urandom >&2; wait"
    lines = []
    with connect("board") as target:
        res = target.run(command, 60, on_stderr_line=lines.append)
    assert res.rc == 0
    assert len(res.stdout) == size and len(res.stderr) == size
    assert sum(len(line) + 1 for line in lines) <= size


def test_command_outliving_its_deadline_is_stopped(ssh_env, tmp_path):
    marker = f"/tmp/hanna-deadline-{time.time_ns()}"
    with connect("board") as target:
        start = time.monotonic()
        with pytest.raises(DeadlineExceeded, match="deadline of 1 s"):
            target.run(f"sleep 30; touch {marker}", 1)
        assert time.monotonic() - start < 10
        # the remote command was wrapped in `timeout`: it does not live on
        time.sleep(3)
        assert target.run(f"pgrep -f 'slee[p] 30; touch {marker}' || true", 10).stdout.strip() == b""


def test_unknown_host_key_is_refused(ssh_env, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(HostKeyError, match="unknown host key.*--trust-new-host") as info:
        connect("board", known_hosts=str(empty))
    assert info.value.exit_code == 3
    assert empty.read_text() == ""


def test_trust_on_first_use_records_the_key(ssh_env, tmp_path):
    known = tmp_path / "kh" / "known_hosts"
    with connect("board", known_hosts=str(known), trust_new_host=True) as target:
        assert target.run("true", 10).rc == 0
    assert ssh_env.host_pub.split()[1] in known.read_text()
    with connect("board", known_hosts=str(known)) as target:  # now known, strict mode accepts it
        assert target.run("true", 10).rc == 0


def test_changed_host_key_is_refused_even_with_tofu(ssh_env, tmp_path):
    other = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{ssh_env.port} ssh-ed25519 {other}\n")
    with pytest.raises(HostKeyError, match="HOST KEY MISMATCH"):
        connect("board", known_hosts=str(known), trust_new_host=True)
    assert other in known.read_text() and ssh_env.host_pub.split()[1] not in known.read_text()


def test_wrong_client_key(ssh_env):
    with pytest.raises(AuthError, match="authentication failed"):
        connect("badkey")


def test_closed_port(ssh_env):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(TargetUnreachable, match="connection refused"):
        connect(f"root@127.0.0.1:{port}")


def test_stalled_banner(ssh_env):
    """An in-process server that accepts and never speaks SSH (a real sshd cannot be made to do this)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    held = []
    threading.Thread(target=lambda: held.append(server.accept()), daemon=True).start()
    spec = parse_target(f"root@127.0.0.1:{server.getsockname()[1]}")
    spec.connect_timeout = 1.0
    start = time.monotonic()
    try:
        with pytest.raises(TargetUnreachable, match="banner"):
            SSHTarget(spec).connect()
    finally:
        server.close()
        for conn, _ in held:
            conn.close()
    assert time.monotonic() - start < 10


def test_upload_checksums_and_renames_with_awkward_names(ssh_env, tmp_path):
    folder = tmp_path / "dir with 'quotes' and $(touch nope)"
    folder.mkdir()
    data = bytes(range(256)) * 4000
    path = f"{folder}/file; rm -rf x.bin"
    with connect("board") as target:
        target.upload(data, path)
        assert target.sha256(path) == hashlib.sha256(data).hexdigest()
    assert (folder / "file; rm -rf x.bin").read_bytes() == data
    assert [p.name for p in folder.iterdir()] == ["file; rm -rf x.bin"]
    assert not (tmp_path / "nope").exists()
