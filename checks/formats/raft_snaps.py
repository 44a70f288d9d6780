"""The raft snapshots in a member's `member/snap` dir (`<term>-<index>.snap`, and the
`<index>.snap.db` etcd 3.5 may leave beside them): the newest index, and the startup
failure a .snap ahead of the db predicts. Not to be confused with `snapshot_file`, which
verifies an etcdctl snapshot db."""

from __future__ import annotations

import re
from collections.abc import Iterable

SNAP_RE = re.compile(r"^([0-9a-f]{16})-([0-9a-f]{16})\.snap$")


def newest_snap_index(names: Iterable[str]) -> int | None:
    """The raft index of the newest `member/snap/<term>-<index>.snap`, if any."""
    found = [(int(m.group(1), 16), int(m.group(2), 16)) for n in names if (m := SNAP_RE.match(n))]
    return max(found)[1] if found else None


def snap_db_problem(snap_names: Iterable[str], consistent_index: int | None,
                    wal_snapshots: Iterable[tuple[int, int]] | None = None) -> str | None:
    """Predict etcd's `failed to find database snapshot file`: the newest .snap etcd will
    load is ahead of the db's consistent_index and no `<index>.snap.db` came with it.

    etcd only loads a .snap that the WAL also records (LoadNewestAvailable), so with the
    WAL's snapshot records (index, term) known, other .snap files are ignored."""
    names = list(snap_names)
    snaps = [(int(m.group(2), 16), int(m.group(1), 16)) for n in names
             if (m := SNAP_RE.match(n))]
    if wal_snapshots is not None:
        known = set(wal_snapshots)
        snaps = [s for s in snaps if s in known]
    if not snaps or consistent_index is None:
        return None
    newest = max(snaps)[0]
    if newest <= consistent_index or f"{newest:016x}.snap.db" in names:
        return None
    return (f"newest .snap is at index {newest} but member/snap/db consistent_index is "
            f"{consistent_index} and no {newest:016x}.snap.db exists: etcd will fail with "
            f"'failed to find database snapshot file'")
