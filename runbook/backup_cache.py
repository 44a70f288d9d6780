"""The state dir's memory of backup locations: each S3 listing with every copy's verdict,
so the next check (or a TUI started while the store is down) shows what was last known
without waiting on the store. Written here, read by checks.probes.backups; 0600 files in
a 0700 dir, replaced atomically so a reader never sees half a file."""

from __future__ import annotations

import json
import os
import tempfile

from blackstart.checks.formats.backup_copies import cache_record
from blackstart.checks.probe_results import BackupLocationState
from blackstart.checks.probes.backups import cache_path


def remember(state_dir: str, states: list[BackupLocationState]) -> list[str]:
    """Write the cache of every S3 location listed live (a stale or failed listing keeps
    the older cache). Returns the files written."""
    out = []
    for st in states:
        if st.kind != "s3" or st.error or st.stale:
            continue
        path = cache_path(state_dir, st.name)
        write_private_json(path, cache_record(st))
        out.append(path)
    return out


def write_private_json(path: str, data: object) -> None:
    d = os.path.dirname(path)
    os.makedirs(d, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=".json")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            # dumps, not dump: json's C encoder serves only one-shot encoding without
            # indent (json.dump streams through the pure-Python one, 1 s for 1,000 copies
            # on a loaded box)
            fh.write(json.dumps(data, separators=(",", ":"), default=str))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
