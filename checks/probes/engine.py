"""Run every probe concurrently, each bounded in time, and assemble one diagnosed Report.

The probes are the ones of checks.probes.registry (imported when they first run, so a
broken probe module becomes that probe's error, not a crash). The TUI runs the same probes
from its own workers and assembles with the same checks.reasoning.report.assemble_report;
`run_checks` is the one-shot path for the CLI.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from blackstart.checks.conclusions import Finding, Report
from blackstart.checks.loops import run_on_own_loop
from blackstart.checks.model import Cluster
from blackstart.checks.probes import workers
from blackstart.checks.probes.context import ProbeContext, VerifyStore
from blackstart.checks.probes.registry import SPECS, ProbeFn
from blackstart.checks.reasoning.cluster_rules import probe_failed
from blackstart.checks.reasoning.report import assemble_report

T = TypeVar("T")

OnResult = Callable[[str, list[Any]], None]

# probe name -> its function, from the one registry; a dict so that tests can swap one.
PROBES: dict[str, ProbeFn] = {spec.name: spec.run for spec in SPECS}


@dataclass
class ProbeRun:
    """One probe's outcome: its results, or why it produced none."""

    name: str
    results: list[Any] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    def finding(self) -> Finding | None:
        """'probe X failed: ...' when it failed (diagnose() adds the same from the report)."""
        return None if self.error is None else probe_failed(self.name, self.error)


def probe_timeout(deadline: float) -> float:
    """The overall budget of one probe: a few per-call deadlines, so that no single probe
    can hold the whole report hostage."""
    return deadline * 2


async def run_probe(name: str, ctx: ProbeContext, timeout: float | None = None) -> ProbeRun:
    """Run one probe. Never raises: a failure or a timeout becomes `ProbeRun.error`."""
    start = time.monotonic()
    limit = probe_timeout(ctx.deadline) if timeout is None else timeout
    try:
        fn = PROBES[name]
        results = await asyncio.wait_for(fn(ctx), limit)
        return ProbeRun(name, results, None, time.monotonic() - start)
    except asyncio.CancelledError:
        raise  # the caller is shutting down: do not swallow that
    except TimeoutError:
        err = f"no result within {limit:g}s"
    except KeyError:
        err = f"no probe named {name!r}"
    except Exception as exc:  # noqa: BLE001 - the promise is "never raises"
        err = f"{type(exc).__name__}: {exc}"
    return ProbeRun(name, [], err, time.monotonic() - start)


def assemble_runs(cluster: Cluster, runs: list[ProbeRun], now: float) -> Report:
    """The Report of these probe runs (checks.reasoning.report.assemble_report)."""
    results = {run.name: run.results for run in runs}
    errors = {run.name: run.error for run in runs if run.error is not None}
    return assemble_report(cluster, results, now, errors)


async def run_checks(
    cluster: Cluster,
    *,
    clock: Callable[[], float] = time.time,
    deadline: float = 5.0,
    on_result: OnResult | None = None,
    probes: list[str] | None = None,
    store: VerifyStore | None = None,
) -> Report:
    """Every probe at once; `on_result(name, results)` as each finishes; then diagnose."""
    ctx = ProbeContext(cluster=cluster, clock=clock, deadline=deadline, store=store)
    names = list(PROBES) if probes is None else probes

    loop = asyncio.get_running_loop()
    outer = ThreadPoolExecutor(max_workers=max(1, len(names)), thread_name_prefix="probe-loop")

    async def one(name: str) -> ProbeRun:
        run = await loop.run_in_executor(outer, on_own_loop, name, ctx)
        if on_result is not None:
            on_result(name, run.results)
        return run

    try:
        runs = await asyncio.gather(*(one(n) for n in names))
    finally:
        outer.shutdown(wait=False)
        await _close(ctx)
    return assemble_runs(cluster, list(runs), clock())


def on_own_loop(name: str, ctx: ProbeContext) -> ProbeRun:
    """One probe on an event loop of its own (in the calling thread), with node clients of
    its own (a connection belongs to the loop that made it): a probe that blocks its loop,
    with an import, a parse or a blocking client call, delays only itself. The caches are
    shared."""
    own = replace(ctx, clients={})

    async def run() -> ProbeRun:
        try:
            return await run_probe(name, own)
        finally:
            await _close(own)

    return run_on_own_loop(run(), ThreadPoolExecutor(max_workers=8,
                                                      thread_name_prefix=f"probe-{name}"))


async def _close(ctx: ProbeContext) -> None:
    try:
        await asyncio.wait_for(ctx.close(), 5)
    except Exception:  # noqa: BLE001 - closing must not hide the report
        pass


def run_checks_sync(cluster: Cluster, **kw: Any) -> Report:
    """run_checks for synchronous callers (the CLI)."""
    workers.prestart()  # fork the parsers' workers before any probe thread runs a child
    pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="probe")
    return run_on_own_loop(run_checks(cluster, **kw), pool)
