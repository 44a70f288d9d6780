"""The engine: probes never raise, none can hold the report hostage, results stream out."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from blackstart.checks.model import Cluster, Member, Node
from blackstart.checks.probe_results import MemberState
from blackstart.checks.probes.context import ProbeContext
from blackstart.checks.probes.engine import PROBES, run_checks, run_checks_sync, run_probe
from blackstart.checks.probes.registry import lazy
from blackstart.checks.severity import Severity

CLUSTER = Cluster(
    name="t",
    nodes=(Node("n1"),),
    members=(Member("etcd1", "n1", "https://127.0.0.1:1", "https://127.0.0.1:2", "/none"),),
)


async def _boom(ctx: ProbeContext) -> list[Any]:
    raise RuntimeError("boom")


async def _hang(ctx: ProbeContext) -> list[Any]:
    await asyncio.sleep(60)
    return []


async def _members(ctx: ProbeContext) -> list[Any]:
    return [MemberState("etcd1", "https://127.0.0.1:1", healthy=True)]


async def _blocking(ctx: ProbeContext) -> list[Any]:
    # A blocking library call in a worker thread: cancellation cannot interrupt it.
    await asyncio.to_thread(time.sleep, 3)
    return []


@pytest.fixture
def only(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Replace the probe table with the given probes (the rest removed) for one test."""
    def set_probes(**probes: Any) -> None:
        for name in list(PROBES):
            monkeypatch.delitem(PROBES, name)
        for name, fn in probes.items():
            monkeypatch.setitem(PROBES, name, fn)
    return set_probes


def test_probe_table_has_every_probe() -> None:
    assert list(PROBES) == ["members", "access", "certificates", "snapshots", "datadirs",
                            "member_dbs", "logs", "processes", "clocks", "metrics",
                            "backups", "drills", "recoveries"]


async def test_a_raising_probe_becomes_an_error_result(only: Any) -> None:
    only(members=_boom)
    run = await run_probe("members", ProbeContext(CLUSTER))
    assert run.results == [] and run.error == "RuntimeError: boom"
    f = run.finding()
    assert f is not None and f.seen == "probe members failed: RuntimeError: boom"


async def test_a_hanging_probe_times_out(only: Any) -> None:
    only(members=_hang)
    start = time.monotonic()
    run = await run_probe("members", ProbeContext(CLUSTER, deadline=0.1))
    assert run.error == "no result within 0.2s"
    assert time.monotonic() - start < 1.0


async def test_a_missing_probe_module_is_unavailable_not_a_crash(only: Any) -> None:
    only(members=lazy("checks.no_such_probe", "probe_nothing"))
    run = await run_probe("members", ProbeContext(CLUSTER))
    assert run.error is not None
    assert "checks.no_such_probe.probe_nothing is unavailable" in run.error
    assert (await run_probe("nope", ProbeContext(CLUSTER))).error == "no probe named 'nope'"


async def test_run_checks_streams_results_and_survives_a_hung_probe(only: Any) -> None:
    only(members=_members, logs=_hang, certificates=_boom)
    seen: list[tuple[str, int]] = []
    start = time.monotonic()
    report = await run_checks(CLUSTER, deadline=0.2, clock=lambda: 1e9,
                              on_result=lambda name, res: seen.append((name, len(res))))
    assert time.monotonic() - start < 2.0
    assert set(seen[:2]) == {("members", 1), ("certificates", 0)}
    assert seen[-1] == ("logs", 0)  # the hung one reports last, after its timeout
    assert report.members[0].healthy and report.taken_at == 1e9
    assert report.probe_errors == {"logs": "no result within 0.4s",
                                   "certificates": "RuntimeError: boom"}
    failed = [f.seen for f in report.findings if f.code == "probe-failed"]
    assert failed == ["probe certificates failed: RuntimeError: boom",
                      "probe logs failed: no result within 0.4s"]
    assert report.verdict.level is Severity.WARNING
    assert report.expected_members == ["etcd1"]


def test_sync_wrapper_does_not_wait_for_a_stuck_thread(only: Any) -> None:
    only(members=_members, snapshots=_blocking)
    start = time.monotonic()
    report = run_checks_sync(CLUSTER, deadline=0.25)
    assert time.monotonic() - start < 2.0  # the blocked thread sleeps 3 s
    assert report.probe_errors == {"snapshots": "no result within 0.5s"}
