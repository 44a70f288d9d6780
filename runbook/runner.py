"""What a step handler gets: the plan's per-node writers, its event and audit sinks, and
the small node-state helpers the handlers share (pids using a data dir, open ports, waits).

`runbook.ops` (the handler table and its `ops_*` handlers) and `runbook.executor` (the
loop over steps) both build on this module; neither imports the other's internals, so
there is no import circle.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from blackstart.checks.errors import BlackstartError
from blackstart.checks.model import Cluster
from blackstart.runbook import audit
from blackstart.runbook.node_writer import NodeWriter, WriterPool
from blackstart.runbook.plan import Plan, Step


@dataclass
class StepEvent:
    plan_id: str
    index: int
    step: Step
    status: str  # running | ok | failed | skipped | output
    line: str | None = None


@dataclass
class Outcome:
    status: str  # ok | skipped | failed
    output: bytes = b""
    exit_code: int | None = None
    error: str | None = None


class StepFailed(BlackstartError):
    """A step's handler found the step cannot succeed; the message says why."""


class Runner:
    """Holds one client per node for the life of a plan and runs single steps."""

    def __init__(self, plan: Plan, cluster: Cluster, operator: str,
                 on_event: Callable[[StepEvent], None] | None) -> None:
        self.plan, self.cluster, self.operator = plan, cluster, operator
        self.on_event = on_event
        self.pool = WriterPool(cluster)
        self.index = 0
        self.step: Step | None = None

    def client(self, node: str) -> NodeWriter:
        return self.pool.client(node)

    async def close(self) -> None:
        await self.pool.close()

    def emit(self, status: str, line: str | None = None) -> None:
        if self.on_event is not None and self.step is not None:
            self.on_event(StepEvent(self.plan.id, self.index, self.step, status, line))

    def say(self, text: str | bytes) -> bytes:
        """Emit output lines; returns them as bytes for the audit hash."""
        data = text.encode() if isinstance(text, str) else text
        for line in data.decode("utf-8", "replace").splitlines():
            self.emit("output", line)
        return data

    def audit(self, step: Step, out: Outcome, duration: float, prefix: str = "",
              command: list[str] | str | None = None) -> None:
        """One audit line; `command` is what really ran when it is not the step's own
        argv (an undo logs its undo argv, never the forward one)."""
        if command is None:
            command = list(step.argv) if step.op == "run" else step.detail
        rec = audit.audit_record(
            operator=self.operator, plan_id=self.plan.id, action=self.plan.action,
            node=step.node, step=prefix + step.id, op=step.op, command=command,
            exit_code=out.exit_code, duration=duration, output=out.output,
            status=out.status, error=out.error)
        audit.append(self.cluster.state_dir, rec)


def etcd_pids_using(pgrep_output: str, data_dir: str) -> list[int]:
    """Pids of etcd processes whose argv names `data_dir` (from `pgrep -a -f`): only etcd
    binaries count, so the shell running pgrep, or a wrapper, never does."""
    pids = []
    for line in pgrep_output.splitlines():
        parts = line.split()
        if len(parts) < 2 or not parts[0].isdigit():
            continue
        prog = os.path.basename(parts[1])
        if "etcd" not in prog or prog.startswith(("pgrep", "etcdctl", "etcdutl")):
            continue
        if any(t == data_dir or t.endswith("=" + data_dir) for t in parts[2:]):
            pids.append(int(parts[0]))
    return pids


def port_open(url: str, timeout: float = 1.0) -> bool:
    u = urlsplit(url)
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or 2379), timeout):
            return True
    except OSError:
        return False


async def wait_until(check: Callable[[], object], timeout: float, interval: float = 0.5
                     ) -> bool:
    """Poll an async-or-sync predicate until true or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(interval)


def local_tmp(cluster: Cluster, name: str) -> Path:
    from blackstart.runbook.safe_files import state_subdir, temp_name

    return state_subdir(cluster.state_dir, "tmp") / temp_name(name)
