"""Detached lab processes tracked by pid files under DIR/run/.

A pid file records pid, argv and start time. A process counts as ours only while its
cmdline and start time still match the record, so a reused pid is never signalled.
Processes get their own session, so they outlive the `lab up` command that started them.

The start time compared is the kernel's own (`/proc/PID/stat` field 22, clock ticks since
boot), not psutil's wall-clock `create_time()`: that one is ticks + the `btime` of
/proc/stat, a whole second that moves whenever the wall clock is stepped (a VM resumed,
NTP; on this box REALTIME - BOOTTIME sat 34 ms above the second, so a 35 ms step back
shifts it by 1, and the float sum then lands either side of the old `> 1` tolerance).
A live process judged gone that way is not signalled by `lab stop` (the likeliest cause
of the rollback once seen to run on under a live etcd at restore kill boundary 32).
A pid file is replaced atomically, so a reader never sees it half written, and it is kept
while its process is still alive after `stop` (a dying etcd stuck in I/O stays tracked:
`start` will not spawn a second one beside it).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True)
class Record:
    pid: int
    argv: list[str]
    started: float  # psutil create_time (wall clock: shown, and for records without ticks)
    ticks: int | None = None  # /proc/PID/stat starttime: clock ticks since boot


def starttime_ticks(stat_text: str) -> int | None:
    """Pure: field 22 (starttime) of a /proc/PID/stat line. The command name (field 2)
    may hold spaces and parentheses, so fields are counted after its last ')'."""
    _, sep, rest = stat_text.rpartition(")")
    fields = rest.split()
    if not sep or len(fields) < 20 or not fields[19].isdigit():
        return None
    return int(fields[19])


def start_ticks(pid: int) -> int | None:
    try:
        return starttime_ticks(Path(f"/proc/{pid}/stat").read_text())
    except OSError:
        return None


def _reap(pid: int) -> None:
    # Children of this process (tests, `lab up` still running) turn zombie when they die.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def read_record(pidfile: Path) -> Record | None:
    try:
        d = json.loads(pidfile.read_text())
        ticks = d.get("ticks")
        return Record(int(d["pid"]), [str(a) for a in d["argv"]], float(d["started"]),
                      int(ticks) if ticks is not None else None)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_record(pidfile: Path, proc: subprocess.Popen[bytes], argv: list[str]) -> None:
    try:
        started = psutil.Process(proc.pid).create_time()
    except psutil.Error:
        started = 0.0
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    doc = {"pid": proc.pid, "argv": argv, "started": started, "ticks": start_ticks(proc.pid)}
    tmp = pidfile.with_name(f".{pidfile.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc))
    os.replace(tmp, pidfile)  # a reader sees the old record or the new one, never ""


def process_of(pidfile: Path) -> psutil.Process | None:
    """The live process a pid file names, or None (gone, zombie, or pid reused)."""
    rec = read_record(pidfile)
    if rec is None:
        return None
    _reap(rec.pid)
    try:
        p = psutil.Process(rec.pid)
        if p.status() == psutil.STATUS_ZOMBIE:
            return None
        if not _same_command(p.cmdline(), rec.argv):
            return None
        if not _same_start(p, rec):
            return None
        return p
    except psutil.Error:
        return None


def _same_start(p: psutil.Process, rec: Record) -> bool:
    if rec.ticks is not None:
        return start_ticks(p.pid) == rec.ticks
    return not rec.started or abs(p.create_time() - rec.started) <= 1  # an older record


def _same_command(cmdline: list[str], argv: list[str]) -> bool:
    # sshd rewrites its title ("sshd: /usr/sbin/sshd -D -f ... [listener] ..."): accept
    # the recorded argv inside it; the start-time check still guards against pid reuse.
    return cmdline == argv or " ".join(argv) in " ".join(cmdline)


def spawn(argv: list[str], pidfile: Path, errfile: Path, env: dict[str, str] | None = None) -> int:
    """Start argv detached; its stdout/stderr go to errfile. Returns the pid."""
    errfile.parent.mkdir(parents=True, exist_ok=True)
    with open(errfile, "ab") as err:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=err, stderr=subprocess.STDOUT,
            start_new_session=True, env=env, close_fds=True,
        )
    _write_record(pidfile, proc, argv)
    return proc.pid


def spawn_logged(argv: list[str], pidfile: Path, log: Path, logger_pidfile: Path) -> int:
    """Start argv detached with its output piped into a CRI log file (blackstart.lab.crilog)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True, close_fds=True,
    )
    largv = [sys.executable, "-m", "blackstart.lab.crilog", "--log", str(log),
             "--for", str(pidfile.stem)]
    assert proc.stdout is not None
    logger = subprocess.Popen(
        largv, stdin=proc.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, close_fds=True, env=_pythonpath_env(),
    )
    proc.stdout.close()  # only the logger holds the read end: EOF when argv dies
    _write_record(pidfile, proc, argv)
    _write_record(logger_pidfile, logger, largv)
    return proc.pid


def _pythonpath_env() -> dict[str, str]:
    """So `python -m lab.*` finds this checkout even when run from another cwd."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def python_env() -> dict[str, str]:
    return _pythonpath_env()


def signal_all(pidfiles: list[Path], sig: signal.Signals) -> list[int]:
    """Send sig to every live process named by the pid files. Returns the pids hit."""
    hit = []
    for pf in pidfiles:
        p = process_of(pf)
        if p is None:
            continue
        with contextlib.suppress(psutil.Error):
            p.send_signal(sig)
            hit.append(p.pid)
    return hit


def wait_gone(pidfiles: list[Path], timeout: float) -> list[Path]:
    """Wait until no pid file names a live process; returns those still alive."""
    end = time.monotonic() + timeout
    alive = list(pidfiles)
    while alive and time.monotonic() < end:
        alive = [pf for pf in alive if process_of(pf) is not None]
        if alive:
            time.sleep(0.05)
    return alive


def stop(pidfiles: list[Path], timeout: float = 5.0) -> None:
    """SIGTERM, wait, then SIGKILL what is left; pid files are removed."""
    signal_all(pidfiles, signal.SIGTERM)
    left = wait_gone(pidfiles, timeout)
    alive: list[Path] = []
    if left:
        signal_all(left, signal.SIGKILL)
        alive = wait_gone(left, 10.0)  # SIGKILLed but still in the kernel (I/O): wait
    for pf in pidfiles:
        if pf in alive:
            continue  # still alive: keep tracking it rather than forget a live process
        with contextlib.suppress(FileNotFoundError):
            pf.unlink()
