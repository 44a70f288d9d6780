"""Which lab a DIR holds, and opening it: `kubeadm` (the default, every node its own host
with a kubelet) or `flat` (one filesystem, members started by the lab; fast)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from blackstart.lab.cluster import Lab
from blackstart.lab.errors import LabError

SHAPES = ("kubeadm", "systemd", "flat")
DEFAULT_SHAPE = "kubeadm"


def kubeadm_missing() -> str | None:
    """What a kubeadm-shaped lab needs and this machine lacks (None: all there)."""
    if os.geteuid() != 0:
        return "root (the kubeadm-shaped lab makes mount/PID/UTS namespaces)"
    for tool in ("unshare", "nsenter", "ssh-keygen", "ssh"):
        if shutil.which(tool) is None:
            return tool
    if not os.path.exists("/usr/sbin/sshd"):
        return "OpenSSH sshd (/usr/sbin/sshd)"
    try:
        with open("/proc/filesystems", encoding="ascii") as fh:
            if "overlay" not in fh.read():
                return "overlayfs"
    except OSError:
        return "overlayfs (/proc/filesystems unreadable)"
    return None


def saved_shape(dir_: str | Path) -> str | None:
    """The shape recorded in DIR/lab.json; labs from before shapes existed are flat."""
    path = Path(dir_).expanduser() / "lab.json"
    try:
        return str(json.loads(path.read_text()).get("shape", "flat"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise LabError(f"{path}: unreadable lab parameters ({exc})") from exc


def open_lab(dir_: str | Path, shape: str | None = None, **kw: Any) -> Lab:
    """The lab in DIR (its saved shape wins), or a new one of `shape`."""
    chosen = saved_shape(dir_) or shape or DEFAULT_SHAPE
    if chosen not in SHAPES:
        raise LabError(f"--shape {chosen!r}: one of {', '.join(SHAPES)}")
    if chosen == "systemd":
        from blackstart.lab.systemd import SystemdLab

        return SystemdLab(dir_, **kw)
    if chosen == "kubeadm":
        from blackstart.lab.kubeadm import KubeadmLab

        return KubeadmLab(dir_, **kw)
    return Lab(dir_, **kw)
