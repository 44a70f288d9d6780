"""How the lab tells a member is up, over plain HTTP and TCP (no TLS, no etcd client): its
own /health on the metrics port, any HTTP answer at all, an open port. Shared by every lab
shape, the systemd units and the CLI's `lab status`.
"""

from __future__ import annotations

import json
import socket
import urllib.request


def health(ip: str, timeout: float = 1.0) -> bool:
    """The member's own /health on its metrics port (no TLS): leader known, no alarm."""
    try:
        with urllib.request.urlopen(f"http://{ip}:2381/health", timeout=timeout) as r:  # noqa: S310
            return bool(json.loads(r.read()).get("health") == "true")
    except (OSError, ValueError):
        return False


def etcd_answers(ip: str, timeout: float = 0.5) -> bool:
    """Does etcd answer HTTP on its metrics port (any status: a member without quorum says
    503)? Its ports accept TCP from the moment they are bound, before etcd has read its
    WAL; an HTTP answer comes only once it got past that (a corrupt WAL is fatal before)."""
    import urllib.error

    try:
        with urllib.request.urlopen(f"http://{ip}:2381/health", timeout=timeout):  # noqa: S310
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


def port_open(ip: str, port: int) -> bool:
    try:
        with socket.create_connection((ip, port), 0.3):
            return True
    except OSError:
        return False
