"""An OpenSSH sshd per lab node on NET.N:2222, so nodes are reached over SSH as in production.

Lab-generated keys: one ed25519 host key per node, one user key for the operator, an
authorized_keys and a known_hosts (`[IP]:2222 ssh-ed25519 ...`) that the inventory names.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import psutil

from blackstart.lab import procs
from blackstart.lab.errors import LabError
from blackstart.lab.inventory import SSHInfo
from blackstart.lab.layout import NodeLayout

PORT = 2222
SSHD = "/usr/sbin/sshd"


class SSHError(LabError):
    pass


def sshd_binary() -> str:
    path = SSHD if os.path.exists(SSHD) else shutil.which("sshd")
    if not path:
        raise SSHError("no OpenSSH sshd (/usr/sbin/sshd): install openssh-server or drop --ssh")
    return path


def _keygen(path: Path, comment: str) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
                   check=True, capture_output=True, timeout=30)


def user_key(lab_dir: Path) -> Path:
    return lab_dir / "ssh" / "id_ed25519"


def known_hosts(lab_dir: Path) -> Path:
    return lab_dir / "ssh" / "known_hosts"


def inventory_info(lab_dir: Path) -> SSHInfo:
    return SSHInfo(getpass.getuser(), str(user_key(lab_dir)), str(known_hosts(lab_dir)), PORT)


def config_text(n: NodeLayout) -> str:
    lab_dir = n.lab_dir
    return "\n".join([
        f"ListenAddress {n.ip}:{PORT}",
        f"HostKey {n.ssh_dir / 'ssh_host_ed25519_key'}",
        f"AuthorizedKeysFile {lab_dir / 'ssh' / 'authorized_keys'}",
        f"PidFile {n.ssh_dir / 'sshd.pid'}",
        "StrictModes no",
        "UsePAM no",
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes",
        "Subsystem sftp internal-sftp",
        "",
    ])


def prepare(lab_dir: Path, nodes: list[NodeLayout]) -> None:
    """Keys, authorized_keys, known_hosts and one sshd_config per node (idempotent)."""
    _keygen(user_key(lab_dir), "blackstart-lab-operator")
    pub = user_key(lab_dir).with_suffix(".pub").read_text()
    (lab_dir / "ssh" / "authorized_keys").write_text(pub)
    lines = []
    for n in nodes:
        _keygen(n.ssh_dir / "ssh_host_ed25519_key", f"lab-{n.name}")
        host_pub = (n.ssh_dir / "ssh_host_ed25519_key.pub").read_text().split()
        lines.append(f"[{n.ip}]:{PORT} {host_pub[0]} {host_pub[1]}")
        (n.ssh_dir / "sshd_config").write_text(config_text(n))
    known_hosts(lab_dir).write_text("\n".join(lines) + "\n")
    # sshd insists on its privilege-separation directory.
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)


def start_all(lab_dir: Path, nodes: list[NodeLayout], timeout: float = 20.0) -> None:
    binary = sshd_binary()
    prepare(lab_dir, nodes)
    for n in nodes:
        if procs.process_of(n.pidfile("sshd")) is None:
            argv = [binary, "-D", "-e", "-f", str(n.ssh_dir / "sshd_config")]
            procs.spawn(argv, n.pidfile("sshd"), n.errfile("sshd"))
    for n in nodes:
        _wait_port(n, timeout)


def _alive(pidfile: Path) -> bool:
    """Has the spawned sshd died? Judged by its pid alone: sshd rewrites its own process
    title while it starts, so a command-line match can miss a live sshd for a moment."""
    rec = procs.read_record(pidfile)
    if rec is None:
        return False
    try:
        return psutil.Process(rec.pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _wait_port(n: NodeLayout, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection((n.ip, PORT), 0.3):
                return
        except OSError:
            if not _alive(n.pidfile("sshd")):
                break
            time.sleep(0.05)
    try:
        said = n.errfile("sshd").read_text(errors="replace")[-600:].strip()
    except OSError:
        said = ""
    raise SSHError(f"{n.name}: sshd did not listen on {n.ip}:{PORT} within {timeout:g}s "
                   f"(see {n.errfile('sshd')}){': ' + said if said else ''}")


def stop_all(lab_dir: Path, nodes: list[NodeLayout]) -> None:
    procs.stop([n.pidfile("sshd") for n in nodes])
