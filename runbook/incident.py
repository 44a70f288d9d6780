"""The incident report file: the one thing the TUI's export writes, kept here because
`tui/` never opens a file itself."""

from __future__ import annotations

import os
import time


def write_incident_report(state_dir: str, text: str, now: float) -> str:
    """Write to a new timestamped file in the state dir (never over an old report);
    return its path."""
    from blackstart.runbook.safe_files import state_subdir, write_bytes

    state_subdir(state_dir)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    path = os.path.join(state_dir, f"incident-{stamp}.md")
    n = 1
    while os.path.exists(path):
        path = os.path.join(state_dir, f"incident-{stamp}-{n}.md")
        n += 1
    write_bytes(path, text.encode(), replace=False)
    return path
