"""Run a plan step by step: journal before and after each step, audit every outcome,
stop at the first failure. Also the inverse: roll a journal's done steps back.

`execute` is a coroutine; the TUI runs it in an asyncio worker (or a thread worker with
`asyncio.run`). `on_event` is called on the loop's thread for each status change and
output line; a TUI forwards it with `post_message`/`call_from_thread`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from blackstart.checks.model import Cluster
from blackstart.checks.nodes import NodeClient, NodeError, NodePool
from blackstart.runbook import audit, lock
from blackstart.runbook.journal import Journal, open_journal
from blackstart.runbook.plan import Plan, Step, stamp

KILL_ENV = "BLACKSTART_TEST_KILL_AFTER_STEP"  # tests only: SIGKILL self after step k


@dataclass
class StepEvent:
    plan_id: str
    index: int
    step: Step
    status: str  # running | ok | failed | skipped | output
    line: str | None = None


@dataclass
class PlanResult:
    ok: bool
    plan_id: str
    failed_step: Step | None = None
    error: str | None = None
    journal: str | None = None
    refused: bool = False
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    status: str  # ok | skipped | failed
    output: bytes = b""
    exit_code: int | None = None
    error: str | None = None


class StepFailed(Exception):
    pass


class Runner:
    """Holds one client per node for the life of a plan and runs single steps."""

    def __init__(self, plan: Plan, cluster: Cluster, operator: str,
                 on_event: Callable[[StepEvent], None] | None) -> None:
        self.plan, self.cluster, self.operator = plan, cluster, operator
        self.on_event = on_event
        self.pool = NodePool(cluster)
        self.index = 0
        self.step: Step | None = None

    def client(self, node: str) -> NodeClient:
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

    async def run_step(self, step: Step, previous: str | None = None) -> Outcome:
        from blackstart.runbook import ops

        handler = ops.HANDLERS.get(step.op)
        if handler is None:
            return Outcome("failed", error=f"unknown step op {step.op!r}")
        try:
            return await handler(self, step, previous)
        except (NodeError, StepFailed, OSError) as exc:
            return Outcome("failed", error=str(exc))

    def audit(self, step: Step, out: Outcome, duration: float, prefix: str = "") -> None:
        command: list[str] | str = list(step.argv) if step.op == "run" else step.detail
        rec = audit.audit_record(
            operator=self.operator, plan_id=self.plan.id, action=self.plan.action,
            node=step.node, step=prefix + step.id, op=step.op, command=command,
            exit_code=out.exit_code, duration=duration, output=out.output,
            status=out.status, error=out.error)
        audit.append(self.cluster.state_dir, rec)


async def execute(plan: Plan, cluster: Cluster, *, operator: str,
                  on_event: Callable[[StepEvent], None] | None = None,
                  journal: Journal | None = None) -> PlanResult:
    """Run `plan` (or continue `journal`'s plan from its first pending step)."""
    try:
        held = lock.acquire(cluster.state_dir, operator, plan.id)
    except lock.LockHeld as exc:
        return PlanResult(False, plan.id, error=exc.reason, refused=True)
    with held:
        j = journal or open_journal(cluster.state_dir, plan, operator)
        if journal is not None:
            j.finish("running")
        runner = Runner(plan, cluster, operator, on_event)
        try:
            return await _run_from(runner, j)
        finally:
            await runner.close()


async def _run_from(runner: Runner, j: Journal) -> PlanResult:
    plan = runner.plan
    result = PlanResult(True, plan.id, journal=str(j.path))
    for i in range(j.first_pending(), len(plan.steps)):
        step = plan.steps[i]
        runner.index, runner.step = i, step
        previous = j.status.get(step.id)
        j.set(step.id, "running")
        runner.emit("running")
        t0 = time.monotonic()
        out = await runner.run_step(step, previous)
        runner.audit(step, out, time.monotonic() - t0)
        j.set(step.id, out.status)
        result.outputs[step.id] = out.output.decode("utf-8", "replace")[-4000:]
        runner.emit(out.status, out.error)
        if out.status == "failed":
            j.finish("failed", f"step {step.id} on {step.node}: {out.error}")
            return PlanResult(False, plan.id, step, j.error, str(j.path), outputs=result.outputs)
        _test_kill_point(i, step)
    j.finish("done")
    return result


def _test_kill_point(index: int, step: Step) -> None:
    """Tests of resume/rollback need a real crash at a known point; only when set."""
    want = os.environ.get(KILL_ENV)
    if want and want in (step.id, str(index + 1), step.id.split("-", 1)[-1]):
        os.kill(os.getpid(), signal.SIGKILL)


async def rollback(j: Journal, cluster: Cluster, *, operator: str,
                   on_event: Callable[[StepEvent], None] | None = None) -> PlanResult:
    """Undo the journal's started steps, newest first. Never deletes: whatever occupies a
    path being restored is moved aside with a timestamp first."""
    from blackstart.runbook import ops

    try:
        held = lock.acquire(cluster.state_dir, operator, j.plan.id)
    except lock.LockHeld as exc:
        return PlanResult(False, j.plan.id, error=exc.reason, refused=True)
    with held:
        runner = Runner(j.plan, cluster, operator, on_event)
        try:
            for i in reversed(range(len(j.plan.steps))):
                step = j.plan.steps[i]
                status = j.status.get(step.id)
                if step.id in j.undone or not ops.should_undo(step, status):
                    continue
                runner.index, runner.step = i, step
                runner.emit("running", f"undo: {step.undo}")
                t0 = time.monotonic()
                out = await ops.undo_step(runner, step)
                runner.audit(step, out, time.monotonic() - t0, prefix="undo:")
                runner.emit(out.status, out.error)
                if out.status == "failed":
                    j.finish("rollback-failed", f"undo of {step.id} on {step.node}: {out.error}")
                    return PlanResult(False, j.plan.id, step, j.error, str(j.path))
                j.undone.append(step.id)
                j.save()
            j.finish("rolled-back")
            return PlanResult(True, j.plan.id, journal=str(j.path))
        finally:
            await runner.close()


# --------------------------------------------------------------------------- helpers


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
    d = Path(cluster.state_dir) / "tmp"
    d.mkdir(parents=True, exist_ok=True)
    return d / f"{stamp()}-{os.getpid()}-{name}"
