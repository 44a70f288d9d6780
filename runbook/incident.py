"""The incident report file: the one thing the TUI's export writes, kept here because
`tui/` never opens a file itself."""

from __future__ import annotations

import os
import time


def write_incident_report(state_dir: str, text: str, now: float) -> str:
    """Write to a new timestamped file in the state dir (never over an old report);
    return its path."""
    os.makedirs(state_dir, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    path = os.path.join(state_dir, f"incident-{stamp}.md")
    n = 1
    while os.path.exists(path):
        path = os.path.join(state_dir, f"incident-{stamp}-{n}.md")
        n += 1
    with open(path, "x", encoding="utf-8") as fh:
        fh.write(text)
    return path
