"""The cockpit against real lab clusters (real etcd, real TLS, real files), driven by Pilot.

healthy_lab for read-only checks; lab_factory() for breaking things: a member going down
during a refresh, the seed outage, and a blackholed member (a real socket that accepts
and never answers)."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import settle
from textual.widgets import Button, DataTable

from blackstart.checks.discovery.inventory import load_inventory
from blackstart.checks.model import Member
from blackstart.runbook.journal import load_journal
from blackstart.tui.app import BlackstartApp, build_app
from blackstart.tui.panels.logs import LogsPanel
from blackstart.tui.screens.confirm import ConfirmScreen
from blackstart.tui.screens.help import HelpScreen

pytestmark = pytest.mark.lab
SIZE = (120, 36)


def _app(lab: Any, **kw: Any) -> BlackstartApp:
    return build_app(load_inventory(config=str(lab.inventory_path)), **kw)


def _rows(app: BlackstartApp, table: str) -> int:
    return app.main.query_one(f"#{table}", DataTable).row_count


def _health(app: BlackstartApp) -> dict[str, bool]:
    return {m.name: m.healthy for m in app.report.members}


async def _wait_for(pilot: Any, cond: Callable[[], bool], timeout: float) -> float:
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout, f"condition not met within {timeout}s"
        await pilot.pause(0.1)
    return time.monotonic() - t0


async def test_healthy_lab_fills_every_panel_read_only(healthy_lab: Any) -> None:
    app = _app(healthy_lab, read_only=True, refresh_interval=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, timeout=60)
        assert _health(app) == {"etcd1": True, "etcd2": True, "etcd3": True}
        assert "3/3 healthy, quorum needs 2" in str(app.main.query_one("#quorum-line").render())
        assert _rows(app, "members-table") == 3
        assert _rows(app, "certs-table") >= 6
        assert _rows(app, "snapshots-table") >= 1
        assert app.main.query_one(LogsPanel).line_count > 0
        await pilot.press("R")
        await pilot.pause(0.3)
        assert app.screen is app.main
        assert "restore" not in {b.binding.action for b in app.screen.active_bindings.values()}


async def test_member_going_down_during_refresh(lab_factory: Callable[..., Any]) -> None:
    lab = lab_factory()
    app = _app(lab, refresh_interval=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, timeout=60)
        assert _health(app)["etcd2"]
        stopping = asyncio.create_task(asyncio.to_thread(lab.stop, "etcd2"))
        await pilot.press("r")
        await _wait_for(pilot, lambda: not _health(app).get("etcd2", True), 30)
        await stopping
        assert "2/3 healthy" in str(app.main.query_one("#quorum-line").render())
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


async def test_seed_outage_verdict_quorum_and_restore_confirm(
        lab_factory: Callable[..., Any]) -> None:
    lab = lab_factory()
    lab.break_fault("expire-cert", member="etcd1")
    lab.break_fault("power-cut")
    lab.break_fault("corrupt-wal", member="etcd2")
    app = _app(lab, refresh_interval=3600)
    t0 = time.monotonic()
    async with app.run_test(size=SIZE) as pilot:
        await _wait_for(pilot, lambda: "quorum" in app.report.verdict.summary.lower(), 10)
        assert time.monotonic() - t0 < 10
        await settle(pilot, timeout=60)
        assert app.report.verdict.summary.startswith("Quorum lost")
        assert {"etcd1", "etcd2", "etcd3"} == set(_health(app))
        await pilot.press("R")
        await _wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 60)
        await pilot.pause()
        # destructive: the cluster-name box has focus and OK stays disabled until it matches
        assert app.screen.view.plan.steps and app.screen.view.destructive
        assert app.focused is not None and app.focused.id == "confirm-name"
        assert app.screen.query_one("#confirm-ok", Button).disabled
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.main


@pytest.fixture
def blackhole() -> Iterator[str]:
    """A real TCP listener on loopback that accepts (kernel backlog) and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.99.9", 0))
    sock.listen(16)
    try:
        yield f"https://127.0.99.9:{sock.getsockname()[1]}"
    finally:
        sock.close()


