"""checks.probes.workers: a SIGKILLed parent leaves no worker behind and no pipe held open
(a killed `blackstart restore` hung the test that read its output until its timeout)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil

from blackstart.checks.probes import workers

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



def _open_fds() -> list[str]:
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            out.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            continue
    return out


def test_prestarted_workers_hold_no_pipe_opened_later() -> None:
    # the hang the integration run hit: workers forked while a pipe's write end was open
    # here held it, so the pipe's reader waited forever for EOF
    workers.prestart(("test-prestart",))
    r, w = os.pipe()
    try:
        target = os.readlink(f"/proc/self/fd/{w}")
        fds = workers.submit(_open_fds, lane="test-prestart").result(timeout=60)
        assert target not in fds, fds
    finally:
        os.close(r)
        os.close(w)
