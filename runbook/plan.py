"""Plans and steps: what the runbook will do, shown in full before anything runs.

A `Step` carries both the human text (title, argv or detail, precondition, undo) and the
machine form the executor needs (`args`, `undo_op`, `undo_argv`), so that what the operator
reads is exactly what runs. Plans are plain data: they serialise to JSON for the journal.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

# Step.op values the executor understands.
OPS = ("run", "rename", "write", "wait", "check", "copy", "api", "makedirs", "delete",
       "upload", "s3-prune", "kit", "s3-download")
# Step.args keys that name files or nodes: part of what the operator confirms.
PATH_ARGS = ("src", "dst", "path", "src_node", "dest", "from_cert", "cert", "key", "ca_cert",
             "ca_key", "fresh_dir", "manifest", "peer_url")


@dataclass
class Step:
    id: str
    node: str
    title: str
    op: str  # one of OPS
    argv: tuple[str, ...] = ()  # the exact command for op == "run"
    detail: str = ""  # the exact file operation otherwise (e.g. "mv A -> B")
    precondition: str = ""
    undo: str = ""  # how to undo it, in words
    # --- for the executor (additive to the contract) ------------------------------
    args: dict[str, Any] = field(default_factory=dict)
    undo_op: str = ""  # "" (nothing to undo) | run | rename-back
    undo_argv: tuple[str, ...] = ()
    timeout: float = 120.0
    allow_fail: bool = False  # a failed exit code is reported but does not stop the plan

    def describe(self) -> str:
        """The exact command or file operation, one line."""
        if self.op == "run":
            return shlex.join(self.argv)
        return self.detail

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["argv"] = list(self.argv)
        d["undo_argv"] = list(self.undo_argv)
        return d

    def fingerprint(self) -> str:
        """What the operator confirmed of this step: node, op, argv and every path it
        names. Hashes learned while running (a copy's sha256) are not part of it."""
        paths = {k: str(v) for k, v in sorted(self.args.items())
                 if k in PATH_ARGS or k in ("kind", "call", "member", "name")}
        text = json.dumps([self.id, self.node, self.op, list(self.argv), paths,
                           self.undo_op, list(self.undo_argv)], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Step:
        d = dict(d)
        d["argv"] = tuple(d.get("argv", ()))
        d["undo_argv"] = tuple(d.get("undo_argv", ()))
        return cls(**d)


@dataclass
class Plan:
    id: str
    action: str
    title: str
    cluster: str
    target: str  # one line naming the exact target (snapshot path, members...)
    destructive: bool
    steps: list[Step]
    warnings: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)  # facts for the caller (token, N...)
    notes: list[str] = field(default_factory=list)  # context worth reading, not a warning
    request: dict[str, Any] = field(default_factory=dict)  # checks.requests.request_json

    def digest(self) -> str:
        """A hash of the ordered steps (node, op, argv, paths): what is confirmed is what runs."""
        text = json.dumps([self.action, self.cluster, [s.fingerprint() for s in self.steps]])
        return hashlib.sha256(text.encode()).hexdigest()

    def preview_lines(self) -> list[str]:
        """Every step, grouped under its node in order, for the dialog and --dry-run."""
        lines = [f"{self.title}", f"target: {self.target}"]
        lines += [f"WARNING: {w}" for w in self.warnings]
        lines += [f"note: {n}" for n in self.notes]
        for i, s in enumerate(self.steps, 1):
            lines.append(f"{i:>3}. [{s.node}] {s.title}")
            lines.append(f"       {s.op}: {s.describe()}")
            if s.precondition:
                lines.append(f"       requires: {s.precondition}")
            if s.undo:
                lines.append(f"       undo: {s.undo}")
        return lines

    def nodes(self) -> list[str]:
        seen: list[str] = []
        for s in self.steps:
            if s.node not in seen:
                seen.append(s.node)
        return seen

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["steps"] = [s.to_json() for s in self.steps]
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Plan:
        d = dict(d)
        d["steps"] = [Step.from_json(s) for s in d["steps"]]
        return cls(**d)


def new_plan_id(action: str) -> str:
    """Sortable by time, unique across operators."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return f"{stamp}-{action}-{uuid.uuid4().hex[:6]}"


def stamp(now: float | None = None) -> str:
    """The timestamp suffix for files moved aside: UTC, sortable, no colons."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))


class StepIds:
    """Numbered step ids, so journals and audit lines name steps stably."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, name: str) -> str:
        self.n += 1
        return f"{self.n:02d}-{name}"
