"""What a WAL scan says: the `WalScan` verdict (ok | torn-tail | corrupt | missing |
unreadable) with the figures read on the way, and the `WalCheckpoint` a clean scan leaves
so that the next one decodes only what was appended since."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class WalScan:
    state: str  # ok | torn-tail | corrupt | missing | unreadable
    detail: str = ""
    files: list[str] = field(default_factory=list)
    records: int = 0
    entries: int = 0
    first_index: int | None = None
    last_index: int | None = None
    last_term: int | None = None
    commit: int | None = None
    vote: int | None = None
    term: int | None = None  # HardState term
    snap_index: int | None = None  # index of the last snapshot record
    snapshots: list[tuple[int, int]] = field(default_factory=list)  # (index, term) records
    node_id: int | None = None
    cluster_id: int | None = None
    error_file: str | None = None
    error_offset: int | None = None  # where the bad record starts (its frame)
    valid_end: int | None = None  # where etcd's repair would cut the last file

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WalCheckpoint:
    """Where a clean scan ended, to resume there when only bytes were appended since:
    the chosen files, the end of records in the last one, the rolling CRC, the digest of
    the TAIL bytes before that end, and the scan's figures at that point."""

    files: tuple[str, ...]
    offset: int
    crc: int
    tail: str
    scan: WalScan
