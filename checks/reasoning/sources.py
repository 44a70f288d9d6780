"""Rank every place a cluster could be restored from (issue 6), newest intact data first.

Candidates are the verified backup snapshots on every node and each member's own
`member/snap/db`. The top valid one is recommended; invalid ones are listed so the
operator sees them, but never recommended. Pure: plain data in, plain data out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from blackstart.checks.probe_results import MemberState, RestoreSource, SnapshotInfo, WalState

_DB_SUFFIX = "/member/snap/db"
_WAL_SUFFIX = "/member/wal"


def human_duration(seconds: float) -> str:
    """'45 s', '12 min', '5 h', '3 days': coarse on purpose, operators read it at a glance."""
    s = abs(seconds)
    if s < 90:
        return f"{int(s)} s"
    if s < 90 * 60:
        return f"{round(s / 60)} min"
    if s < 48 * 3600:
        return f"{round(s / 3600)} h"
    return f"{round(s / 86400)} days"


def ago(seconds: float) -> str:
    """'3 days ago' for a past moment, 'in 2 h' for a future one."""
    return f"{human_duration(seconds)} ago" if seconds >= 0 else f"in {human_duration(seconds)}"


@dataclass(frozen=True)
class _Newest:
    """The newest revision seen anywhere, and what saw it (for the reason sentence)."""

    revision: int | None
    write_time: float | None  # newest on-disk write we can date (a member db's mtime)


def _data_dir_of(path: str) -> str:
    for suffix in (_DB_SUFFIX, _WAL_SUFFIX):
        if path.rstrip("/").endswith(suffix):
            return path.rstrip("/")[: -len(suffix)]
    return path


def wal_for_db(db: SnapshotInfo, wal: Sequence[WalState]) -> WalState | None:
    """The WAL beside a member db: same node, same data dir (or the node's only WAL)."""
    same_node = [w for w in wal if w.node == db.node]
    for w in same_node:
        if _data_dir_of(w.path) == _data_dir_of(db.path):
            return w
    return same_node[0] if len(same_node) == 1 else None


def _wal_revision_estimate(db: SnapshotInfo, w: WalState | None) -> int | None:
    """Entries in the WAL past the db's consistent_index are writes the db does not hold yet.

    A raft entry is not exactly one revision (conf changes, leases), so this is an upper
    estimate; it is what etcd would replay on a restart.
    """
    if w is None or w.last_index is None or db.revision is None or db.consistent_index is None:
        return None
    return db.revision + max(0, w.last_index - db.consistent_index)


def _newest(
    snapshots: Iterable[SnapshotInfo],
    member_dbs: Sequence[SnapshotInfo],
    wal: Sequence[WalState],
    members: Iterable[MemberState],
) -> _Newest:
    revs = [s.revision for s in snapshots if s.valid and s.revision is not None]
    revs += [d.revision for d in member_dbs if d.valid and d.revision is not None]
    revs += [m.revision for m in members if m.revision is not None]
    for d in member_dbs:
        est = _wal_revision_estimate(d, wal_for_db(d, wal)) if d.valid else None
        if est is not None:
            revs.append(est)
    times = [d.mtime for d in member_dbs if d.mtime]
    return _Newest(max(revs) if revs else None, max(times) if times else None)


def _member_of(db: SnapshotInfo, wal: Sequence[WalState]) -> str | None:
    w = wal_for_db(db, wal)
    return w.member if w is not None else None


def _window(src: SnapshotInfo, newest: _Newest, w: WalState | None,
            behind: int | None) -> str | None:
    """How much time restoring from `src` loses, when it can be told."""
    if src.kind == "member-db":
        if w is not None and w.state == "corrupt":
            # entries past the damage cannot be read: the readable tail is a lower bound
            seen = (f"at least the last {w.last_index - src.consistent_index:,} raft entries"
                    if w.last_index is not None and src.consistent_index is not None
                    and w.last_index > src.consistent_index else "an unknown number of entries")
            return f"{seen} of its corrupt WAL (past the damage nothing can be read)"
        if w is not None and w.last_index is not None and src.consistent_index is not None:
            extra = w.last_index - src.consistent_index
            if extra > 0:
                return f"the last {extra:,} raft entries in its WAL (not yet in the db)"
            return "nothing known: its WAL holds no entries past the db"
        return None
    if newest.write_time is not None and src.mtime:
        gap = newest.write_time - src.mtime
        if gap < 60:  # mtimes are seconds apart even when nothing was written in between
            return "under a minute of writes" if behind else "none known"
        return f"about {human_duration(gap)} of writes"
    return None


def _to_source(src: SnapshotInfo, newest: _Newest, wal: Sequence[WalState]) -> RestoreSource:
    w = wal_for_db(src, wal) if src.kind == "member-db" else None
    behind = None
    if src.valid and src.revision is not None and newest.revision is not None:
        behind = max(0, newest.revision - src.revision)
    return RestoreSource(
        kind=src.kind,
        node=src.node,
        path=src.path,
        valid=src.valid,
        revision=src.revision,
        behind_revisions=behind,
        window=_window(src, newest, w, behind) if src.valid else None,
        member=_member_of(src, wal) if src.kind == "member-db" else None,
        reason="" if src.valid else _not_valid_reason(src),
    )


def _not_valid_reason(src: SnapshotInfo) -> str:
    if src.pending:
        return "still being verified"
    if src.state == "unknown":
        return f"not verified: {src.error or 'could not be read'}"
    return f"invalid: {src.error or 'failed verification'}"


def _rank_key(s: RestoreSource, mtimes: dict[str, float]) -> tuple[int, int, int, float]:
    # Valid first; then newest revision; at equal revision a backup wins because its
    # sha256 is verified, while a raw member db needs --skip-hash-check.
    return (
        0 if s.valid else 1,
        -(s.revision if s.revision is not None else -1),
        0 if s.kind == "backup" else 1,
        -mtimes.get(s.path, 0.0),
    )


def _label(s: RestoreSource) -> str:
    if s.kind == "member-db":
        return f"{s.member or s.node}'s own database"
    return f"backup {s.path} on {s.node}"


def _reason(top: RestoreSource, ranked: Sequence[RestoreSource]) -> str:
    backups = [s for s in ranked if s.valid and s.kind == "backup" and s is not top]
    rev = top.revision if top.revision is not None else 0
    if top.kind == "member-db":
        if backups and backups[0].revision is not None:
            lead = rev - backups[0].revision
            return f"{_label(top)} is {lead:,} revisions newer than the newest backup."
        return f"{_label(top)} holds the newest intact data (revision {rev:,}); no valid backup."
    if top.behind_revisions:
        return (f"{_label(top)} is the newest intact copy (revision {rev:,}), "
                f"{top.behind_revisions:,} revisions behind the newest seen.")
    return f"{_label(top)} is the newest intact copy (revision {rev:,})."


def _unique(items: Iterable[SnapshotInfo]) -> list[SnapshotInfo]:
    seen: dict[tuple[str, str], SnapshotInfo] = {}
    for s in items:
        seen.setdefault((s.node, s.path), s)
    return list(seen.values())


def rank_sources(
    snapshots: Sequence[SnapshotInfo],
    member_dbs: Sequence[SnapshotInfo],
    wal: Sequence[WalState],
    members: Sequence[MemberState],
    now: float | None = None,
) -> list[RestoreSource]:
    """Every restore candidate, best first; the first valid one is `recommended`.

    `now` is accepted for callers that want ages; ranking itself does not depend on it.
    """
    del now  # ranking is by revision; ages are the caller's (diagnosis) to tell
    backups = _unique(s for s in snapshots if s.kind == "backup")
    dbs = _unique([*member_dbs, *(s for s in snapshots if s.kind == "member-db")])
    newest = _newest(backups, dbs, wal, members)
    mtimes = {s.path: s.mtime for s in [*backups, *dbs]}
    ranked = [_to_source(s, newest, wal) for s in [*backups, *dbs]]
    ranked.sort(key=lambda s: _rank_key(s, mtimes))
    if ranked and ranked[0].valid:
        ranked[0].recommended = True
        ranked[0].reason = _reason(ranked[0], ranked)
    return ranked


def recommended(sources: Sequence[RestoreSource]) -> RestoreSource | None:
    return next((s for s in sources if s.recommended), None)
