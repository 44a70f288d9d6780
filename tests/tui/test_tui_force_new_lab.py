"""Issue 12 from the cockpit, the third strategy: two WALs corrupt after a power cut,
etcd3 the only intact member and fresher than the backup. The verdict recommends forcing a
new cluster from etcd3; `a` plans it, the operator types the cluster name, and the run
ends 3/3 healthy with every key written before the cut (Debian etcdctl 3.4)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import settle

from blackstart.checks.discovery.inventory import load_inventory
from blackstart.tui.app import build_app
from blackstart.tui.screens.confirm import ConfirmScreen

sys.path.insert(0, str(Path(__file__).parents[1] / "runbook"))
from rbhelpers import (  # noqa: E402 - the runbook tests' helpers, by path
    hashkvs_agreeing,
    healthy_count,
    keys,
    need_debian_etcdctl,
    put_keys,
    wait_replicated,
)

pytestmark = pytest.mark.lab
SIZE = (120, 36)


async def _wait_for(pilot: Any, cond: Callable[[], bool], timeout: float) -> None:
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout, f"condition not met within {timeout}s"
        await pilot.pause(0.1)


async def test_two_wals_corrupt_recovered_from_the_tui_by_forcing_a_new_cluster(
        lab_factory: Callable[..., Any]) -> None:
    from blackstart.tui.screens.progress import ProgressScreen

    need_debian_etcdctl()
    lab = lab_factory()
    put_keys(lab, "/test/before-cut/", 12)
    wait_replicated(lab)
    lab.break_fault("power-cut")
    lab.break_fault("corrupt-wal", member="etcd1")
    lab.break_fault("corrupt-wal", member="etcd2")
    app = build_app(load_inventory(config=str(lab.inventory_path)), refresh_interval=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, timeout=90)
        v = app.report.verdict
        assert v.recommended == "force-new-cluster", [(s.name, s.blocked) for s in v.strategies]
        banner = " ".join(str(app.main.query_one("#verdict").render()).split())
        # the claimed loss is an estimate from raft entries (≈ 0-2 here); the keys below
        # are the ground truth
        assert "★ [a] force a new cluster from etcd3 — " in banner, banner
        await pilot.press("a")
        await _wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), 90)
        await pilot.pause()
        view = app.screen.view
        assert "force a new cluster from etcd3" in view.title and view.destructive
        assert any("--force-new-cluster" in line for line in view.lines)
        app.screen.query_one("#confirm-name").focus()
        await pilot.press(*"lab")
        await pilot.pause()
        await pilot.click("#confirm-ok")
        await _wait_for(pilot, lambda: isinstance(app.screen, ProgressScreen), 10)
        progress = app.screen
        await _wait_for(pilot, lambda: progress.done, 420)
        assert progress.ok, progress.query_one("#progress-status").render()
    assert healthy_count(lab) == 3 and len(set(hashkvs_agreeing(lab).values())) == 1
    assert len(keys(lab, "/test/before-cut/")) == 12
