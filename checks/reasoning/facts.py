"""What the report knows about each member: healthy, intact, lost (with evidence) or
unknown (with why). Shared by diagnosis and the strategies; pure.

Down is not lost and unknown is not corrupt: a member is *lost* only on evidence (a
corrupt WAL, a db that fails verification, a db or WAL missing from a node that was
read); a member on a node blackstart cannot read is *unknown*.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from blackstart.checks.conclusions import Quorum, Report
from blackstart.checks.probe_results import SnapshotInfo, WalState
from blackstart.checks.reasoning.sources import wal_for_db

HEALTHY, INTACT, LOST, UNKNOWN = "healthy", "intact", "lost", "unknown"


@dataclass(frozen=True)
class MemberFact:
    name: str
    status: str  # healthy | intact | lost | unknown
    why: str = ""  # the evidence (lost) or the reason it is not known (unknown)


def member_names(report: Report) -> list[str]:
    return report.expected_members or [m.name for m in report.members]


def quorum_of(report: Report) -> Quorum:
    return Quorum.of(report.members, report.expected_members)


def member_dbs(report: Report) -> list[SnapshotInfo]:
    return report.member_dbs + [s for s in report.snapshots if s.kind == "member-db"]


def db_of(report: Report, member: str) -> SnapshotInfo | None:
    """The member's own db: by the member the probe named, else the db beside its WAL."""
    dbs = member_dbs(report)
    named = next((d for d in dbs if d.member == member), None)
    if named is not None:
        return named
    wal = next((w for w in report.wal if w.member == member), None)
    return next((d for d in dbs if d.member is None and wal is not None
                 and wal_for_db(d, report.wal) is wal), None)


def node_of(report: Report, member: str) -> str | None:
    """The node a member lives on, as the probes saw it (its WAL, db or certificates)."""
    for w in report.wal:
        if w.member == member:
            return w.node
    for d in member_dbs(report):
        if d.member == member:
            return d.node
    return next((c.node for c in report.certificates if c.member == member), None)


def snap_ahead(w: WalState, dbs: Sequence[SnapshotInfo], wal: Sequence[WalState]) -> int | None:
    """The db consistent_index when the newest .snap is past it (etcd would refuse to start)."""
    ci = w.consistent_index
    if ci is None:
        db = next((d for d in dbs if wal_for_db(d, wal) is w), None)
        ci = db.consistent_index if db is not None else None
    if w.snap_index is not None and ci is not None and w.snap_index > ci:
        return ci
    return None


def lost_members(report: Report) -> dict[str, str]:
    """Members whose own data cannot come back by a restart (ETCD_FACTS §3 "member is lost"),
    each with the evidence. Only evidence counts: unknown is never lost."""
    healthy = {m.name for m in report.members if m.healthy}
    dbs = member_dbs(report)
    lost: dict[str, str] = {}
    for w in report.wal:
        if w.member in healthy:
            continue
        if w.state == "corrupt":
            lost[w.member] = f"its WAL is corrupt ({w.detail or w.path})"
        elif (ci := snap_ahead(w, dbs, report.wal)) is not None:
            lost[w.member] = f"newest .snap index {w.snap_index} is past the db's {ci}"
    for name in member_names(report):
        if name in healthy or name in lost:
            continue
        why = _db_evidence(report, name)
        if why:
            lost[name] = why
    return lost


def _db_evidence(report: Report, member: str) -> str | None:
    d = db_of(report, member)
    w = next((x for x in report.wal if x.member == member), None)
    if d is not None and d.state == "bad":
        return f"its database {d.path} is corrupt ({d.error})"
    if d is not None and d.state == "missing" and w is not None and w.state in ("ok",
                                                                               "torn-tail"):
        return f"its database {d.path} is missing beside an existing WAL"
    if w is not None and w.state == "missing" and (d is None or d.state == "missing"):
        return f"its data dir holds no WAL and no database ({w.path})"
    return None


def member_facts(report: Report) -> dict[str, MemberFact]:
    """Every expected member's status, in inventory order."""
    healthy = {m.name for m in report.members if m.healthy}
    lost = lost_members(report)
    out: dict[str, MemberFact] = {}
    for name in member_names(report):
        if name in healthy:
            out[name] = MemberFact(name, HEALTHY)
        elif name in lost:
            out[name] = MemberFact(name, LOST, lost[name])
        else:
            why = _unknown_why(report, name)
            out[name] = MemberFact(name, UNKNOWN, why) if why else MemberFact(name, INTACT)
    return out


def _unknown_why(report: Report, member: str) -> str | None:
    """Why a down member's data is not known to be intact ("" / None: it is known)."""
    w = next((x for x in report.wal if x.member == member), None)
    if w is None:
        return "its WAL was not read"
    if w.state in ("ok", "torn-tail"):
        d = db_of(report, member)
        if d is not None and d.state == "unknown":
            return f"its database could not be read: {d.error or 'not read yet'}"
        return None
    return f"its WAL could not be read: {w.detail or w.state}"
