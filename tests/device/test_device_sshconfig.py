"""ssh_config as OpenSSH reads it, against real sshds: Include, ProxyJump through a second sshd, ProxyCommand,
known_hosts markers (@revoked honoured, @cert-authority skipped), one-line failures with exit 3."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from test_device_e2e import TINY, make_run  # noqa: E402 - tests/device is on sys.path (no package)

from hanna_tui.cli import main
from hanna_tui.device.ssh import HostKeyError, SSHTarget, config_hosts, parse_target
from hanna_tui.errors import TargetUnreachable


def home_with_config(tmp_path: Path, monkeypatch, sshd, jump, main_text: str, included: str) -> Path:
    """A temporary HOME whose ~/.ssh/config Includes conf.d/*.conf, where the aliases are defined."""
    ssh_dir = tmp_path / "home" / ".ssh"
    (ssh_dir / "conf.d").mkdir(parents=True)
    known = ssh_dir / "known_hosts"
    known.write_text(f"[127.0.0.1]:{sshd.port} {sshd.host_pub}\n[127.0.0.1]:{jump.port} {jump.host_pub}\n")
    (ssh_dir / "config").write_text(main_text.format(known=known, key=sshd.client_key))
    (ssh_dir / "conf.d" / "boards.conf").write_text(included.format(port=sshd.port, jport=jump.port, key=sshd.client_key, known=known))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HANNA_SSH_CONFIG", str(ssh_dir / "config"))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return ssh_dir


MAIN = "Include conf.d/*.conf\n\nHost 127.0.0.1\n  IdentityFile {key}\n\nHost *\n  UserKnownHostsFile {known}\n  IdentitiesOnly yes\n"
BOARDS = """\
Host jumphost
  HostName 127.0.0.1
  Port {jport}
  User root
  IdentityFile {key}

Host viajump
  HostName 127.0.0.1
  Port {port}
  User root
  IdentityFile {key}
  ProxyJump jumphost

Host twohops
  HostName 127.0.0.1
  Port {port}
  User root
  IdentityFile {key}
  ProxyJump jumphost,root@127.0.0.1:{jport}

Host deadjump
  HostName 127.0.0.1
  Port {port}
  User root
  IdentityFile {key}
  ConnectTimeout 3
  ProxyJump root@127.0.0.1:1
"""


def forwardings(jump, port: int) -> int:
    return sum(
        f"target 127.0.0.1 port {port}" in line or f"to 127.0.0.1 port {port}" in line
        for line in jump.log.read_text(errors="replace").splitlines()
        if "direct-tcpip" in line or "direct_tcpip" in line
    )


def test_include_and_proxyjump_chain_are_read(sshd, jump_sshd, tmp_path, monkeypatch):
    home_with_config(tmp_path, monkeypatch, sshd, jump_sshd, MAIN, BOARDS)
    assert {"jumphost", "viajump", "twohops"} <= set(config_hosts())
    spec = parse_target("viajump")
    assert (spec.host, spec.port, spec.identities_only) == ("127.0.0.1", sshd.port, True)
    assert [(hop.host, hop.port, hop.user) for hop in spec.jump] == [("127.0.0.1", jump_sshd.port, "root")]
    two = parse_target("twohops")
    assert [hop.port for hop in two.jump] == [jump_sshd.port, jump_sshd.port]


def test_deploy_through_a_proxyjump_host_from_an_included_file(sshd, jump_sshd, tmp_path, monkeypatch, capsys):
    home_with_config(tmp_path, monkeypatch, sshd, jump_sshd, MAIN, BOARDS)
    before = forwardings(jump_sshd, sshd.port)
    run = make_run(tmp_path / "runs")
    rc = main(["deploy", str(run.path), "--target", "viajump", "--remote-python", sys.executable, "--json", *TINY])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert json.loads(out)["measured"]["latency_s"] > 0
    # the jump host's sshd opened the forwarding to the board: the connection went through it
    assert forwardings(jump_sshd, sshd.port) > before


def test_two_hop_chain_checks_every_hop(sshd, jump_sshd, tmp_path, monkeypatch):
    ssh_dir = home_with_config(tmp_path, monkeypatch, sshd, jump_sshd, MAIN, BOARDS)
    before = forwardings(jump_sshd, sshd.port)
    with SSHTarget(parse_target("twohops")).connect() as target:
        assert target.run("echo ok", 20).stdout == b"ok\n"
    assert forwardings(jump_sshd, sshd.port) > before
    # the jump host's key missing from known_hosts: refused at that hop, naming it
    (ssh_dir / "known_hosts").write_text(f"[127.0.0.1]:{sshd.port} {sshd.host_pub}\n")
    with pytest.raises(HostKeyError, match=f"127.0.0.1:{jump_sshd.port}: unknown host key"):
        SSHTarget(parse_target("viajump")).connect()


def test_proxycommand_carries_the_connection(sshd, jump_sshd, tmp_path, monkeypatch):
    relay = tmp_path / "relay.py"
    marker = tmp_path / "relayed"
    relay.write_text(
        "import socket, sys, threading\n"
        f"open({str(marker)!r}, 'a').write(sys.argv[1] + ':' + sys.argv[2] + '\\n')\n"
        "s = socket.create_connection((sys.argv[1], int(sys.argv[2])))\n"
        "def up():\n"
        "    for chunk in iter(lambda: sys.stdin.buffer.read1(65536), b''):\n"
        "        s.sendall(chunk)\n"
        "    s.shutdown(socket.SHUT_WR)\n"
        "threading.Thread(target=up, daemon=True).start()\n"
        "for chunk in iter(lambda: s.recv(65536), b''):\n"
        "    sys.stdout.buffer.write(chunk); sys.stdout.buffer.flush()\n"
    )
    included = (
        BOARDS
        + f"\nHost viacommand\n  HostName 127.0.0.1\n  Port {{port}}\n  User root\n  IdentityFile {{key}}\n  ProxyCommand {sys.executable} {relay} %h %p\n"
    )
    home_with_config(tmp_path, monkeypatch, sshd, jump_sshd, MAIN, included)
    with SSHTarget(parse_target("viacommand")).connect() as target:
        assert target.run("echo via-command", 20).stdout == b"via-command\n"
    assert marker.read_text() == f"127.0.0.1:{sshd.port}\n"


def test_known_hosts_markers(ssh_env, tmp_path, capsys):
    kind, blob = ssh_env.host_pub.split()[:2]
    known = tmp_path / "known_hosts"
    ca = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    known.write_text(f"@cert-authority *.example ssh-ed25519 {ca}\n[127.0.0.1]:{ssh_env.port} {kind} {blob}\n")
    with SSHTarget(parse_target("board", str(known))).connect() as target:
        assert target.run("true", 10).rc == 0
    assert "@cert-authority line skipped" in capsys.readouterr().err
    known.write_text(f"[127.0.0.1]:{ssh_env.port} {kind} {blob}\n@revoked * {kind} {blob}\n")
    for trust in (False, True):
        with pytest.raises(HostKeyError, match="REVOKED host key") as info:
            SSHTarget(parse_target("board", str(known)), trust_new_host=trust).connect()
        assert info.value.exit_code == 3
    assert known.read_text().count(blob) == 2  # nothing recorded


@pytest.mark.parametrize("target,expect", [("deadjump", "connection refused"), ("root@host.invalid", "unknown host name")])
def test_unreachable_hosts_are_one_line_exit_3(sshd, jump_sshd, tmp_path, monkeypatch, capsys, target, expect):
    home_with_config(tmp_path, monkeypatch, sshd, jump_sshd, MAIN, BOARDS)
    run = make_run(tmp_path / "runs")
    rc = main(["deploy", str(run.path), "--target", target, *TINY])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("hanna-tui:")]
    assert rc == 3 and len(lines) == 1 and expect in lines[0] and "Traceback" not in err, err
    with pytest.raises(TargetUnreachable):
        SSHTarget(parse_target(target)).connect()
