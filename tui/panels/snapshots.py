"""Snapshots: backup files and member databases one could restore from, the best one marked."""

from __future__ import annotations

import os
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from blackstart.checks.conclusions import Report
from blackstart.checks.model import Cluster
from blackstart.checks.probe_results import (
    BackupLocationState,
    DrillRecord,
    RestoreSource,
    SnapshotInfo,
)
from blackstart.checks.reasoning.backup_findings import last_drill
from blackstart.checks.requests import SourceRef
from blackstart.checks.severity import Severity
from blackstart.tui.formatting import human_age, human_size
from blackstart.tui.panels.base import Panel, Table, selected_key, sync_table

# status last: an invalid file's reason is the longest cell and may run past the edge
COLUMNS = ("", "node", "file", "revision", "loses", "age", "keys", "size", "status")
MARK = "★"
# the states of a file whose bytes were never judged (checks SnapshotInfo.state)
UNREAD = {"unknown": "not read", "missing": "missing"}
LOCATION_LINES = 3  # backup locations shown under the table (the rest: findings)


@dataclass(frozen=True)
class SourceRow:
    """One restorable thing: a snapshot file and, when ranked, what restoring it would lose."""

    node: str
    path: str
    kind: str
    snapshot: SnapshotInfo | None
    source: RestoreSource | None

    @property
    def key(self) -> str:
        return f"{self.node}:{self.path}"


def source_rows(report: Report) -> list[SourceRow]:
    """Ranked sources first, best on top (as diagnosis ranked them), then the rest."""
    files = {(s.node, s.path): s for s in [*report.snapshots, *report.member_dbs]}
    rows = [SourceRow(r.node, r.path, r.kind, files.pop((r.node, r.path), None), r)
            for r in report.restore_sources]
    rows += [SourceRow(s.node, s.path, s.kind, s, None) for s in files.values()]
    return rows


def snapshots_slice(report: Report) -> tuple[object, ...]:
    """Every part of the report this panel shows (with the clock, for the ages)."""
    return (report.snapshots, report.member_dbs, report.restore_sources, report.best_source,
            report.backups, report.drills)


