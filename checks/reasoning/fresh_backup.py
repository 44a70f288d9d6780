"""After a recovery, a backup taken since: until one exists, say so. Pure.

A restore bumps the revision and a member replacement changes the membership: every backup
older than the recovery holds the cluster as it was before it, and restoring one of them
would undo the night's work. So the last finished recovery (from the journals, see
checks.probes.recoveries) stands against the newest backup: local backup files that
verified, and copies in the backup locations that verified.
"""

from __future__ import annotations

import time

from blackstart.checks.conclusions import Finding, Report
from blackstart.checks.probe_results import Recovery
from blackstart.checks.reasoning.sources import human_duration
from blackstart.checks.requests import SnapshotSave
from blackstart.checks.severity import Severity

CODE = "backup-predates-recovery"


def fresh_backup_findings(report: Report, now: float, quorum_held: bool) -> list[Finding]:
    if not report.recoveries:
        return []
    last = max(report.recoveries, key=lambda r: r.finished)
    newest = _newest_backup(report)
    if newest is not None and newest > last.finished:
        return []
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(last.finished))
    older = ("no backup exists" if newest is None else
             f"the newest backup is {human_duration(last.finished - newest)} older than it")
    return [Finding(
        Severity.WARNING, CODE, "backups",
        f"No backup since the {_what(last)} finished at {when} "
        f"({human_duration(now - last.finished)} ago): {older}.",
        [f"journal {last.plan_id}: {last.title}" if last.title else f"journal {last.plan_id}"],
        "Take a fresh snapshot now: restoring an older one would undo the recovery.",
        SnapshotSave() if quorum_held else None)]


def _what(r: Recovery) -> str:
    return {"replace-member": "member replacement"}.get(r.action, r.action)


def _newest_backup(report: Report) -> float | None:
    """The mtime of the newest backup known good (a local file or a location's copy)."""
    times = [s.mtime for s in report.snapshots if s.kind == "backup" and s.state == "ok"]
    times += [c.mtime for loc in report.backups for c in loc.copies if c.state == "verified"]
    return max(times, default=None)