async def test_blackholed_member_never_freezes_the_screen(healthy_lab: Any,
                                                          blackhole: str) -> None:
    cluster = load_inventory(config=str(healthy_lab.inventory_path))
    first = cluster.members[0]
    ghost = dataclasses.replace(first, name="etcd4", client_url=blackhole,
                                peer_url="https://127.0.99.9:2380", metrics_url=None)
    assert isinstance(ghost, Member)
    cluster = dataclasses.replace(cluster, members=(*cluster.members, ghost))
    app = build_app(cluster, read_only=True, refresh_interval=3600)
    async with app.run_test(size=SIZE) as pilot:
        others = {"certificates", "snapshots", "logs"}
        await settle(pilot, timeout=60, names=others)
        # The other panels filled while the members probe still waited on the blackhole.
        assert "members" in app.running
        assert _rows(app, "certs-table") >= 6 and app.main.query_one(LogsPanel).line_count > 0
        t0 = time.monotonic()
        await pilot.press("question_mark")
        await pilot.pause()
        # answered while the members probe still hangs on the blackhole (its deadline is
        # seconds away): a frozen UI would take that long; 2.5 s leaves room for load
        assert isinstance(app.screen, HelpScreen) and time.monotonic() - t0 < 2.5
        await pilot.press("escape")
        await settle(pilot, timeout=60, names={"members"})
        ghost_state = {m.name: m for m in app.report.members}["etcd4"]
        assert not ghost_state.healthy and ghost_state.error_class == "timeout"
        assert "3/4 healthy, quorum needs 3" in str(app.main.query_one("#quorum-line").render())


async def test_restart_a_stopped_member_runs_the_real_plan_with_progress(
        lab_factory: Callable[..., Any]) -> None:
    from blackstart.tui.screens.progress import ProgressScreen

    lab = lab_factory()
    lab.stop("etcd2")
    app = _app(lab, refresh_interval=1.0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, timeout=60)
        table = app.main.query_one("#members-table", DataTable)
        table.focus()
        table.move_cursor(row=table.get_row_index("etcd2"))
        await pilot.press("x")
        await _wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 60)
        destructive = app.screen.view.destructive  # the runbook decides; then a name is due
        assert app.focused is not None
        assert app.focused.id == ("confirm-name" if destructive else "cancel")
        assert "etcd2" in "\n".join(app.screen.view.lines)
        if destructive:
            await pilot.press(*"lab")
        await pilot.pause()
        assert not app.screen.query_one("#confirm-ok", Button).disabled
        await pilot.click("#confirm-ok")
        await _wait_for(pilot, lambda: isinstance(app.screen, ProgressScreen), 10)
        progress = app.screen
        assert isinstance(progress, ProgressScreen)
        await _wait_for(pilot, lambda: progress.done, 120)
        assert progress.ok, str(progress.query_one("#progress-status").render())
        await pilot.click("#progress-close")
        await _wait_for(pilot, lambda: _health(app).get("etcd2", False), 60)
        # the run's journal: etcd2 was stopped, so `x` planned its start; done
        assert progress.journal is not None
        journal = load_journal(Path(progress.journal))
        assert journal.state == "done" and journal.plan.action == "start"
        assert "etcd2" in journal.plan.target


async def test_seed_outage_recovered_from_the_tui_by_start_and_replace(
        lab_factory: Callable[..., Any]) -> None:
    """Issue 12 from the cockpit: the verdict lists the ways out with their loss, `a` plans
    the recommended one (start etcd1+etcd3, replace etcd2), the operator types the
    cluster name, and the run ends with 3/3 healthy and every key written before the cut."""
    import sys

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parents[1] / "runbook"))
    from rbhelpers import hashkvs, healthy_count, keys, need_debian_etcdctl, put_keys

    from blackstart.tui.screens.progress import ProgressScreen

    need_debian_etcdctl()
    lab = lab_factory()
    put_keys(lab, "/test/before-backup/", 10)
    lab.break_fault("power-cut")
    lab.break_fault("expire-cert", member="etcd1")
    lab.break_fault("corrupt-wal", member="etcd2")
    app = _app(lab, refresh_interval=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, timeout=90)
        v = app.report.verdict
        assert v.recommended == "replace", [(s.name, s.blocked) for s in v.strategies]
        banner = str(app.main.query_one("#verdict").render())
        assert "start etcd1+etcd3, replace etcd2 — loses nothing" in banner
        await pilot.press("a")
        await _wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 90)
        await pilot.pause()
        assert "replace" in app.screen.view.title and app.screen.view.digest
        app.screen.query_one("#confirm-name").focus()
        await pilot.press(*"lab")
        await pilot.pause()
        await pilot.click("#confirm-ok")
        await _wait_for(pilot, lambda: isinstance(app.screen, ProgressScreen), 10)
        progress = app.screen
        await _wait_for(pilot, lambda: progress.done, 420)
        assert progress.ok, progress.query_one("#progress-status").render()
    assert healthy_count(lab) == 3 and len(set(hashkvs(lab).values())) == 1
    assert len(keys(lab, "/test/before-backup/")) == 10
