"""checks/ promises to change nothing on any node (issue 3 item 6). Held here for real:
every probe runs over a real lab, and the lab must come out exactly as it went in.

- stopped lab (after a power cut nothing runs): every file under the lab dir keeps its
  bytes, size, mode and mtime, and no file appears or disappears;
- running lab: the set of lab processes (pid, cmdline) is the same before and after, and
  no lab service process appeared while the probes ran.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from blackstart.checks.discovery.inventory import load_inventory
from blackstart.checks.probes.engine import PROBES, run_checks

pytestmark = pytest.mark.lab


def _tree(root: Path) -> dict[str, tuple[str, int, int, int]]:
    """path -> (sha256, size, mode, mtime_ns) for every regular file under root."""
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            p = Path(dirpath, name)
            st = p.lstat()
            if not p.is_file() or p.is_symlink():
                continue
            digest = hashlib.sha256(p.read_bytes()).hexdigest()
            out[str(p.relative_to(root))] = (digest, st.st_size, st.st_mode, st.st_mtime_ns)
    return out


def _lab_procs(lab: Any) -> set[tuple[int, tuple[str, ...]]]:
    return {(p.pid, tuple(p.cmdline())) for p in lab.stray_processes()}


async def _run_all(lab: Any) -> Any:
    cluster = load_inventory(config=str(lab.inventory_path))
    seen: list[str] = []
    report = await run_checks(cluster, deadline=3.0, on_result=lambda n, r: seen.append(n))
    assert sorted(seen) == sorted(PROBES)  # every probe really ran
    return report


async def test_probes_leave_a_stopped_lab_byte_identical(lab_factory: Callable[..., Any]) -> None:
    lab = lab_factory()
    lab.break_fault("power-cut")
    assert not _lab_procs(lab), "power-cut should leave nothing running"
    before = _tree(lab.dir)
    assert len(before) > 20  # certs, WALs, dbs, backups, logs, manifests
    report = await _run_all(lab)
    after = _tree(lab.dir)
    assert report.snapshots and report.wal and report.certificates  # files were really read
    assert set(after) == set(before), f"files appeared/vanished: {set(after) ^ set(before)}"
    changed = [p for p in before if before[p] != after[p]]
    assert not changed, f"checks changed files: {changed}"
    assert not _lab_procs(lab), "checks started a lab process"


class _Watcher:
    """Samples the lab's processes while the probes run, to catch a start-and-stop."""

    def __init__(self, lab: Any, known: set[int]) -> None:
        self.lab, self.known, self.new = lab, known, set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        for _ in range(2000):  # bounded: 2000 x 20 ms = 40 s at most
            self.new |= {p.pid for p in self.lab.stray_processes()} - self.known
            if self._stop.wait(0.02):
                return

    def __enter__(self) -> _Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


async def test_probes_leave_a_running_lab_processes_alone(healthy_lab: Any) -> None:
    before = _lab_procs(healthy_lab)
    assert len(before) >= 3  # at least the three etcd members
    with _Watcher(healthy_lab, {pid for pid, _ in before}) as watch:
        report = await _run_all(healthy_lab)
    assert _lab_procs(healthy_lab) == before
    assert not watch.new, f"lab processes started during the check: {watch.new}"
    assert all(m.healthy for m in report.members)
