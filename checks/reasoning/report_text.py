"""The readable report `blackstart check` prints: verdict first, then what to do, then the
evidence tables. Plain text (no colour codes), so it pastes into a ticket or a chat."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Sequence

from blackstart.checks.conclusions import Finding, Report
from blackstart.checks.probe_results import SnapshotInfo
from blackstart.checks.reasoning.sources import ago
from blackstart.checks.severity import Severity

WIDTH = 100


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return ["  " + fmt.format(*headers).rstrip()] + ["  " + fmt.format(*r).rstrip() for r in rows]


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent) or [indent]


def _opt(v: object, fmt: str = "{}") -> str:
    return "-" if v is None else fmt.format(v)


def _size(n: float | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def _header(r: Report) -> list[str]:
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(r.taken_at))
    return [f"blackstart check: cluster {r.cluster}, {when}", "",
            *_wrap(f"{r.verdict.level.label.upper()}: {r.verdict.summary}", ""), ""]


def _steps(r: Report) -> list[str]:
    out = ["Next steps"]
    for i, step in enumerate(r.verdict.next_steps, 1):
        out += textwrap.wrap(step, WIDTH, initial_indent=f"  {i}. ", subsequent_indent="     ")
    return out + [""]


def _finding(f: Finding) -> list[str]:
    out = textwrap.wrap(f"{f.severity.label.upper():<8} {f.seen}", WIDTH, initial_indent="  ",
                        subsequent_indent="           ")
    out += [line for e in f.evidence for line in _wrap(e, "           ")]
    if f.remedy:
        out += _wrap(f"fix: {f.remedy}", "           ")
    return out


def _findings(r: Report) -> list[str]:
    shown = [f for f in r.findings if f.severity > Severity.OK]
    out = ["Findings"] + [line for f in shown for line in _finding(f)]
    return (out if shown else out + ["  none"]) + [""]


def _members(r: Report) -> list[str]:
    rows = [[m.name, m.endpoint, "healthy" if m.healthy else (m.error_class or "unhealthy"),
             "yes" if m.leader else "", _opt(m.version), _opt(m.revision, "{:,}"),
             _size(m.db_size), ",".join(m.alarms)] for m in r.members]
    head = ["NAME", "ENDPOINT", "STATE", "LEADER", "VERSION", "REVISION", "DB", "ALARMS"]
    return ["Members", *(_table(head, rows) if rows else ["  not probed"]), ""]


def _certs(r: Report) -> list[str]:
    rows = []
    for c in r.certificates:
        left = "-" if c.not_after is None else ago(r.taken_at - c.not_after).replace(
            " ago", " ago (expired)")
        rows.append([c.node, c.role, c.path, left, ",".join(c.problems) or (c.error or "ok")])
    head = ["NODE", "ROLE", "PATH", "EXPIRES", "PROBLEMS"]
    return ["Certificates", *(_table(head, rows) if rows else ["  none checked"]), ""]


def _snapshots(r: Report) -> list[str]:
    rows = [[s.node, s.path, _snapshot_state(s),
             _opt(s.revision, "{:,}"), _opt(s.total_keys, "{:,}"), _size(s.size),
             ago(r.taken_at - s.mtime) if s.mtime else "-"]
            for s in sorted(r.snapshots, key=lambda s: -s.mtime) if s.kind == "backup"]
    head = ["NODE", "PATH", "STATE", "REVISION", "KEYS", "SIZE", "AGE"]
    return ["Backup snapshots", *(_table(head, rows) if rows else ["  none found"]), ""]


def _snapshot_state(s: SnapshotInfo) -> str:
    """Only a file that was read and judged is valid or invalid."""
    return {"ok": "valid", "bad": "INVALID (see findings)", "missing": "missing"}.get(
        s.state, "not read" if not s.pending else "verifying")


def _sources(r: Report) -> list[str]:
    rows = [["*" if s.recommended else "", s.kind, s.member or s.node, s.path,
             "valid" if s.valid else "invalid", _opt(s.revision, "{:,}"),
             _opt(s.behind_revisions, "{:,}"), s.window or "-"] for s in r.restore_sources]
    head = ["", "KIND", "WHERE", "PATH", "STATE", "REVISION", "BEHIND", "WOULD LOSE"]
    out = ["Restore sources (best first)", *(_table(head, rows) if rows else ["  none"])]
    top = next((s for s in r.restore_sources if s.recommended), None)
    return out + (_wrap(f"* {top.reason}", "  ") if top else []) + [""]


def _wal(r: Report) -> list[str]:
    rows = [[w.member, w.state, _opt(w.last_index, "{:,}"), _opt(w.snap_index, "{:,}"),
             _opt(w.consistent_index, "{:,}"), w.path] for w in r.wal]
    head = ["MEMBER", "WAL", "LAST INDEX", "SNAP INDEX", "CONSISTENT INDEX", "PATH"]
    return ["Write-ahead logs", *(_table(head, rows) if rows else ["  not probed"]), ""]


def render(report: Report) -> str:
    """The whole readable report, ages relative to the moment it was taken."""
    parts = (_header, _steps, _findings, _members, _certs, _snapshots, _sources, _wal)
    return "\n".join(line for part in parts for line in part(report)).rstrip() + "\n"
