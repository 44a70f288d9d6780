"""Helpers for the TUI tests: the app on recorded lab data, and waiting for it to settle."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from textual.pilot import Pilot
from tmuxnode import TmuxCockpit

from blackstart.tui.app import BlackstartApp
from screenshots import recorded_app


async def settle(pilot: Pilot[Any], timeout: float = 30.0,
                 names: set[str] | None = None) -> None:
    """Wait (bounded) until the named probes (default: all) reported and none of them runs."""
    app = pilot.app
    assert isinstance(app, BlackstartApp)
    want = set(app.probes) if names is None else names
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        done = set(app.results) | set(app.errors)
        if want <= done and not want & set(app.running):
            break
    else:
        raise AssertionError(f"probes did not settle in {timeout}s: running={app.running}")
    await pilot.pause()


@pytest.fixture
def make_recorded() -> Callable[..., BlackstartApp]:
    return recorded_app


@pytest.fixture
def cockpit_factory() -> Iterator[Callable[[Any], TmuxCockpit]]:
    """`make(lab)`: the cockpit in tmux inside master01 of `lab`; stopped after."""
    made: list[TmuxCockpit] = []

    def make(lab: Any) -> TmuxCockpit:
        c = TmuxCockpit(lab)
        made.append(c)
        return c

    yield make
    for c in made:
        c.stop()
