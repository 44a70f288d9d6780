"""SSH of a kubeadm-shaped lab: one OpenSSH sshd per node, inside the node, on IP:22.

Every node has its own host key (/etc/ssh/ssh_host_ed25519_key), its own root key
(/root/.ssh/id_ed25519), an authorized_keys that lets every other node and the lab's
operator key in, and a known_hosts naming every node's host key at its address: what an
SRE's masters look like after `ssh-copy-id` between them. The operator key and a
known_hosts for the host side live in DIR/ssh/.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

from blackstart.lab.layout import NodeLayout

DEFAULT_PORT = 22
FALLBACK_PORT = 2222


def keygen(path: Path, comment: str, force: bool = False) -> None:
    if path.exists() and not force:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    for p in (path, path.with_name(path.name + ".pub")):
        p.unlink(missing_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
                   check=True, capture_output=True, timeout=30)


def write_if_changed(path: Path, text: str) -> None:
    """Only a real change touches a node's /etc overlay upper dir from the host side."""
    try:
        if path.read_text() == text:
            return
    except OSError:
        pass
    path.write_text(text)


def port_free(ip: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((ip, port))
        except OSError:
            return False
    return True


def pick_port(ips: list[str]) -> int:
    """22 when every node's address has it free, else 2222 (recorded in lab.json)."""
    return DEFAULT_PORT if all(port_free(ip, DEFAULT_PORT) for ip in ips) else FALLBACK_PORT


def host_key(n: NodeLayout) -> Path:
    return n.root / "etc/ssh/ssh_host_ed25519_key"


def operator_key(lab_dir: Path) -> Path:
    return lab_dir / "ssh" / "id_ed25519"


def operator_known_hosts(lab_dir: Path) -> Path:
    return lab_dir / "ssh" / "known_hosts"


def known_hosts_line(ip: str, port: int, pub: str) -> str:
    kind, key = pub.split()[:2]
    where = ip if port == DEFAULT_PORT else f"[{ip}]:{port}"
    return f"{where} {kind} {key}"


def sshd_config(ip: str, port: int, path_env: str) -> str:
    return "\n".join([
        f"ListenAddress {ip}:{port}",
        "HostKey /etc/ssh/ssh_host_ed25519_key",
        "PidFile /run/sshd.pid",
        "UsePAM no",
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes",
        "AuthorizedKeysFile .ssh/authorized_keys",
        "Subsystem sftp internal-sftp",
        # The node's PATH, so `blackstart` and etcdctl are found in SSH sessions too.
        f"SetEnv PATH={path_env}",
        "",
    ])


def prepare(lab_dir: Path, nodes: list[NodeLayout], port: int, path_env: str) -> None:
    """Keys, configs, authorized_keys and known_hosts on every node (idempotent)."""
    keygen(operator_key(lab_dir), "blackstart-lab-operator")
    for n in nodes:
        keygen(host_key(n), f"root@{n.name}")
        keygen(n.root / "root/.ssh/id_ed25519", f"root@{n.name}")
        write_if_changed(n.root / "etc/ssh/sshd_config", sshd_config(n.ip, port, path_env))
    write_trust(lab_dir, nodes, port)


def write_trust(lab_dir: Path, nodes: list[NodeLayout], port: int) -> None:
    """authorized_keys and known_hosts everywhere, from the keys on disk now."""
    pubs = [operator_key(lab_dir).with_suffix(".pub").read_text().strip()]
    pubs += [(n.root / "root/.ssh/id_ed25519.pub").read_text().strip() for n in nodes]
    known = "\n".join(known_hosts_line(n.ip, port, host_key(n).with_suffix(".pub").read_text())
                      for n in nodes) + "\n"
    for n in nodes:
        ssh = n.root / "root/.ssh"
        (ssh / "authorized_keys").write_text("\n".join(pubs) + "\n")
        (ssh / "authorized_keys").chmod(0o600)
        (ssh / "known_hosts").write_text(known)
        if port != DEFAULT_PORT:
            (ssh / "config").write_text("".join(f"Host {m.ip} {m.name}\n  Port {port}\n"
                                                for m in nodes))
    operator_known_hosts(lab_dir).write_text(known)


def change_host_key(lab_dir: Path, n: NodeLayout) -> Path:
    """A new host key for one node; the old one kept aside. Others' known_hosts unchanged."""
    key = host_key(n)
    aside = key.with_name(key.name + ".old")
    shutil.copy2(key, aside)
    shutil.copy2(key.with_suffix(".pub"), aside.with_name(aside.name + ".pub"))
    keygen(key, f"root@{n.name}", force=True)
    return aside
