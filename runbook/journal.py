"""The journal: one JSON file per plan in `<state_dir>/journal/`, fsynced after each step.

It holds the plan itself and each step's status, so `blackstart resume` can continue an
interrupted plan from the first step not done, and `blackstart rollback` can undo the
steps that were done, in reverse order.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from blackstart.checks.errors import BlackstartError
from blackstart.runbook.plan import Plan

DONE_STATES = ("ok", "skipped")


@dataclass
class Journal:
    path: Path
    plan: Plan
    operator: str
    status: dict[str, str] = field(default_factory=dict)  # step id -> running|ok|failed|...
    state: str = "running"  # running | done | failed | rolled-back | rollback-failed
    started: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    undone: list[str] = field(default_factory=list)  # step ids already undone by rollback
    error: str | None = None
    # what the operator confirmed: the plan's digest and each step's fingerprint, in order
    digest: str = ""
    fingerprints: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "plan": self.plan.to_json(), "operator": self.operator, "status": self.status,
            "state": self.state, "started": self.started, "updated": self.updated,
            "undone": self.undone, "error": self.error, "digest": self.digest,
            "fingerprints": self.fingerprints,
        }

    def set(self, step_id: str, status: str) -> None:
        self.status[step_id] = status
        self.save()

    def finish(self, state: str, error: str | None = None) -> None:
        self.state, self.error = state, error
        self.save()

    def first_pending(self) -> int:
        """Index of the first step that is not done (len(steps) when all are)."""
        for i, s in enumerate(self.plan.steps):
            if self.status.get(s.id) not in DONE_STATES:
                return i
        return len(self.plan.steps)

    def save(self) -> None:
        self.updated = time.time()
        write_json_durably(self.path, self.to_json())


def journal_dir(state_dir: str) -> Path:
    return Path(state_dir) / "journal"


def open_journal(state_dir: str, plan: Plan, operator: str) -> Journal:
    """The journal of a confirmed plan: it records the digest and step fingerprints the
    executor checks every step against."""
    d = journal_dir(state_dir)
    d.mkdir(parents=True, exist_ok=True)
    j = Journal(d / f"{plan.id}.json", plan, operator, digest=plan.digest(),
                fingerprints=[s.fingerprint() for s in plan.steps])
    j.save()
    return j


def load_journal(path: Path) -> Journal:
    try:
        d = json.loads(path.read_text())
        return Journal(
            path, Plan.from_json(d["plan"]), d.get("operator", "?"), d.get("status", {}),
            d.get("state", "running"), d.get("started", 0.0), d.get("updated", 0.0),
            d.get("undone", []), d.get("error"), d.get("digest", ""),
            list(d.get("fingerprints", [])),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise JournalError(f"journal {path} is unreadable: {exc}") from exc


class JournalError(BlackstartError):
    """A journal cannot be read or used; the message names its file."""


def latest_journal(state_dir: str, states: tuple[str, ...]) -> Journal | None:
    """The newest journal whose state is one of `states` (by plan id, which sorts by time)."""
    d = journal_dir(state_dir)
    if not d.is_dir():
        return None
    for p in sorted(d.glob("*.json"), reverse=True):
        j = load_journal(p)
        if j.state in states:
            return j
    return None


def write_json_durably(path: Path, data: dict[str, Any]) -> None:
    """Write to a temp file, fsync it, rename over, fsync the directory: a crash leaves
    either the old or the new journal, never half of one."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
