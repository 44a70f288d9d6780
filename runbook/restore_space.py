"""Free disk a restore needs before it may start: each copy of the snapshot passes through
blackstart's state dir, and each node needs room for the restored db, its staged copy and
the WAL etcd preallocates, per member it holds.
"""

from __future__ import annotations

import os
import posixpath
import shutil

from blackstart.checks.model import Cluster
from blackstart.runbook.preflight import PlanRefused, free_bytes
from blackstart.runbook.restore_planner import Planner


def check_staging_disk(cl: Cluster, size: int) -> None:
    """Each copy passes through blackstart's state dir (and is removed there after)."""
    d = cl.state_dir
    while d and not os.path.isdir(d):
        d = os.path.dirname(d)
    free = shutil.disk_usage(d or "/").free
    if free < size:
        raise PlanRefused(f"only {free:,} bytes free at {cl.state_dir} (blackstart's state "
                          f"dir); each copy of the snapshot passes through it: {size:,} needed")


WAL_PREALLOC = 128 << 20  # etcd preallocates a 64 MB WAL segment and a 64 MB 0.tmp
MARGIN = 64 << 20


def restore_space_needed(snapshot_size: int, members_here: int) -> int:
    """Bytes a node needs free: per member the restored db, the staged snapshot copy and
    the WAL etcd preallocates on first start, plus a margin. Pure."""
    return members_here * (2 * snapshot_size + WAL_PREALLOC) + MARGIN


async def check_disk(p: Planner, node: str, size: int) -> None:
    here = [m for m in p.cluster.members if m.node == node]
    need = restore_space_needed(size, len(here))
    for m in here:
        parent = posixpath.dirname(m.data_dir.rstrip("/"))
        avail = await free_bytes(p.client(node), parent, p.hooks)
        if avail < need:
            raise PlanRefused(
                f"node {node}: only {avail:,} bytes free at {parent}; restoring "
                f"{', '.join(x.name for x in here)} needs {need:,} bytes (2 × the snapshot "
                f"+ 128 MiB of WAL preallocation per member + 64 MiB margin)")
