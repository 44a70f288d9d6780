"""CPU-heavy parsing (WAL decode, bbolt walk) in worker processes, awaited without polling.

The parsers are pure Python: run in a thread they hold the GIL, and every other probe
(and the TUI's repaint) waits on them. A process pool bounded by the cores runs them
instead; the pool is shared process-wide and outlives one probe run, so a verification
that missed its probe's budget goes on and a later run picks its verdict up.

`wait_done` wakes on the future's own completion callback (no sleep loop). The callback
tolerates a loop that was closed meanwhile: probe runs each have their own loop.
"""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")

_LOCK = threading.Lock()
_STATE: dict[str, ProcessPoolExecutor] = {}  # lane -> its pool, once started
_CAP: list[int] = []  # a cap on each pool's size, set by a process that runs one probe
# Two lanes, each bounded by the cores: the members' WAL and db (what the verdict needs
# first) never queue behind a hundred backup files.
MEMBERS, BACKUPS = "members", "backups"


def cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def cap_workers(n: int) -> None:
    """Bound each lane's pool to n workers in this process (the cockpit's probe children:
    a dozen probes each with a pool as wide as the machine would fork hundreds)."""
    _CAP[:] = [max(1, n)]


def die_with_parent(parent: int, forked_by_main_thread: bool = True) -> None:
    """A worker dies with the process that started it and holds none of its pipes.

    Without this, a SIGKILLed `blackstart restore` (a power cut, an operator's kill -9)
    leaves its workers behind, still holding its stdout/stderr: whoever reads them (a
    shell pipeline, a test's subprocess.run) waits for an EOF that never comes.

    PR_SET_PDEATHSIG fires when the *thread* that forked us ends, not the process: a pool
    started from a probe's short-lived thread had its workers SIGKILLed mid-verification
    (and the files they checked reported as broken). So the signal is asked for only when
    the main thread forked us; a watchdog thread covers every case."""
    if forked_by_main_thread:
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # not Linux: the watchdog below still ends us
    if os.getppid() != parent:  # the parent died before prctl took hold
        os._exit(0)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True,
                     name="blackstart-parent-watch").start()
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:  # reparented (to init or a subreaper): the parent is gone
        time.sleep(1.0)
    os._exit(0)


def pool(lane: str = MEMBERS) -> ProcessPoolExecutor:
    with _LOCK:
        if lane not in _STATE:
            size = min([cores(), *_CAP])
            main = threading.current_thread() is threading.main_thread()
            # "fork" said outright: die_with_parent checks that we are the workers' parent,
            # and a process started by a fork server (the cockpit's probe children) would
            # otherwise start its pool's workers from that server too.
            _STATE[lane] = ProcessPoolExecutor(max_workers=size, initializer=die_with_parent,
                                               initargs=(os.getpid(), main),
                                               mp_context=multiprocessing.get_context("fork"))
        return _STATE[lane]


def prestart(lanes: tuple[str, ...] = (MEMBERS, BACKUPS)) -> None:
    """Fork every lane's workers now, from the calling thread.

    A fork copies every open file descriptor. A pool first used from a probe thread while
    another thread is inside Popen forks workers that hold that child's pipe ends, and the
    reader of the pipe never sees EOF. Forking early, before other threads start children,
    closes that window (with the fork start method all of a pool's workers start on its
    first submit)."""
    for lane in lanes:
        submit(int, lane=lane).result(timeout=60)


def submit(fn: Callable[..., T], *args: Any, lane: str = MEMBERS) -> Future[T]:
    """Run fn(*args) in a worker process; a pool broken by a killed worker is replaced."""
    try:
        return pool(lane).submit(fn, *args)
    except (BrokenProcessPool, RuntimeError):
        with _LOCK:
            _STATE.pop(lane, None)
        return pool(lane).submit(fn, *args)


async def submit_off_loop(fn: Callable[..., T], *args: Any, lane: str = MEMBERS) -> Future[T]:
    """`submit` from a thread: starting the workers (a fork each) never stalls the loop."""
    return await asyncio.to_thread(lambda: submit(fn, *args, lane=lane))


async def wait_done(fut: Future[Any], until: float | None = None) -> bool:
    """Wait until `fut` is done or the monotonic clock reaches `until`; True when done."""
    if fut.done():
        return True
    loop = asyncio.get_running_loop()
    event = asyncio.Event()

    def wake(_: Future[Any]) -> None:
        try:
            loop.call_soon_threadsafe(event.set)
        except RuntimeError:
            pass  # that probe run's loop is gone; a later run reads the result

    fut.add_done_callback(wake)
    timeout = None if until is None else max(0.0, until - time.monotonic())
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        return fut.done()
    return True


async def run_in_worker(fn: Callable[..., T], *args: Any) -> T:
    """fn(*args) in a worker process, awaited; its exception is re-raised here."""
    fut = await submit_off_loop(fn, *args)
    await wait_done(fut)
    return fut.result()


def shutdown() -> None:
    """Stop the workers now (the CLI at exit): pending verifications are abandoned, as a
    thread would be; nothing they do writes."""
    with _LOCK:
        pools = list(_STATE.values())
        _STATE.clear()
    for p in pools:
        procs = list(getattr(p, "_processes", {}).values())
        p.shutdown(wait=False, cancel_futures=True)
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
