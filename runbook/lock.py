"""One operator at a time: a lock file in the state dir, created with O_EXCL.

It names its holder (user, host, pid, time, plan). A second operator is refused with
that name. A lock whose holder was on this host and whose pid is gone is stale and is
taken over (the stale lock is kept beside as `lock.stale-<time>` for the record).
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from blackstart.runbook.plan import stamp
from blackstart.runbook.preflight import PlanRefused

LOCK_FILE = "lock"


class LockHeld(PlanRefused):
    """A refusal like any preflight one: it happens before any change."""

    def __init__(self, holder: dict[str, Any], path: Path) -> None:
        super().__init__(describe_holder(holder, path))
        self.holder = holder
        self.path = path


def describe_holder(h: dict[str, Any], path: Path) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(float(h.get("time", 0))))
    return (f"another operator holds the runbook lock {path}: user {h.get('user')!r} on host "
            f"{h.get('host')!r} (pid {h.get('pid')}) since {when}, plan {h.get('plan')!r}")


@dataclass
class Lock:
    path: Path
    holder: dict[str, Any]

    def release(self) -> None:
        """Remove our own lock file only (checked by pid and plan)."""
        try:
            current = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return
        if current.get("pid") == self.holder["pid"] and current.get("plan") == self.holder["plan"]:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> Lock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_path(state_dir: str) -> Path:
    return Path(state_dir) / LOCK_FILE


def read_holder(state_dir: str) -> dict[str, Any] | None:
    try:
        return dict(json.loads(lock_path(state_dir).read_text()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"user": "?", "host": "?", "pid": None, "time": 0, "plan": "unreadable lock"}


def is_stale(holder: dict[str, Any], host: str | None = None) -> bool:
    """Stale only when we can know: same host and the pid is not running."""
    if holder.get("host") != (host or socket.gethostname()):
        return False
    pid = holder.get("pid")
    return isinstance(pid, int) and not psutil.pid_exists(pid)


def check_free(state_dir: str, operator: str) -> None:
    """Raise LockHeld if someone else (alive) holds the lock. Changes nothing."""
    holder = read_holder(state_dir)
    if holder is None or is_stale(holder):
        return
    if holder.get("pid") == os.getpid():
        return
    raise LockHeld(holder, lock_path(state_dir))


def acquire(state_dir: str, operator: str, plan_id: str) -> Lock:
    path = lock_path(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    holder = {"user": operator, "host": socket.gethostname(), "pid": os.getpid(),
              "time": time.time(), "plan": plan_id}
    for _ in range(2):  # second round only after moving a stale lock aside
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            current = read_holder(state_dir) or {}
            if not is_stale(current):
                raise LockHeld(current, path) from None
            os.replace(path, path.with_name(f"{LOCK_FILE}.stale-{stamp()}-{os.getpid()}"))
            continue
        with os.fdopen(fd, "w") as fh:
            json.dump(holder, fh)
            fh.flush()
            os.fsync(fh.fileno())
        return Lock(path, holder)
    raise LockHeld(read_holder(state_dir) or {}, path)
