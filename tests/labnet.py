"""Lab nets and the missing-component rule, for fixtures and tests alike.

A module of its own (not conftest.py) so a test can import it by name: with several
conftest.py files in the suite, `from conftest import ...` gets whichever was loaded last.
"""

from __future__ import annotations

import fcntl
import os
import socket
import tempfile
from pathlib import Path
from typing import IO

import pytest

LAB_PORTS = (2379, 2380, 2381, 2222)


def _ports_free(net: str, members: int) -> bool:
    for i in range(1, members + 1):
        for port in LAB_PORTS:
            with socket.socket() as s:
                try:
                    s.bind((f"{net}.{i}", port))
                except OSError:
                    return False
    return True


def claim_net(prefer: int | None = None, first: int = 20, members: int = 3
              ) -> tuple[str, IO[str]]:
    """A net 127.0.<k> no other test process (of any engineer) is using right now.

    A flock on a per-net lock file is held until the returned handle is closed, so two
    pytest runs at once never pick the same net; the bind test skips nets in use by
    anything else (a demo, a lab left running)."""
    lockdir = Path(tempfile.gettempdir()) / "blackstart-lab-nets"
    lockdir.mkdir(exist_ok=True)
    order = ([prefer] if prefer else []) + list(range(first, 250))
    for k in order:
        fh = open(lockdir / f"{k}.lock", "w")  # noqa: SIM115 - held for the lab's life
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            continue
        if _ports_free(f"127.0.{k}", members):
            return f"127.0.{k}", fh
        fh.close()
    raise RuntimeError("no free 127.0.<k> net for a lab")


def missing(what: str) -> None:
    """Fail under CI (a real component must be there), skip on a developer machine."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} is missing and CI=true: the real component is required")
    pytest.skip(f"{what} is missing")
