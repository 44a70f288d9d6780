"""Dialogs work from the keyboard alone (an operator in tmux over SSH has no mouse): Tab
reaches a non-destructive plan's Confirm button and Enter runs the plan. Red before the
fix: the cockpit blocked every app action on a dialog, Textual's Tab (app.focus_next)
included, so focus never left Cancel."""

from __future__ import annotations

import time
from typing import Any

from conftest import settle

from blackstart.tui.screens.confirm import ConfirmScreen
from blackstart.tui.screens.progress import ProgressScreen
from screenshots import recorded_app


def _planner(request: Any, cluster: Any, report: Any) -> Any:
    from blackstart.runbook.plan import Plan, Step
    from blackstart.tui.plans import PlanView

    plan = Plan("keys-test", "restart", "a harmless plan", cluster.name, "nothing", False,
                [Step("s1", "etcd2", "a command that fails", "run", ("false",))])
    return PlanView.of(request.name, plan)


async def _wait_for(pilot: Any, cond: Any, timeout: float = 30) -> None:
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout
        await pilot.pause(0.05)


async def test_tab_reaches_confirm_and_enter_runs_the_plan(tmp_path: Any) -> None:
    app = recorded_app("seed-outage", state_dir=str(tmp_path / "state"), planner=_planner)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("x")
        await _wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "cancel"
        await pilot.press("tab")
        assert app.focused is not None and app.focused.id == "confirm-ok"
        await pilot.press("shift+tab")
        assert app.focused is not None and app.focused.id == "cancel"
        await pilot.press("tab", "enter")
        await _wait_for(pilot, lambda: isinstance(app.screen, ProgressScreen))
