"""Discovery from the etcd processes running on this machine: their argv flags and
ETCD_* environment (only on the node itself, `root` = "/")."""

from __future__ import annotations

import os
from typing import Any

from blackstart.checks.discovery.node_root import Found
from blackstart.checks.formats.manifests import etcd_config, etcd_env_flags, parse_flags


def from_processes(pids: list[int] | None = None) -> Found | None:
    """The first running etcd (lowest pid; or among `pids`) whose flags and ETCD_*
    environment describe it."""
    import psutil

    procs = psutil.process_iter(["pid", "cmdline"]) if pids is None else _procs(pids)
    for proc in sorted(procs, key=lambda p: p.pid):
        try:
            argv = proc.cmdline()
        except psutil.Error:
            continue
        if not argv or os.path.basename(argv[0]) != "etcd":
            continue
        try:
            env = proc.environ()
        except (psutil.Error, OSError):
            env = {}
        cfg = etcd_config({**etcd_env_flags(env), **parse_flags(argv[1:])},
                          f"process {proc.pid}")
        return Found(cfg, f"process {proc.pid} ({argv[0]})", [])
    return None


def _procs(pids: list[int]) -> list[Any]:
    import psutil

    out = []
    for pid in pids:
        try:
            out.append(psutil.Process(pid))
        except psutil.Error:
            continue
    return out
