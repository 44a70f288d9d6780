"""Issue 13, must-have 3: the runbook lock per node over SSH, on the kubeadm lab.

blackstart runs inside master01 (zero configuration) and defragments every member (a plan
with a step on each node); the plan is paused (test hook) after its first step, holding
its locks: master01's own and, over SSH, master02's and master03's. An operator on
master02 then starts a plan there: it is refused, exit 2, with a message naming
master01's holder (host, the pid inside master01, the plan). The paused plan is then
SIGKILLed: the lock on master02 is free again by the kernel alone (its SSH session
closed), nobody guessed at a PID, and `unlock` on master02 takes it (so it is free) and
tells the record the dead holder left."""

from __future__ import annotations

import contextlib
import json
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest
from rbhelpers import FAULTY_CLI

pytestmark = [pytest.mark.lab, pytest.mark.kubeadm, pytest.mark.timeout(300)]

PAUSE = "/root/blackstart-lock-pause"  # inside master01
STATE = "var/lib/blackstart"
LOCK = f"/{STATE}/lock"


def _wait(what: str, ok: Callable[[], bool], proc: subprocess.Popen[str] | None = None,
          timeout: float = 120) -> float:
    t0 = time.monotonic()
    while not ok():
        if proc is not None:
            assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - t0 < timeout, f"{what}: not within {timeout:g} s"
        time.sleep(0.1)
    return time.monotonic() - t0


def _inner_pid(proc: subprocess.Popen[str]) -> tuple[int, int]:
    """(host pid, pid inside master01) of the faulty_cli python under nsenter."""
    for p in psutil.Process(proc.pid).children(recursive=True):
        if any("faulty_cli.py" in a for a in p.cmdline()):
            status = Path(f"/proc/{p.pid}/status").read_text()
            nspid = next(ln for ln in status.splitlines() if ln.startswith("NSpid:"))
            return p.pid, int(nspid.split()[-1])
    raise AssertionError("the paused blackstart process is not found")


def _kill_all(proc: subprocess.Popen[str]) -> None:
    """nsenter and what runs under it (a paused plan would hold the pipes 600 s)."""
    if proc.poll() is not None:
        return
    family = [*psutil.Process(proc.pid).children(recursive=True)]
    for p in [*family, psutil.Process(proc.pid)]:
        with contextlib.suppress(psutil.Error):
            p.kill()
    proc.communicate(timeout=30)


def _record(lab: Any, node: str) -> dict[str, Any]:
    text = (lab.node(node).root / STATE / "lock").read_text()
    return dict(json.loads(text)) if text.strip() else {}


def test_a_plan_from_master01_locks_master02_until_it_dies(
        kubeadm_lab_factory: Callable[..., Any]) -> None:
    lab = kubeadm_lab_factory()
    pause = lab.node("master01").root / PAUSE.lstrip("/")
    proc = subprocess.Popen(
        lab.shell_argv("master01", [sys.executable, FAULTY_CLI, "--pause-after", "1",
                                    "--pause-file", PAUSE, "--", "defrag", "--yes"]),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait("the first plan paused", pause.with_name(pause.name + ".paused").exists, proc)
        host_pid, inner_pid = _inner_pid(proc)
        held = {n: _record(lab, n) for n in ("master01", "master02", "master03")}
        assert held["master01"]["pid"] == inner_pid, held
        # one holder record, the same on every node the plan changes
        assert held["master02"] == held["master03"] == held["master01"], held
        for n in ("master02", "master03"):
            f = lab.node(n).root / STATE / "lock"
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, (n, oct(f.stat().st_mode))
            assert stat.S_IMODE(f.parent.stat().st_mode) == 0o700, n

        r = lab.node_run("master02", ["blackstart", "defrag", "master02", "--yes"],
                         timeout=120)
        said = r.stdout + r.stderr
        assert r.returncode == 2, said[-3000:]
        assert "Traceback" not in said
        assert (f"on host 'master01' (pid {inner_pid})" in said
                and held["master01"]["plan"] in said), said[-3000:]
        print(f"\nmaster02 refused: {r.stderr.strip().splitlines()[-1][:300]}")

        psutil.Process(host_pid).kill()  # the plan itself, inside master01
        proc.communicate(timeout=30)
    finally:
        _kill_all(proc)

    def free_on_master02() -> bool:
        return lab.node_run("master02", ["flock", "-n", LOCK, "true"]).returncode == 0

    took = _wait("master02's lock freed by the kernel", free_on_master02, timeout=30)
    print(f"master02's lock was free {took:.2f} s after the SIGKILL")
    r = lab.node_run("master02", ["blackstart", "unlock", "--yes"], timeout=120)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert f"on host 'master01' (pid {inner_pid})" in r.stdout, r.stdout
    assert _record(lab, "master02") == {}
    audit = [json.loads(ln) for ln in
             (lab.node("master02").root / STATE / "audit.jsonl").read_text().splitlines()]
    unlocks = [a for a in audit if a.get("action") == "unlock"]
    # audited: this node's lock, then one line per node reached over SSH
    assert [a["node"] for a in unlocks] == ["", "master01", "master03"], unlocks
