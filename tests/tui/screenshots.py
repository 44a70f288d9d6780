"""The cockpit on recorded lab data: for the SVG snapshot tests and `make screenshots`.

    .venv/bin/python tests/tui/screenshots.py screenshots     # = make screenshots

The recordings under tests/data/recorded/ are what every probe returned against a real
lab (recorded by tests/data/recorded/record.py). Replayed here they go through the real
`assemble_report` and `diagnose`, with the recording's own clock, so each picture shows
what blackstart says about that lab, and the same input always gives the same picture.
Nothing here writes a finding: the only hand-made parts are which recording a state
shows, its terminal size, theme and keys.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from blackstart.checks.conclusions import Report
from blackstart.checks.model import Cluster
from blackstart.checks.probes.context import ProbeContext
from blackstart.checks.recording import Recording, recording_from_json
from blackstart.checks.requests import Request, Restore
from blackstart.runbook.plan import Plan
from blackstart.runbook.preflight import PlanRefused
from blackstart.tui.app import BlackstartApp, build_app
from blackstart.tui.plans import PlanView
from blackstart.tui.probing import Probe

RECORDED = Path(__file__).resolve().parent.parent / "data" / "recorded"
SCENARIOS = ("healthy", "seed-outage", "power-back")

Prep = Callable[[Pilot[Any]], Awaitable[None]]


class RecordedProbeError(Exception):
    """A probe that failed when the lab was recorded fails the same way when replayed."""


@cache
def recording(scenario: str) -> Recording:
    path = RECORDED / f"{scenario}.json"
    return recording_from_json(json.loads(path.read_text(encoding="utf-8")))


def cluster(scenario: str, state_dir: str | None = None) -> Cluster:
    """The recorded lab's model; `state_dir` moves where exports and journals go."""
    model = recording(scenario).cluster
    return model if state_dir is None else dataclasses.replace(model, state_dir=state_dir)


def _replay(name: str, items: list[Any], error: str | None) -> Probe:
    async def probe(ctx: ProbeContext) -> list[Any]:
        if error is not None:
            raise RecordedProbeError(error)
        return copy.deepcopy(items)  # each run its own objects, as from a real probe

    probe.__name__ = f"recorded_{name}"
    return probe


def probes(scenario: str) -> dict[str, Probe]:
    """One probe per recorded probe name, returning what it returned then."""
    rec = recording(scenario)
    names = list(rec.results) + [n for n in rec.errors if n not in rec.results]
    return {n: _replay(n, rec.results.get(n, []), rec.errors.get(n)) for n in names}


def clock(scenario: str) -> Callable[[], float]:
    taken = recording(scenario).taken_at
    return lambda: taken


def recorded_planner(request: Request, cluster: Cluster, report: Report | None) -> PlanView:
    """The runbook's real restore plan for the seed outage, as planned on the live lab."""
    path = RECORDED / "seed-outage.restore-plan.json"
    if not isinstance(request, Restore):
        raise PlanRefused(f"no recorded {request.name} plan (only {path.name})")
    plan = Plan.from_json(json.loads(path.read_text(encoding="utf-8")))
    return PlanView.of(request.name, plan)


def recorded_app(scenario: str = "seed-outage", **kw: Any) -> BlackstartApp:
    """The app on a recording, with the recording's clock (deterministic)."""
    kw.setdefault("refresh_interval", 3600.0)
    kw.setdefault("planner", recorded_planner)
    kw.setdefault("probes", probes(scenario))
    state_dir = kw.pop("state_dir", None)
    return build_app(cluster(scenario, state_dir), clock=clock(scenario), **kw)


@dataclass(frozen=True)
class State:
    name: str
    scenario: str
    size: tuple[int, int] = (120, 36)
    read_only: bool = False
    theme: str | None = None
    keys: tuple[str, ...] = ()
    setup: str = ""  # a function of this module that puts the app in the state


STATES = (
    State("healthy", "healthy"),
    State("seed-outage", "seed-outage"),
    State("power-back", "power-back"),
    State("restore-confirm", "seed-outage", keys=("R",)),
    State("read-only", "seed-outage", read_only=True),
    State("narrow-80x24", "seed-outage", size=(80, 24)),
    State("high-contrast", "power-back", theme="blackstart-high-contrast"),
    State("help", "seed-outage", keys=("question_mark",)),
    State("member-detail", "seed-outage", setup="member_detail"),
    State("confirm-80x24", "seed-outage", size=(80, 24), keys=("R",)),
    State("progress-mid-restore", "seed-outage", setup="mid_restore"),
    State("logs-view", "seed-outage", size=(140, 36), keys=("l",)),
)


def make_app(state: State) -> BlackstartApp:
    return recorded_app(state.scenario, read_only=state.read_only, theme=state.theme)


def prepare(state: State) -> Prep:
    """Wait for every probe, press the state's keys, wait for dialogs; make it still."""

    async def run(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, BlackstartApp)
        await _until(pilot, lambda: set(app.probes) <= set(app.results) | set(app.errors)
                     and not app.running)
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.2)
        # Toasts ("Planning restore…") are transient and race the dialog: keep them out.
        app.notify = _no_toast  # type: ignore[method-assign]
        for key in state.keys:
            await pilot.press(key)
        if state.keys:
            await _until(pilot, lambda: app.screen is not app.main)
        if state.setup:
            await globals()[state.setup](app)
            await _until(pilot, lambda: app.screen is not app.main)
        for box in app.screen.query(Input):
            box.cursor_blink = False
        app.clear_notifications()
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.2)

    return run


def _no_toast(*_: Any, **__: Any) -> None:
    return None


async def _until(pilot: Pilot[Any], cond: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not reach the state in time")
        await pilot.pause(0.05)
    await pilot.pause()


async def shoot(state: State, out: Path) -> Path:
    app = make_app(state)
    path = out / f"{state.name}.svg"
    async with app.run_test(size=state.size) as pilot:
        await prepare(state)(pilot)
        app.save_screenshot(filename=path.name, path=str(out))
    return path


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    for state in STATES:
        print(asyncio.run(shoot(state, out)))
    return 0


async def member_detail(app: BlackstartApp) -> None:
    """Enter on etcd1's row: its detail, every fact uncut."""
    from textual.widgets import DataTable

    table = app.main.query_one("#members-table", DataTable)
    table.focus()
    table.move_cursor(row=0)
    app._open_detail("members")


async def mid_restore(app: BlackstartApp) -> None:
    """The progress screen of the recorded restore plan, 12 steps in, the 12th running
    for 3.1 s (a fixed clock and the executor's own event type: no lab is touched)."""
    from blackstart.checks.requests import BestSource
    from blackstart.runbook.runner import StepEvent
    from blackstart.tui.screens.progress import ProgressScreen

    view = recorded_planner(Restore(BestSource()), app.cluster, app.report)
    now = [1000.0]
    screen = ProgressScreen(view, clock=lambda: now[0])
    await app.push_screen(screen)
    steps = view.plan.steps
    for i in range(min(11, len(steps) - 1)):
        screen.step_event(StepEvent(view.plan.id, i, steps[i], "running"))
        now[0] += 0.4 + 0.1 * (i % 4)
        screen.step_event(StepEvent(view.plan.id, i, steps[i], "ok"))
        screen.step_event(StepEvent(view.plan.id, i, steps[i], "output", f"{steps[i].title}: ok"))
    i = min(11, len(steps) - 1)
    screen.step_event(StepEvent(view.plan.id, i, steps[i], "running"))
    now[0] += 3.1
    screen._tick()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

