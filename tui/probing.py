"""Runs one async probe to completion on its own event loop, in the calling thread.

The app calls this from a thread worker per probe, so a probe that blocks (a grpc call
to a blackholed member) can only delay itself, never the UI or the other panels. A fresh
`ProbeContext` per run keeps each run's node clients on the loop that made them; the
`cache` dict is shared so snapshot verification results survive between runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from checks.context import ProbeContext
from checks.model import Cluster

Probe = Callable[[ProbeContext], Awaitable[list[Any]]]

PROBE_TIMEOUT = 20.0  # a whole probe run; each probe also bounds its own calls


class ProbeTimedOut(Exception):
    pass


def run_probe(
    probe: Probe, cluster: Cluster, clock: Callable[[], float],
    cache: dict[str, Any], timeout: float = PROBE_TIMEOUT,
) -> list[Any]:
    """Own loop and executor, not asyncio.run: that would wait forever at exit for an
    executor thread stuck in a blocking call to a blackholed member."""
    loop = asyncio.new_event_loop()
    pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="tui-probe")
    loop.set_default_executor(pool)
    try:
        return loop.run_until_complete(_run(probe, cluster, clock, cache, timeout))
    finally:
        _cancel_pending(loop)
        pool.shutdown(wait=False, cancel_futures=True)
        loop.close()


def _cancel_pending(loop: asyncio.AbstractEventLoop) -> None:
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for t in pending:
        t.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


async def _run(
    probe: Probe, cluster: Cluster, clock: Callable[[], float],
    cache: dict[str, Any], timeout: float,
) -> list[Any]:
    ctx = ProbeContext(cluster=cluster, clock=clock, cache=cache)
    try:
        return list(await asyncio.wait_for(probe(ctx), timeout))
    except TimeoutError as exc:
        raise ProbeTimedOut(f"no answer within {timeout:.0f}s") from exc
    finally:
        await ctx.close()
