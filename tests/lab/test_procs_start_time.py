"""lab/procs judges a tracked process by the kernel's start time (clock ticks since boot),
not by psutil's wall-clock create_time (ticks + /proc/stat btime, a whole second that moves
when the wall clock is stepped): a live process whose record was written before a clock
step is still live, a reused pid is still not ours."""

from __future__ import annotations

import json
from pathlib import Path

import psutil

from blackstart.lab import procs

STAT = ("4242 (etcd (weird) name) S 1 4242 4242 0 -1 4194560 900 0 0 0 12 3 0 0 20 0 9 0 "
        "2651348 3133440 357 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0")


def test_starttime_ticks_counts_fields_after_the_last_paren() -> None:
    assert procs.starttime_ticks(STAT) == 2651348
    assert procs.starttime_ticks(STAT.replace("(etcd (weird) name)", "(a) b) c)")) == 2651348
    for bad in ("", "4242 (etcd", "4242 (etcd) S 1 2", STAT.replace("2651348", "x")):
        assert procs.starttime_ticks(bad) is None, bad
    assert procs.start_ticks(2**22 + 12345) is None  # no such pid: None, no exception


def _spawn_sleep(tmp_path: Path) -> tuple[Path, int]:
    pidfile = tmp_path / "run" / "sleeper.pid"
    pid = procs.spawn(["sleep", "60"], pidfile, tmp_path / "sleeper.err")
    return pidfile, pid


def _shift(pidfile: Path, **change: float) -> None:
    doc = json.loads(pidfile.read_text())
    for k, v in change.items():
        doc[k] = doc[k] + v
    pidfile.write_text(json.dumps(doc))


def test_a_clock_step_does_not_make_a_live_process_gone(tmp_path: Path) -> None:
    pidfile, pid = _spawn_sleep(tmp_path)
    try:
        rec = json.loads(pidfile.read_text())
        assert rec["ticks"] == procs.start_ticks(pid) and rec["pid"] == pid
        assert not list(pidfile.parent.glob(".*.tmp"))  # written whole, then renamed
        # what a wall clock stepped by 5 s after the spawn looks like to the old check
        _shift(pidfile, started=5.0)
        p = procs.process_of(pidfile)
        assert p is not None and p.pid == pid
        # a record whose start ticks differ names another process (a reused pid)
        _shift(pidfile, ticks=1)
        assert procs.process_of(pidfile) is None
    finally:
        psutil.Process(pid).kill()
        procs.wait_gone([pidfile], 5)


def test_an_old_record_without_ticks_still_uses_the_wall_clock(tmp_path: Path) -> None:
    pidfile, pid = _spawn_sleep(tmp_path)
    try:
        doc = json.loads(pidfile.read_text())
        del doc["ticks"]
        pidfile.write_text(json.dumps(doc))
        assert procs.process_of(pidfile) is not None
        _shift(pidfile, started=5.0)
        assert procs.process_of(pidfile) is None
    finally:
        psutil.Process(pid).kill()
        procs.wait_gone([pidfile], 5)


def test_stop_forgets_a_record_once_its_process_is_gone(tmp_path: Path) -> None:
    pidfile, pid = _spawn_sleep(tmp_path)
    procs.stop([pidfile], timeout=5)
    assert not pidfile.exists()
    assert procs.process_of(pidfile) is None
    gone = not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert gone
