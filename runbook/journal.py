"""The journal: one JSON file per plan in `<state_dir>/journal/`, fsynced after each step.

It holds the plan itself and each step's status, so `blackstart resume` can continue an
interrupted plan from the first step not done, and `blackstart rollback` can undo the
steps that were done, in reverse order.

Journals are numbered by a counter in the state dir (`journal/seq`, taken under a flock),
never by the clock: a power cut that resets the clock cannot reorder them. The file name
is `<seq>-<plan id>.json`, so a listing sorts in the order the plans ran.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from blackstart.checks.errors import BlackstartError
from blackstart.runbook.plan import Plan
from blackstart.runbook.safe_files import state_subdir, write_bytes

DONE_STATES = ("ok", "skipped")
UNFINISHED = ("running", "failed", "rollback-failed", "rollback-degraded")
SEQ_FILE = "seq"


@dataclass
class Journal:
    path: Path
    plan: Plan
    operator: str
    status: dict[str, str] = field(default_factory=dict)  # step id -> running|ok|failed|...
    # running | done | failed | rolled-back | rollback-failed | rollback-degraded
    state: str = "running"
    started: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    undone: list[str] = field(default_factory=list)  # step ids already undone by rollback
    error: str | None = None
    seq: int = 0
    crashes_noted: list[str] = field(default_factory=list)  # steps whose crash is audited
    finished: float | None = None
    # what the operator confirmed: the plan's digest and each step's fingerprint, in order
    digest: str = ""
    fingerprints: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "plan": self.plan.to_json(), "operator": self.operator,
            "status": self.status, "state": self.state, "started": self.started,
            "updated": self.updated, "finished": self.finished, "undone": self.undone,
            "error": self.error, "crashes_noted": self.crashes_noted,
            "digest": self.digest, "fingerprints": self.fingerprints,
        }

    def set(self, step_id: str, status: str) -> None:
        self.status[step_id] = status
        self.save()

    def finish(self, state: str, error: str | None = None) -> None:
        self.state, self.error = state, error
        if state == "done":
            self.finished = time.time()
        self.save()

    def first_pending(self) -> int:
        """Index of the first step that is not done (len(steps) when all are)."""
        for i, s in enumerate(self.plan.steps):
            if self.status.get(s.id) not in DONE_STATES:
                return i
        return len(self.plan.steps)

    def interrupted_steps(self) -> list[str]:
        """Steps left `running`: the process died while running them."""
        return [s.id for s in self.plan.steps if self.status.get(s.id) == "running"]

    def save(self) -> None:
        self.updated = time.time()
        write_json_durably(self.path, self.to_json())


def journal_dir(state_dir: str) -> Path:
    return Path(state_dir) / "journal"


def next_seq(state_dir: str) -> int:
    """The next journal number: a counter file under flock, never below any journal on
    disk (a lost counter file cannot make numbers repeat)."""
    d = state_subdir(state_dir, "journal")
    fd = os.open(d / SEQ_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        raw = os.read(fd, 64).decode("ascii", "replace").strip()
        current = int(raw) if raw.isdigit() else 0
        n = max(current, *(_seq_of_name(p) for p in d.glob("*.json")), 0) + 1
        os.pwrite(fd, f"{n}\n".encode(), 0)
        os.ftruncate(fd, len(f"{n}\n"))
        os.fsync(fd)
        return n
    finally:
        os.close(fd)


def _seq_of_name(p: Path) -> int:
    head = p.name.split("-", 1)[0]
    return int(head) if head.isdigit() and len(head) == 6 else 0


def open_journal(state_dir: str, plan: Plan, operator: str) -> Journal:
    """The journal of a confirmed plan: it records the digest and step fingerprints the
    executor checks every step against."""
    seq = next_seq(state_dir)
    j = Journal(journal_dir(state_dir) / f"{seq:06d}-{plan.id}.json", plan, operator, seq=seq,
                digest=plan.digest(), fingerprints=[s.fingerprint() for s in plan.steps])
    j.save()
    return j


class JournalError(BlackstartError):
    """A journal cannot be read or used; the message names its file."""


def load_journal(path: Path) -> Journal:
    from blackstart.runbook.safe_files import UnsafePath, open_regular_for_read

    try:
        with open_regular_for_read(path) as fh:
            d = json.loads(fh.read(64 << 20))
        return _from_json(path, d)
    except UnsafePath as exc:
        raise JournalError(f"journal {exc}") from exc
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise JournalError(f"journal {path} is unreadable: {type(exc).__name__}: {exc}"
                           ) from exc


def _typed(d: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any) -> Any:
    v = d.get(key, default)
    if v is None and default is None:
        return None
    if not isinstance(v, kind) or isinstance(v, bool) and kind in (int, float, (int, float)):
        raise TypeError(f"field {key!r} is {type(v).__name__}, not "
                        f"{getattr(kind, '__name__', kind)}")
    return v


def _from_json(path: Path, d: Any) -> Journal:
    """Every field checked for its type: a hand-edited or corrupt journal is one clear
    message, never a traceback deep inside rollback."""
    if not isinstance(d, dict):
        raise TypeError(f"top level is {type(d).__name__}, not an object")
    plan_d = _typed(d, "plan", dict, {})
    if not isinstance(plan_d.get("steps"), list) or not all(
            isinstance(s, dict) for s in plan_d["steps"]):
        raise TypeError("field 'plan.steps' is not a list of objects")
    status = _typed(d, "status", dict, {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in status.items()):
        raise TypeError("field 'status' must map step ids to strings")
    undone = _typed(d, "undone", list, [])
    return Journal(
        path, Plan.from_json(plan_d), str(_typed(d, "operator", str, "?")), status,
        _typed(d, "state", str, "running"), float(_typed(d, "started", (int, float), 0.0)),
        float(_typed(d, "updated", (int, float), 0.0)), [str(x) for x in undone],
        _typed(d, "error", str, None), int(_typed(d, "seq", int, 0)),
        [str(x) for x in _typed(d, "crashes_noted", list, [])],
        _typed(d, "finished", (int, float), None), str(_typed(d, "digest", str, "")),
        [str(x) for x in _typed(d, "fingerprints", list, [])])


def all_journals(state_dir: str) -> list[Journal]:
    """Every journal, oldest first by sequence number (the clock is never consulted)."""
    d = journal_dir(state_dir)
    if not d.is_dir():
        return []
    js = [load_journal(p) for p in d.glob("*.json")]
    return sorted(js, key=lambda j: (j.seq, j.path.name))


def find_journal(state_dir: str, plan_id: str) -> Journal:
    d = journal_dir(state_dir)
    for p in sorted(d.glob("*.json")) if d.is_dir() else []:
        if p.name in (f"{plan_id}.json",) or p.name.split("-", 1)[-1] == f"{plan_id}.json" \
                or p.stem.split("-", 1)[0] == plan_id:
            return load_journal(p)
    raise JournalError(f"no journal for plan {plan_id!r} in {d}")


def latest_journal(state_dir: str, states: tuple[str, ...]) -> Journal | None:
    """The newest journal whose state is one of `states` (by sequence number)."""
    for j in reversed(all_journals(state_dir)):
        if j.state in states:
            return j
    return None


def rollback_candidate(state_dir: str) -> Journal:
    """What `rollback` without `--plan` acts on: the newest interrupted or failed plan,
    and only when no destructive plan finished after it. A finished plan is never picked
    implicitly: undoing it would throw away every write since (it needs --plan)."""
    js = all_journals(state_dir)
    for i in range(len(js) - 1, -1, -1):
        j = js[i]
        if j.state in UNFINISHED:
            later = [x for x in js[i + 1:] if x.state == "done" and x.plan.destructive]
            if later:
                raise JournalError(
                    f"the newest interrupted plan {j.plan.id} was followed by the finished "
                    f"plan {later[-1].plan.id}; name the one to roll back with --plan")
            return j
    done = next((j for j in reversed(js) if j.state == "done"), None)
    hint = (f"; the newest finished plan is {done.plan.id} ({done.plan.title}): rolling it "
            f"back needs --plan {done.plan.id} and the typed cluster name") if done else ""
    raise JournalError(f"no interrupted or failed plan in {journal_dir(state_dir)}{hint}")


def write_json_durably(path: Path, data: dict[str, Any]) -> None:
    """Temp file, fsync, rename over, fsync the directory (runbook.safe_files): a crash
    leaves either the old or the new journal, never half of one."""
    write_bytes(path, json.dumps(data, indent=1).encode())
