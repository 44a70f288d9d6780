"""checks.probes.workers: a SIGKILLed parent leaves no worker behind and no pipe held open
(a killed `blackstart restore` hung the test that read its output until its timeout)."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

CHILD = r"""
import os, signal, sys
from blackstart.checks.probes import workers
pids = {workers.submit(os.getpid).result(timeout=60) for _ in range(4)}
print(" ".join(map(str, pids)), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_workers_die_with_a_killed_parent_and_let_its_pipes_go() -> None:
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                       timeout=60, check=False)
    took = time.monotonic() - t0
    assert r.returncode == -9, r.stderr
    pids = [int(p) for p in r.stdout.split()]
    assert pids, r.stderr
    # run() returned because every holder of the pipes is gone, not because of its timeout
    assert took < 50
    deadline = time.monotonic() + 10
    while any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in pids):
        assert time.monotonic() < deadline, f"workers outlived their parent: {pids}"
        time.sleep(0.1)
