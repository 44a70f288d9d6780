"""The other masters of a discovered cluster, as SSH nodes.

kubeadm lays every master out alike and operators reach one master from another with
root's key: so each peer in --initial-cluster is an SSH node at its peer URL's host, with
this node's ~/.ssh key and known_hosts (under the root when discovery reads one), and
OpenSSH's `Port` for that host from ~/.ssh/config. No key: the peer is known but
unreachable (has_access=False), as before. Pure apart from the file lookups it is given.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from urllib.parse import urlsplit

from blackstart.checks.model import Node, SSHTarget

KEY_NAMES = ("id_ed25519", "id_ecdsa", "id_rsa")
DEFAULT_PORT = 22


def ssh_port(config_text: str, host: str) -> int:
    """The Port of the first `Host` block naming `host` exactly (or `*`), else 22."""
    matched = False
    for raw in config_text.splitlines():
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        key = words[0].lower()
        if key == "host":
            matched = host in words[1:] or "*" in words[1:]
        elif key == "port" and matched and len(words) > 1 and words[1].isdigit():
            return int(words[1])
    return DEFAULT_PORT


def ssh_dir(root: str) -> str:
    """Where the operator's keys are: root's home under a root, else this user's ~/.ssh."""
    if root == "/":
        return os.path.join(os.path.expanduser("~"), ".ssh")
    return os.path.join(root, "root/.ssh")


def peer_nodes(peers: list[tuple[str, str]], root: str, backup_dirs: tuple[str, ...],
               read: Callable[[str], str | None] | None = None) -> list[Node]:
    """One Node per (name, peer_url): SSH when this node has a key, else no access."""
    home = ssh_dir(root)
    key = next((os.path.join(home, k) for k in KEY_NAMES
                if os.path.isfile(os.path.join(home, k))), None)
    if key is None:
        return [Node(name=name, has_access=False) for name, _ in peers]
    known = os.path.join(home, "known_hosts")
    config = (read or _read)(os.path.join(home, "config")) or ""
    user = "root" if root != "/" else _user()
    out = []
    for name, url in peers:
        host = urlsplit(url).hostname or name
        port = ssh_port(config, host) if ssh_port(config, host) != DEFAULT_PORT \
            else ssh_port(config, name)
        out.append(Node(name=name, backup_dirs=backup_dirs, ssh=SSHTarget(
            host=host, port=port, user=user, key_file=key,
            known_hosts=known if os.path.isfile(known) else None)))
    return out


def _user() -> str:
    import getpass

    return getpass.getuser()


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError):
        return None
