"""A real OpenSSH server on 127.0.0.1 with generated host and client keys (the 'board' is this machine)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD = "/usr/sbin/sshd"


@dataclass
class SshServer:
    port: int
    root: Path
    client_key: Path
    wrong_key: Path
    known_hosts: Path
    config: Path
    host_pub: str
    python: str = sys.executable

    @property
    def target(self) -> str:
        return f"root@127.0.0.1:{self.port}"

    @property
    def alias(self) -> str:
        return "board"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def keygen(path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path.with_suffix(".pub").read_text().strip()


def write_sshd_config(root: Path, port: int, host_key: Path, authorized: Path, log_level: str = "ERROR") -> Path:
    config = root / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {host_key}",
                f"AuthorizedKeysFile {authorized}",
                f"PidFile {root / 'sshd.pid'}",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password",
                "StrictModes no",
                "UsePAM no",
                "MaxStartups 100",
                "MaxSessions 100",
                f"LogLevel {log_level}",
                "AllowTcpForwarding yes",
                "Subsystem sftp internal-sftp",
                "",
            ]
        )
    )
    return config


def wait_for_banner(port: int, proc: subprocess.Popen, timeout: float = 15) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited with {proc.returncode}: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(64).startswith(b"SSH-"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("sshd did not answer")


@pytest.fixture(scope="session")
def sshd(tmp_path_factory) -> SshServer:
    if not os.path.exists(SSHD):
        pytest.skip(f"{SSHD} is absent (apt-get install openssh-server; `make test` does it)")
    root = tmp_path_factory.mktemp("sshd")
    os.makedirs("/run/sshd", exist_ok=True)
    host_pub = keygen(root / "host_key")
    client_pub = keygen(root / "client_key")
    keygen(root / "wrong_key")
    (root / "authorized_keys").write_text(client_pub + "\n")
    port = free_port()
    config = write_sshd_config(root, port, root / "host_key", root / "authorized_keys")
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_banner(port, proc)
        kind, blob = host_pub.split()[:2]
        known = root / "known_hosts"
        known.write_text(f"[127.0.0.1]:{port} {kind} {blob}\n")
        ssh_config = root / "ssh_config"
        ssh_config.write_text(
            f"Host board\n  HostName 127.0.0.1\n  Port {port}\n  User root\n  IdentityFile {root / 'client_key'}\n"
            f"  UserKnownHostsFile {known}\n\n"
            f"Host badkey\n  HostName 127.0.0.1\n  Port {port}\n  User root\n  IdentityFile {root / 'wrong_key'}\n"
            f"  UserKnownHostsFile {known}\n\n"
            "Host *.example\n  User nobody\n"
        )
        yield SshServer(port, root, root / "client_key", root / "wrong_key", known, ssh_config, f"{kind} {blob}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@dataclass
class JumpHost:
    port: int
    root: Path
    host_pub: str
    log: Path


@pytest.fixture(scope="session")
def jump_sshd(sshd, tmp_path_factory) -> JumpHost:
    """A second real sshd: the jump host (same client key as the board), logging the forwardings it makes."""
    root = tmp_path_factory.mktemp("jump")
    host_pub = keygen(root / "host_key")
    port = free_port()
    config = write_sshd_config(root, port, root / "host_key", sshd.root / "authorized_keys", log_level="DEBUG1")
    log = root / "sshd.log"
    proc = subprocess.Popen([SSHD, "-D", "-E", str(log), "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_banner(port, proc)
        yield JumpHost(port, root, " ".join(host_pub.split()[:2]), log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def ssh_env(sshd, monkeypatch) -> SshServer:
    """The ssh config of the fixture server as ~/.ssh/config; no ssh-agent keys."""
    monkeypatch.setenv("HANNA_SSH_CONFIG", str(sshd.config))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return sshd


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tracing/exporting in the test process with one thread: on a busy 2-core machine more threads only stall."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