class SnapshotsPanel(Panel):
    def __init__(self, cluster: Cluster) -> None:
        dirs = sum(len(n.backup_dirs) for n in cluster.nodes)
        super().__init__("Snapshots", f"Checking {dirs} backup dirs and member databases…",
                         id="snapshots")
        self._rows: dict[str, SourceRow] = {}
        self._best: str | None = None

    def compose(self) -> ComposeResult:
        yield self.status_widget()
        table = Table(id="snapshots-table")
        for col in COLUMNS:
            table.add_column(col, key=col or "mark")
        yield table
        yield Static("", id="backup-locations", markup=False)

    def show(self, report: Report, now: float) -> None:
        rows = source_rows(report)
        # starred only when the verdict recommends restoring from it
        best = report.best_source
        self._best = best.label() if best else None
        self._rows = {r.key: r for r in rows}
        sync_table(self.query_one(DataTable), {r.key: self._cells(r, now) for r in rows})
        self.set_status(_summary(rows, best, any(_valid(r) for r in rows)))
        self._show_locations(report, now)

    def _show_locations(self, report: Report, now: float) -> None:
        """One short line per configured backup location: its newest verified copy and its
        last drill (the proof that its copies restore); the table keeps the room."""
        drills = {loc.name: last_drill(report.drills, loc.name) for loc in report.backups}
        locs = sorted((loc for loc in report.backups if loc.configured),
                      key=lambda loc: _location_rank(loc, drills[loc.name], now))
        box = self.query_one("#backup-locations", Static)
        box.display = bool(locs)
        text = Text()
        for i, loc in enumerate(locs):
            if text:
                text.append("\n")
            if i == LOCATION_LINES - 1 and len(locs) > LOCATION_LINES:
                text.append(f"… {len(locs) - i} more locations (see the findings)",
                            style=self.dim_style())
                break
            text.append_text(self._location_line(loc, drills[loc.name], now))
        box.update(text)

    def _location_line(self, loc: BackupLocationState, drill: DrillRecord | None,
                       now: float) -> Text:
        line = Text(f"{loc.name}: ")
        if loc.error:
            line.append_text(self.styled(f"unreachable: {loc.error}", Severity.CRITICAL))
            return line
        newest = loc.newest_verified()
        line.append(f"newest {human_age(now - newest.mtime)} old" if newest
                    else "no verified copy")
        line.append(" · drill ")
        if drill is None:
            line.append_text(self.styled("never", Severity.WARNING))
        elif not drill.ok:
            line.append_text(self.styled(f"FAILED {human_age(now - drill.when)} ago",
                                         Severity.CRITICAL))
        else:
            late = now - drill.when > loc.drill_max_age_seconds
            line.append_text(self.styled(f"passed {human_age(now - drill.when)} ago",
                                         Severity.WARNING if late else Severity.OK))
        return line

    def _cells(self, r: SourceRow, now: float) -> list[Text]:
        s, src = r.snapshot, r.source
        valid = src.valid if src else bool(s and s.valid)
        marked = r.key == self._best
        return [
            self.styled(MARK if marked else "", Severity.OK),
            Text(r.node),
            Text("member db" if r.kind == "member-db" else os.path.basename(r.path)),
            Text(_num(src.revision if src else s.revision if s else None)),
            self._loss(src, valid, s),
            Text(human_age(now - s.mtime) if s and s.mtime else "-"),
            Text(_num(s.total_keys if s else None)),
            Text(human_size(s.size) if s else "-"),
            self._status(s, valid, src),
        ]

    def _loss(self, src: RestoreSource | None, valid: bool, s: SnapshotInfo | None) -> Text:
        """What restoring it would lose: revisions behind the newest seen anywhere."""
        if s is not None and s.pending:
            return self.styled("verifying…", Severity.INFO)
        if s is not None and s.state in UNREAD:
            return self.styled(UNREAD[s.state], Severity.WARNING)
        if not valid:
            return self.styled("INVALID", Severity.CRITICAL)
        if src is None or src.behind_revisions is None:
            return Text("-")
        if src.behind_revisions == 0:
            return self.styled("nothing known", Severity.OK)
        return self.styled(f"{src.behind_revisions:,} rev", Severity.WARNING)

    def _status(self, s: SnapshotInfo | None, valid: bool, src: RestoreSource | None) -> Text:
        if s is not None and s.pending:
            return self.styled("verifying…", Severity.INFO)
        if s is not None and s.state in UNREAD:  # no verdict on the bytes: say why
            return self.styled(f"{UNREAD[s.state]}: {s.error or 'no detail'}", Severity.WARNING)
        if not valid:
            reason = (s.error if s else None) or (src.reason if src else "") or "invalid"
            return self.styled(f"invalid: {reason}", Severity.CRITICAL)
        text = self.styled("verified", Severity.OK)
        if s is not None and s.sha256_ok is None:
            text.append(" (raw db: --skip-hash-check)", style=self.dim_style())
        if src and src.window and src.behind_revisions:
            text.append(f" · loses {src.window}")
        return text

    def selected_source(self) -> SourceRef | None:
        """The selected row's file on its own node (same paths on every node: a path alone
        names no file)."""
        key = selected_key(self.query_one(DataTable))
        row = self._rows.get(key) if key else None
        if row is None:
            return None
        member = row.source.member if row.source else row.snapshot.member if row.snapshot \
            else None
        return SourceRef(row.node, row.path, row.kind, member)


def _location_rank(loc: BackupLocationState, drill: DrillRecord | None, now: float) -> int:
    """Worst first, so that the lines shown are the ones that need a hand."""
    if loc.error:
        return 0
    if drill is None or not drill.ok:
        return 1
    return 2 if now - drill.when > loc.drill_max_age_seconds else 3


def _valid(r: SourceRow) -> bool:
    return r.source.valid if r.source else bool(r.snapshot and r.snapshot.valid)


def _summary(rows: list[SourceRow], best: SourceRef | None, any_valid: bool) -> str:
    if not rows:
        return "No snapshots found in the backup dirs."
    if not any_valid:
        return f"{len(rows)} found, none valid: no safe restore source."
    if best is None:
        return f"{len(rows)} found; no restore is recommended (see the verdict's strategies)."
    what = "member db" if best.kind == "member-db" else os.path.basename(best.path)
    return f"{MARK} recommended: {best.node} {what}"


def _num(n: int | None) -> str:
    return "-" if n is None else str(n)
