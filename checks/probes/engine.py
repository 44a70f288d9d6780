"""Run every probe concurrently, each bounded in time, and assemble one diagnosed Report.

Probe modules are imported when a probe runs, not when this module loads: a probe whose
module is missing or broken becomes a "probe unavailable" finding instead of taking the
whole check down. `PROBES` and `checks.reasoning.diagnosis.diagnose` are usable on their own (the
TUI runs probes from its own workers); `run_checks` is the one-shot path for the CLI.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from blackstart.checks.errors import BlackstartError
from blackstart.checks.loops import run_on_own_loop
from blackstart.checks.model import Cluster, Finding, Report, Severity, Verdict
from blackstart.checks.probes.context import ProbeContext, VerifyStore
from blackstart.checks.reasoning.diagnosis import diagnose, probe_failed
from blackstart.checks.reasoning.sources import rank_sources

T = TypeVar("T")

ProbeFn = Callable[[ProbeContext], Awaitable[list[Any]]]
OnResult = Callable[[str, list[Any]], None]

# probe name -> (module, function). Order is the order results are shown.
_SPECS: dict[str, tuple[str, str]] = {
    "members": ("blackstart.checks.probes.members", "probe_members"),
    "access": ("blackstart.checks.probes.access", "probe_access"),
    "certificates": ("blackstart.checks.probes.certificates", "probe_certs"),
    "snapshots": ("blackstart.checks.probes.snapshots", "probe_snapshots"),
    "datadirs": ("blackstart.checks.probes.datadirs", "probe_datadirs"),
    "member_dbs": ("blackstart.checks.probes.datadirs", "probe_member_dbs"),
    "logs": ("blackstart.checks.probes.logs", "probe_logs"),
    "processes": ("blackstart.checks.probes.processes", "probe_processes"),
    "clocks": ("blackstart.checks.probes.clocks", "probe_clocks"),
    "metrics": ("blackstart.checks.probes.metrics", "probe_metrics"),
    "backups": ("blackstart.checks.probes.backups", "probe_backups"),
    "drills": ("blackstart.checks.probes.backups", "probe_drills"),
}

# probe name -> the Report field its results fill
_FIELDS: dict[str, str] = {
    "members": "members", "certificates": "certificates", "snapshots": "snapshots",
    "datadirs": "wal", "member_dbs": "member_dbs", "logs": "logs",
    "processes": "processes", "clocks": "clocks", "metrics": "metrics", "access": "access",
    "backups": "backups", "drills": "drills",
}


class ProbeUnavailable(BlackstartError):
    """The probe's module is not installed (yet) or does not define the function."""


def _lazy(module: str, func: str) -> ProbeFn:
    async def probe(ctx: ProbeContext) -> list[Any]:
        try:
            fn = getattr(importlib.import_module(module), func)
        except (ImportError, AttributeError) as exc:
            raise ProbeUnavailable(f"{module}.{func} is unavailable ({exc})") from exc
        return list(await fn(ctx))

    probe.__name__ = func
    probe.__qualname__ = func
    return probe


PROBES: dict[str, ProbeFn] = {name: _lazy(*spec) for name, spec in _SPECS.items()}


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


def assemble_report(cluster: Cluster, runs: list[ProbeRun], now: float) -> Report:
    """A Report from probe runs: results into their fields, then sources and diagnosis."""
    report = Report(cluster=cluster.name, taken_at=now, verdict=Verdict(Severity.OK, ""))
    for run in runs:
        setattr(report, _FIELDS[run.name], list(run.results))
        if run.error is not None:
            report.probe_errors[run.name] = run.error
    report.expected_members = [m.name for m in cluster.members]
    report.nodes_without_access = [n.name for n in cluster.nodes if not n.has_access]
    report.restore_sources = rank_sources(
        report.snapshots, report.member_dbs, report.wal, report.members, now)
    report.findings, report.verdict = diagnose(report, now)
    return report


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
    return assemble_report(cluster, list(runs), clock())


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
    pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="probe")
    return run_on_own_loop(run_checks(cluster, **kw), pool)
