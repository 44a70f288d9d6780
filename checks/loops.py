"""Running a coroutine from synchronous code: one way, here (the CLI, the planner's
blocking form and the TUI's thread workers all use it; nothing in the package calls
`asyncio.run`). A light module on purpose: the CLI imports it at start-up."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_on_own_loop(coro: Coroutine[Any, Any, T],
                    executor: ThreadPoolExecutor | None = None) -> T:
    """Run `coro` to completion on a fresh loop whose default executor is `executor` (a
    new pool when None). The one way sync code (CLI, TUI workers) runs a coroutine.

    Not `asyncio.run`: that waits at exit for every executor thread, and a thread stuck in
    a blocking library call to a blackholed member is exactly what the per-probe timeouts
    are there to walk away from. Left-over tasks are cancelled; the executor is not joined.
    """
    if executor is None:
        executor = ThreadPoolExecutor(max_workers=32, thread_name_prefix="own-loop")
    loop = asyncio.new_event_loop()
    loop.set_default_executor(executor)
    try:
        return loop.run_until_complete(coro)
    finally:
        _cancel_pending(loop)
        executor.shutdown(wait=False, cancel_futures=True)
        loop.close()


def _cancel_pending(loop: asyncio.AbstractEventLoop) -> None:
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for t in pending:
        t.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
