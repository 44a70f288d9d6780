"""SVG snapshots of the cockpit: recorded probe results of a real lab, through the real
diagnosis, with the recording's clock, no blink.

The same states as `make screenshots`; update with `pytest --snapshot-update` after
looking at the new pictures."""

from __future__ import annotations

from typing import Any

import pytest

from screenshots import STATES, make_app, prepare


@pytest.mark.parametrize("state", STATES, ids=[s.name for s in STATES])
def test_snapshot(snap_compare: Any, state: Any) -> None:
    assert snap_compare(make_app(state), terminal_size=state.size,
                        run_before=prepare(state))
