"""`python -m tui.screenshots DIR`: SVG screenshots of the cockpit in the states that matter.

Recorded lab-shaped data (blackstart.tui.demo_data) and a fixed clock make every file reproducible;
the SVG snapshot tests use the same STATES, so what is committed is what is tested.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from blackstart.checks.loops import run_on_own_loop
from blackstart.tui import demo_data
from blackstart.tui.app import BlackstartApp, build_app

Prep = Callable[[Pilot[Any]], Awaitable[None]]


@dataclass(frozen=True)
class State:
    name: str
    outage: bool
    size: tuple[int, int] = (120, 36)
    read_only: bool = False
    theme: str | None = None
    keys: tuple[str, ...] = ()


STATES = (
    State("healthy", outage=False),
    State("seed-outage", outage=True),
    State("restore-confirm", outage=True, keys=("R",)),
    State("read-only", outage=True, read_only=True),
    State("narrow-80x24", outage=True, size=(80, 24)),
    State("high-contrast", outage=True, theme="blackstart-high-contrast"),
)


def make_app(state: State) -> BlackstartApp:
    return build_app(demo_data.lab_cluster(), probes=demo_data.probes(state.outage),
                     clock=demo_data.clock, diagnose=demo_data.diagnose_fn(state.outage),
                     read_only=state.read_only, theme=state.theme, refresh_interval=3600.0,
                     planner=demo_data.recorded_planner)


def prepare(state: State) -> Prep:
    """Wait for every probe, press the state's keys, wait for dialogs; make it still."""

    async def run(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, BlackstartApp)
        await _until(pilot, lambda: set(app.probes) <= set(app.results) and not app.running)
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.2)
        for key in state.keys:
            await pilot.press(key)
            await _until(pilot, lambda: app.screen is not app.main)
        for box in app.screen.query(Input):
            box.cursor_blink = False
        app.clear_notifications()
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.2)

    return run


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
        print(run_on_own_loop(shoot(state, out)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
