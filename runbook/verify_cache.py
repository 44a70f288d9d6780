"""The verification cache that survives runs: one JSON file in the state dir (0600 in a
0700 dir), shared by the CLI and the TUI.

Probes (checks/, which never writes) only `get` and `put` in memory through the
`checks.probes.context.VerifyStore` protocol; `save()` writes the file, atomically (a
private temp file in the same dir, fsync, rename). A cache that cannot be read or
written costs speed, never a verdict: every failure here is swallowed and the probes
verify again.
"""

from __future__ import annotations

import json
import os
import stat as stat_mod
import tempfile
import threading
from typing import Any

FILE = "verify-cache.json"
VERSION = 1
MAX_ENTRIES = 5000  # far more than the snapshots and segments of one inventory


class VerifyCache:
    def __init__(self, state_dir: str, max_entries: int = MAX_ENTRIES, *,
                 read_only: bool = False) -> None:
        self.read_only = read_only  # read the cache, never write it
        self.dir = os.path.join(state_dir, "cache")
        self.path = os.path.join(self.dir, FILE)
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._data: dict[str, dict[str, Any]] | None = None
        self._dirty = False
        self._seq = 0

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._data is None:
            self._data = _read(self.path)
            self._seq = max((int(v.get("_seq", 0)) for v in self._data.values()), default=0)
        return self._data

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            value = self._load().get(key)
            return dict(value) if value is not None else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        with self._lock:
            self._seq += 1
            self._load()[key] = {**value, "_seq": self._seq}
            self._dirty = True

    def save(self) -> bool:
        """Write the cache if anything changed; False when it could not be written."""
        with self._lock:
            if self.read_only or not self._dirty or self._data is None:
                return True
            data = _newest(self._data, self.max_entries)
            try:
                _write(self.dir, self.path, {"version": VERSION, "entries": data})
            except OSError:
                return False
            self._data, self._dirty = data, False
            return True


def _newest(data: dict[str, dict[str, Any]], n: int) -> dict[str, dict[str, Any]]:
    if len(data) <= n:
        return data
    keep = sorted(data.items(), key=lambda kv: int(kv[1].get("_seq", 0)))[-n:]
    return dict(keep)


def _read(path: str) -> dict[str, dict[str, Any]]:
    try:
        st = os.lstat(path)
        if not stat_mod.S_ISREG(st.st_mode) or st.st_uid != os.getuid():
            return {}  # not ours: never trusted
        with open(path, "rb") as fh:
            doc = json.load(fh)
    except (OSError, ValueError):
        return {}
    entries = doc.get("entries") if isinstance(doc, dict) else None
    if doc.get("version") != VERSION or not isinstance(entries, dict):
        return {}
    return {k: v for k, v in entries.items() if isinstance(v, dict)}


def _write(d: str, path: str, doc: dict[str, Any]) -> None:
    os.makedirs(d, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".verify-cache-", dir=d)  # 0600, O_EXCL
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh, separators=(",", ":"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
