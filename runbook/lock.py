"""One operator at a time: a kernel lock (`flock`) on `<state_dir>/lock`, held for the
life of a plan.

The lock file is never removed or renamed (a second inode would let two holders in at
once, the old rename-aside race); only its contents change: while held it names its
holder (user, host, pid, plan, start time) for the refusal message. A holder that dies,
SIGKILL included, loses its flock in the kernel at that instant, so a stale lock is
detected by the lock itself: the next `acquire` simply gets it and says who left it.
PIDs are never guessed at, so a reused PID cannot block anyone.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import secrets
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from blackstart.runbook.preflight import PlanRefused

LOCK_FILE = "lock"


class LockHeld(PlanRefused):
    """A refusal like any preflight one: it happens before any change."""

    def __init__(self, holder: dict[str, Any], path: Path | str, node: str | None = None
                 ) -> None:
        super().__init__(describe_holder(holder, path, node))
        self.holder = holder
        self.path = path
        self.node = node


def describe_holder(h: dict[str, Any], path: Path | str, node: str | None = None) -> str:
    """`node`: the remote node whose lock is held (None: this machine's)."""
    when = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(_number(h.get("time"))))
    where = f"on node {node}, " if node else ""
    return (f"{where}another operator holds the runbook lock {path}: user {h.get('user')!r} "
            f"on host {h.get('host')!r} (pid {h.get('pid')}) since {when}, plan {h.get('plan')!r}. "
            "It is released when that process ends; `blackstart unlock --yes` only clears "
            "a record left by a holder that is gone")


def _number(value: object) -> float:
    try:
        t = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return 0.0
    return t if 0 <= t < 1e11 else 0.0  # NaN and out-of-range times: gmtime would raise


def new_holder(operator: str, plan_id: str) -> dict[str, Any]:
    """This process's record. `token` tells our own lock apart from another's when two
    node names lead to one lock file (nodes that share a filesystem)."""
    return {"user": operator, "host": socket.gethostname(), "pid": os.getpid(),
            "time": time.time(), "plan": plan_id, "token": secrets.token_hex(8)}


@dataclass
class Lock:
    path: Path
    holder: dict[str, Any]
    fd: int
    left_by: dict[str, Any] | None = None  # the record a dead holder left, if any
    released: bool = field(default=False)

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        with contextlib.suppress(OSError):
            os.ftruncate(self.fd, 0)
            os.fsync(self.fd)
        with contextlib.suppress(OSError):
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)

    def __enter__(self) -> Lock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_path(state_dir: str) -> Path:
    return Path(state_dir) / LOCK_FILE


def parse_holder(text: str) -> dict[str, Any] | None:
    if not text.strip():
        return None
    try:
        d = json.loads(text)
    except ValueError:
        return {"user": "?", "host": "?", "pid": None, "time": 0, "plan": "unreadable lock"}
    return d if isinstance(d, dict) else {"plan": "unreadable lock"}


def _read_fd(fd: int) -> dict[str, Any] | None:
    os.lseek(fd, 0, os.SEEK_SET)
    return parse_holder(os.read(fd, 65536).decode("utf-8", "replace"))


def read_holder(state_dir: str) -> dict[str, Any] | None:
    try:
        return parse_holder(lock_path(state_dir).read_text())
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:
        return {"user": "?", "host": "?", "pid": None, "time": 0, "plan": "unreadable lock"}


def _open_existing(path: Path) -> int | None:
    try:
        return os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return None


def held_by(state_dir: str) -> dict[str, Any] | None:
    """The live holder, or None when nobody holds the lock. Changes nothing (read-only
    safe: the lock file is not created)."""
    path = lock_path(state_dir)
    try:
        fd = _open_existing(path)
    except OSError as exc:
        raise PlanRefused(f"cannot read the runbook lock {path}: {exc.strerror}") from exc
    if fd is None:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            return _read_fd(fd) or {"plan": "?"}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def check_free(state_dir: str, operator: str = "") -> None:
    """Raise LockHeld if a live process holds the lock. Changes nothing."""
    holder = held_by(state_dir)
    if holder is not None:
        raise LockHeld(holder, lock_path(state_dir))


def acquire(state_dir: str, operator: str, plan_id: str,
            holder: dict[str, Any] | None = None) -> Lock:
    from blackstart.runbook.safe_files import state_subdir

    state_subdir(state_dir)
    path = lock_path(state_dir)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        live = _read_fd(fd) or {"plan": "?"}
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise LockHeld(live, path) from None
        raise
    left = _read_fd(fd)
    holder = holder or new_holder(operator, plan_id)
    data = json.dumps(holder).encode()
    # overwrite in place, then cut the tail: a reader never sees an empty record
    os.pwrite(fd, data, 0)
    os.ftruncate(fd, len(data))
    os.fsync(fd)
    return Lock(path, holder, fd, left_by=left)


def clear_stale(state_dir: str) -> dict[str, Any] | None:
    """`blackstart unlock`: clear the record a dead holder left. A live holder is never
    broken (LockHeld); returns the record cleared (None when there was none)."""
    fd = _open_existing(lock_path(state_dir))
    if fd is None:
        return None
    os.close(fd)
    lk = acquire(state_dir, "unlock", "unlock")
    lk.release()
    return lk.left_by
