"""Runs one async probe to completion on its own event loop, in the calling thread.

The app calls this from a thread worker per probe, so a probe that blocks (a grpc call
to a blackholed member) can only delay itself, never the UI or the other panels. A fresh
`ProbeContext` per run keeps each run's node clients on the loop that made them; the
`cache` dict is shared so snapshot verification results survive between runs.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from blackstart.checks.errors import BlackstartError
from blackstart.checks.loops import run_on_own_loop
from blackstart.checks.model import Cluster
from blackstart.checks.probes.context import ProbeContext, VerifyStore
from blackstart.checks.probes.registry import ProbeFn

Probe = ProbeFn  # what checks.probes.registry holds: async (ctx) -> [result, ...]

PROBE_TIMEOUT = 20.0  # a whole probe run; each probe also bounds its own calls


T = TypeVar("T")


class ProbeTimedOut(BlackstartError):
    """A probe gave no answer within its deadline."""


class DaemonThreadExecutor(ThreadPoolExecutor):
    """Every call on a daemon thread of its own.

    ThreadPoolExecutor threads are joined when the interpreter exits, so one call stuck on
    a blackholed member would keep blackstart alive for seconds after the operator quit.
    Daemon threads are simply abandoned at exit (probes only read; nothing is left half
    done). Subclassing ThreadPoolExecutor is what asyncio requires of a default executor.
    """

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting side
                future.set_exception(exc)

        threading.Thread(target=run, daemon=True, name="blackstart-probe").start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        return None  # nothing pooled: abandoned calls end with the process


DAEMONS = DaemonThreadExecutor()


async def in_daemon_thread(fn: Callable[[], T]) -> T:
    """Await a blocking call made on a daemon thread (see DaemonThreadExecutor)."""
    return await asyncio.get_running_loop().run_in_executor(DAEMONS, fn)


class SavedStore(VerifyStore, Protocol):
    """A VerifyStore that can also write itself (runbook.verify_cache.VerifyCache)."""

    def save(self) -> bool: ...


def run_probe(
    probe: Probe, cluster: Cluster, clock: Callable[[], float],
    cache: dict[str, Any], timeout: float = PROBE_TIMEOUT, *, store: SavedStore | None = None,
) -> list[Any]:
    """On a loop of its own whose calls run on daemon threads (see DaemonThreadExecutor);
    the cross-run verification cache is written back after each run (in this worker
    thread, never the UI's)."""
    try:
        return run_on_own_loop(_run(probe, cluster, clock, cache, timeout, store=store),
                               DaemonThreadExecutor())
    finally:
        if store is not None:
            store.save()


async def _run(
    probe: Probe, cluster: Cluster, clock: Callable[[], float],
    cache: dict[str, Any], timeout: float, *, store: VerifyStore | None = None,
) -> list[Any]:
    ctx = ProbeContext(cluster=cluster, clock=clock, cache=cache, store=store)
    try:
        return list(await asyncio.wait_for(probe(ctx), timeout))
    except TimeoutError as exc:
        raise ProbeTimedOut(f"no answer within {timeout:.0f}s") from exc
    finally:
        await ctx.close()
