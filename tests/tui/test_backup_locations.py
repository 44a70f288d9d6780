"""Issue 17 in the cockpit: the Snapshots panel names each configured backup location with
its newest verified copy and its last drill (passed, failed, never, too old)."""

from __future__ import annotations

from typing import Any

from conftest import settle

from blackstart.checks.probe_results import BackupCopy, BackupLocationState, DrillRecord
from blackstart.checks.probes.context import ProbeContext
from screenshots import clock, probes
from screenshots import recorded_app as _recorded_app

NOW = clock("healthy")()
HOUR, DAY = 3600.0, 86400.0


def _copy(loc: str, age: float) -> BackupCopy:
    return BackupCopy(loc, f"snap-{age:.0f}.db", f"{loc}/snap-{age:.0f}.db", 2_000_032,
                      NOW - age, "verified")


LOCATIONS = [
    BackupLocationState("s3-offsite", "s3", "offsite", [_copy("s3-offsite", 2 * HOUR)]),
    BackupLocationState("nas", "dir", "node:nas", [_copy("nas", HOUR)]),
    BackupLocationState("old-nfs", "dir", "node:nfs", [_copy("old-nfs", HOUR)],
                        drill_max_age_seconds=7 * DAY),
    BackupLocationState("never", "dir", "node:x", [_copy("never", HOUR)]),
    BackupLocationState("gone", "s3", "offsite", error="EndpointConnectionError: [markup]"),
]
DRILLS = [
    DrillRecord("s3-offsite", "snap-7200.db", NOW - 3 * HOUR, True, 41.0),
    DrillRecord("nas", "snap-1.db", NOW - 2 * DAY, True, 12.0),
    DrillRecord("nas", "snap-2.db", NOW - DAY, False, 3.0, "restore: exit 2"),  # the last
    DrillRecord("old-nfs", "snap-3.db", NOW - 9 * DAY, True, 20.0),
]


def _fixed(items: list[Any]) -> Any:
    async def probe(ctx: ProbeContext) -> list[Any]:
        return list(items)

    return probe


async def test_snapshots_panel_shows_last_drill_per_location() -> None:
    table = {**probes("healthy"), "backups": _fixed(LOCATIONS), "drills": _fixed(DRILLS)}
    app = _recorded_app("healthy", probes=table)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        box = app.main.query_one("#backup-locations")
        assert box.display
        lines = str(box.render()).splitlines()
        # worst first: the unreachable one, then a failed drill (the newest drill counts,
        # not the older pass); the passing ones are left to the findings
        assert lines == ["gone: unreachable: EndpointConnectionError: [markup]",
                         "nas: newest 1h00m old · drill FAILED 1d0h ago",
                         "… 3 more locations (see the findings)"]


async def test_each_kind_of_drill_state_has_its_words() -> None:
    table = {**probes("healthy"), "backups": _fixed([LOCATIONS[0], LOCATIONS[2], LOCATIONS[3]]),
             "drills": _fixed(DRILLS)}
    app = _recorded_app("healthy", probes=table)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        lines = str(app.main.query_one("#backup-locations").render()).splitlines()
        assert lines == ["never: newest 1h00m old · drill never",
                         "old-nfs: newest 1h00m old · drill passed 9d0h ago",  # too old
                         "s3-offsite: newest 2h00m old · drill passed 3h00m ago"]


async def test_no_configured_location_shows_no_line() -> None:
    app = _recorded_app("healthy")  # only the nodes' own backup dirs (not configured)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert not app.main.query_one("#backup-locations").display
