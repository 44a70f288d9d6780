"""Reading a member's WAL from this machine's disk: find the wal and snap dirs of a data
dir, stat and open the chosen segments (regular files only), and resume an earlier scan
when the segments it covered are unchanged but for growth of the last one. I/O failures
become an `unreadable` verdict naming the file; nothing here writes."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from blackstart.checks.formats.raft_snaps import newest_snap_index
from blackstart.checks.formats.regular import check_regular, open_regular
from blackstart.checks.formats.wal import scan_incremental
from blackstart.checks.formats.wal_scan import WalCheckpoint, WalScan
from blackstart.checks.formats.wal_segments import (
    BytesSegment,
    FdSegment,
    parse_segment_name,
    select_segments,
)


def member_dirs(path: str) -> tuple[str, str]:
    """(wal dir, snap dir) for a data dir, its member dir, or a wal dir."""
    for wal in (os.path.join(path, "member", "wal"), os.path.join(path, "wal")):
        if os.path.isdir(wal):
            return wal, os.path.join(os.path.dirname(wal), "snap")
    return path, os.path.join(os.path.dirname(path.rstrip("/")), "snap")


def scan_local_dir(path: str) -> WalScan:
    """Scan a WAL on this machine; I/O failures give state `unreadable` naming the file."""
    return scan_local_incremental(path)[0]


SegmentId = tuple[str, int, float, int]  # name, size, mtime, inode


def local_segment_ids(wal_dir: str, names: Iterable[str]) -> list[SegmentId]:
    """(name, size, mtime, inode) of each segment, by stat (raises for special files)."""
    out = []
    for n in names:
        st = check_regular(os.path.join(wal_dir, n))
        out.append((n, st.st_size, st.st_mtime, st.st_ino))
    return out


def scan_local_incremental(path: str, since: WalCheckpoint | None = None,
                           since_ids: Sequence[SegmentId] = ()
                           ) -> tuple[WalScan, WalCheckpoint | None, list[SegmentId]]:
    """`scan_local_dir`, resuming from `since` when the segments it covered (`since_ids`)
    are unchanged but for growth of the last one; also returns this scan's segment ids."""
    wal_dir, snap_dir = member_dirs(path)
    try:
        names = sorted(os.listdir(wal_dir))
    except FileNotFoundError:
        return WalScan("missing", f"{wal_dir}: no such directory"), None, []
    except OSError as exc:
        return WalScan("unreadable", f"{wal_dir}: {exc.strerror or exc}"), None, []
    snap_index = _local_snap_index(snap_dir)
    chosen = select_segments(names, snap_index)
    if isinstance(chosen, str):
        segs = [BytesSegment(n, b"") for n in names if parse_segment_name(n)]
        return scan_incremental(segs, snap_index)[0], None, []
    fds: list[int] = []
    try:
        ids = local_segment_ids(wal_dir, chosen)
        since = since if _unchanged_head(since, since_ids, ids) else None
        segments = []
        for name, size, _, _ in ids:
            fds.append(open_regular(os.path.join(wal_dir, name)))
            segments.append(FdSegment(name, fds[-1], size))
        scan, cp = scan_incremental(segments, snap_index, since)
        return scan, cp, ids
    except OSError as exc:
        return WalScan("unreadable", f"{exc.filename}: {exc.strerror or exc}"), None, []
    finally:
        for fd in fds:
            os.close(fd)


def _unchanged_head(since: WalCheckpoint | None, before: Sequence[SegmentId],
                    now: Sequence[SegmentId]) -> bool:
    """The files a checkpoint covered are the same files: all but the last unchanged, the
    last the same inode (it may have grown; its tail digest is checked on resume)."""
    if since is None or len(before) != len(since.files) or len(now) < len(before):
        return False
    *head, last = before
    return list(now[: len(head)]) == head and (now[len(head)][0], now[len(head)][3]) == (
        last[0], last[3])


def _local_snap_index(snap_dir: str) -> int | None:
    try:
        return newest_snap_index(os.listdir(snap_dir))
    except OSError:
        return None
