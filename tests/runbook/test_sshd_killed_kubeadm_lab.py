"""Issue 13: sshd of one node killed mid-plan, on the production-shaped (kubeadm) lab.

blackstart runs inside master01 and reaches master02/master03 over SSH. A restore is
paused (test hook) once master02's etcd is parked; then every sshd process of master02 is
killed (the listener and the session blackstart holds), and the plan goes on. It must stop
at its next step on master02 with a message naming master02, exit 1, no traceback, and a
journal saying `failed` at that step. With sshd back, `resume` completes the restore (or
`rollback` puts the old data back), 3/3 healthy."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest
from rbhelpers import (
    FAULTY_CLI,
    hashkvs,
    healthy_count,
    keys,
    need_debian_etcdctl,
    put_keys,
)

pytestmark = [pytest.mark.lab, pytest.mark.kubeadm, pytest.mark.timeout(1200)]

VICTIM = "master02"
PAUSE = "/root/blackstart-test-pause"  # inside master01: DIR/nodes/master01/root
FORCE = ("--force", "test: sshd of one node killed mid-plan")


def _on_master01(lab: Any, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return lab.node_run("master01", ["blackstart", *args], timeout=timeout)


def _ok(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-3000:]
    return r.stdout


def _victim_step(lab: Any, snap: str) -> tuple[int, dict[str, Any]]:
    """(1-based index of the park of VICTIM's etcd, the step after it: also on VICTIM)."""
    out = _ok(_on_master01(lab, "restore", "--snapshot", snap, *FORCE, "--dry-run", "--json"))
    steps = json.loads(out[out.index("{"):])["plan"]["steps"]
    k = next(i for i, s in enumerate(steps, 1)
             if s["node"] == VICTIM and s["id"].endswith("park-etcd"))
    assert steps[k]["node"] == VICTIM, steps[k]
    return k, steps[k]


def _kill_sshd(lab: Any) -> list[int]:
    """Every sshd process of VICTIM: the listener and the sessions it forked (host pids)."""
    pid = lab.running(VICTIM, "sshd")
    assert pid, f"{VICTIM} has no sshd"
    listener = psutil.Process(pid)
    family = [*listener.children(recursive=True), listener]
    for p in family:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(family, timeout=10)
    return [p.pid for p in family]


def _wait_file(path: Path, proc: subprocess.Popen[str], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.2)


def _journal(lab: Any, output: str) -> dict[str, Any]:
    inside = output.split("(journal ", 1)[1].split(")", 1)[0]
    return dict(json.loads((lab.node("master01").root / inside.lstrip("/")).read_text()))


@pytest.mark.parametrize("then", ["resume", "rollback"])
def test_sshd_of_one_node_killed_mid_restore(kubeadm_lab_factory: Callable[..., Any],
                                             then: str) -> None:
    need_debian_etcdctl()
    lab = kubeadm_lab_factory()
    put_keys(lab, "/t/before/", 5)
    snap = json.loads(_ok(_on_master01(lab, "snapshot", "save", "--json")))["path"]
    put_keys(lab, "/t/after/", 5)
    k, next_step = _victim_step(lab, snap)
    host_pause = lab.node("master01").root / PAUSE.lstrip("/")
    proc = subprocess.Popen(
        lab.shell_argv("master01", [sys.executable, FAULTY_CLI, "--pause-after", str(k),
                                    "--pause-file", PAUSE, "--", "restore", "--snapshot",
                                    snap, *FORCE, "--yes"]),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_file(host_pause.with_name(host_pause.name + ".paused"), proc)
        killed = _kill_sshd(lab)
        host_pause.with_name(host_pause.name + ".go").touch()
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    said = out + err
    assert proc.returncode == 1, said[-5000:]
    assert "Traceback" not in said, said[-5000:]
    failed_line = next(x for x in err.splitlines() if x.startswith("FAILED:"))
    assert VICTIM in failed_line and next_step["id"] in failed_line, failed_line
    j = _journal(lab, err)
    assert j["state"] == "failed" and j["status"][next_step["id"]] == "failed", j["status"]
    assert VICTIM in j["error"], j["error"]
    print(f"\nsshd of {VICTIM} killed (pids {killed}) after step {k}; blackstart said: "
          f"{failed_line}")

    lab.start(VICTIM, "sshd")
    _ok(_on_master01(lab, then, "--yes"))
    assert healthy_count(lab) == 3
    assert len(set(hashkvs(lab).values())) == 1
    assert len(keys(lab, "/t/before/")) == 5
    assert len(keys(lab, "/t/after/")) == (0 if then == "resume" else 5)
    assert _journal(lab, err + "")["state"] == ("done" if then == "resume" else "rolled-back")
