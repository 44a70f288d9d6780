"""The copy of what `y` copied, in the state dir: for terminals without OSC 52.

The TUI copies with OSC 52 (works over SSH and tmux) and also leaves the same text here,
0600, one file overwritten atomically, so `cat <state_dir>/copied.txt` always has it.
"""

from __future__ import annotations

import os
import tempfile

COPY_FILE = "copied.txt"


def write_copy(state_dir: str, text: str) -> str:
    """Write text to <state_dir>/copied.txt (0600, atomic); return the path."""
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    path = os.path.join(state_dir, COPY_FILE)
    fd, tmp = tempfile.mkstemp(prefix=".copied-", dir=state_dir)  # 0600, O_EXCL
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)  # replaces a planted symlink itself, never writes through it
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)  # our own temp file, never operator data
        raise
    return path
