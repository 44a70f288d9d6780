"""The runbook lock under races (issue 13): with the old O_EXCL + rename-a-stale-lock-aside
scheme two processes both took a lock a killed restore had left, 48 times in 200 trials.
Here 500 trials: each starts from a lock left by a SIGKILLed holder, then four processes
race for it at once; exactly one must win each time, none may raise anything else."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import pytest

from blackstart.runbook import lock

TRIALS = 500
CONTENDERS = 4


def _leave_a_dead_holder(sd: str) -> None:
    pid = os.fork()
    if pid == 0:  # the child: take the lock and die holding it, as a killed restore does
        try:
            lock.acquire(sd, "killed", "plan-killed")
        finally:
            os.kill(os.getpid(), signal.SIGKILL)
    os.waitpid(pid, 0)


def _contender(i: int, sd: str, shared: tuple[Any, Any, Any, Any, Any]) -> None:
    barrier, holding, doubles, wins, errors = shared
    for t in range(TRIALS):
        if i == 0:
            _leave_a_dead_holder(sd)
        barrier.wait()
        got = None
        try:
            got = lock.acquire(sd, f"op{i}", f"plan-{t}-{i}")
        except lock.LockHeld as exc:
            if "holds the runbook lock" not in exc.reason:
                errors.put(f"trial {t}: refusal does not name the holder: {exc.reason}")
        except Exception:  # noqa: BLE001 - any other exception is the failure we count
            errors.put(f"trial {t}: {traceback.format_exc()}")
        if got is not None:
            with holding.get_lock():
                holding.value += 1
                if holding.value > 1:
                    doubles.value += 1
            with wins.get_lock():
                wins[t] += 1
            if got.left_by is None or got.left_by.get("plan") not in ("plan-killed",):
                errors.put(f"trial {t}: the dead holder's record was not seen: {got.left_by}")
        barrier.wait()  # everyone has tried while the winner still holds it
        if got is not None:
            with holding.get_lock():
                holding.value -= 1
            got.release()
        barrier.wait()


def test_500_simultaneous_trials_never_double_hold(tmp_path: Path) -> None:
    ctx = mp.get_context("fork")
    sd = str(tmp_path / "state")
    barrier = ctx.Barrier(CONTENDERS)
    holding, doubles = ctx.Value("i", 0), ctx.Value("i", 0)
    wins = ctx.Array("i", TRIALS)
    errors = ctx.Queue()
    t0 = time.monotonic()
    shared = (barrier, holding, doubles, wins, errors)
    procs = [ctx.Process(target=_contender, args=(i, sd, shared)) for i in range(CONTENDERS)]
    for p in procs:
        p.start()
    problems: list[str] = []
    deadline = time.monotonic() + 240
    while any(p.is_alive() for p in procs) and time.monotonic() < deadline:
        while not errors.empty():  # drained as we go: a full queue pipe would block them
            problems.append(errors.get())
        time.sleep(0.2)
    stuck = [p.pid for p in procs if p.is_alive()]
    for p in procs:
        if p.is_alive():
            p.kill()
        p.join(5)
    while not errors.empty():
        problems.append(errors.get())
    elapsed = time.monotonic() - t0
    print(f"lock race: {TRIALS} trials x {CONTENDERS} contenders in {elapsed:.1f}s, "
          f"wins/trial {sorted(set(wins[:]))}, double holds {doubles.value}")
    assert not stuck, f"contenders blocked: {stuck}"
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
    assert problems[:5] == []
    assert doubles.value == 0
    assert list(wins[:]) == [1] * TRIALS  # exactly one holder per trial, never zero
    assert sorted(p.name for p in Path(sd).iterdir()) == ["lock"]  # nothing renamed aside


def test_a_live_holder_is_refused_by_name_and_a_killed_one_is_taken_over(tmp_path: Path
                                                                         ) -> None:
    sd = str(tmp_path)
    held = lock.acquire(sd, "alice", "plan-a")
    code = ("import sys; from blackstart.runbook import lock\n"
            "try:\n    lock.acquire(sys.argv[1], 'bob', 'plan-b')\n"
            "except lock.LockHeld as e:\n    print(e.reason); sys.exit(7)\n")
    r = subprocess.run([sys.executable, "-c", code, sd], capture_output=True, text=True,
                       timeout=30, check=False)
    assert r.returncode == 7, r.stderr
    assert "'alice'" in r.stdout and socket.gethostname() in r.stdout and "plan-a" in r.stdout
    with pytest.raises(lock.LockHeld, match="alice"):
        lock.check_free(sd)
    with pytest.raises(lock.LockHeld):
        lock.clear_stale(sd)  # unlock never breaks a live holder
    held.release()
    lock.check_free(sd)
    # a holder SIGKILLed while holding: its kernel lock is gone with it, whatever its pid
    # becomes later; the next acquire gets it and knows who left the record
    code = ("import os, signal, sys; from blackstart.runbook import lock\n"
            "lock.acquire(sys.argv[1], 'carol', 'plan-c'); os.kill(os.getpid(), 9)\n")
    subprocess.run([sys.executable, "-c", code, sd], timeout=30, check=False)
    assert lock.read_holder(sd) == {**lock.read_holder(sd), "user": "carol"}  # record left
    lock.check_free(sd)  # ...but nobody holds it
    assert lock.clear_stale(sd)["plan"] == "plan-c"
    assert lock.read_holder(sd) is None
    with lock.acquire(sd, "dave", "plan-d") as mine:
        assert mine.holder["user"] == "dave" and mine.left_by is None
