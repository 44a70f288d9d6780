"""What `read_db` reports about a bbolt file: the `DbSummary` with etcdutl's figures
(hash, total keys, revision), etcd's consistent index and term, the buckets, and every
structural error found with the page it was found on."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DbSummary:
    """What `read_db` found. `errors` empty means the structure checks passed."""

    size: int = 0  # bytes available to the reader (file size, or body size)
    page_size: int = 0
    pgid: int = 0  # high-water mark
    txid: int = 0
    meta_page: int | None = None
    total_size: int = 0  # pgid * page_size (etcdutl TOTAL SIZE)
    buckets: dict[str, int] = field(default_factory=dict)  # top-level bucket -> k/v count
    bucket_roots: dict[str, int] = field(default_factory=dict)  # -> root page (0: inline)
    total_keys: int = 0
    revision: int = 0
    consistent_index: int | None = None
    term: int | None = None
    hash: int = 0  # CRC32C as etcdutl prints it
    pages_reached: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def error(self) -> str | None:
        if not self.errors:
            return None
        more = f" (+{len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        return self.errors[0] + more
