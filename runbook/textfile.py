"""`check --textfile DIR`: the metrics file node_exporter's textfile collector reads."""

from __future__ import annotations

import os
import tempfile

from blackstart.checks.conclusions import Report
from blackstart.checks.reasoning.prom_metrics import exposition

FILE = "blackstart.prom"
# 0644, unlike blackstart's other files (0600): node_exporter usually runs as its own
# unprivileged user and must read this file; it holds no secret (ages, counts, states).
MODE = 0o644


def write_textfile(directory: str, report: Report, now: float, name: str = FILE) -> str:
    """Write atomically: a temp file in the same dir, fsync, rename. The collector never
    reads half a file (it would drop the whole file as unparsable)."""
    data = exposition(report, now)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".blackstart-", suffix=".tmp")
    try:
        os.fchmod(fd, MODE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        path = os.path.join(directory, name)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path
