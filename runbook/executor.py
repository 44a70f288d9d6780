"""Run a plan step by step: journal before and after each step, audit every outcome,
stop at the first failure. Also the inverse: roll a journal's done steps back.

`execute` is a coroutine; the TUI runs it in a thread worker with
`checks.loops.run_on_own_loop`. `on_event` is called on the loop's thread for each status
change and output line; a TUI forwards it with `post_message`/`call_from_thread`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from blackstart.checks.model import Cluster
from blackstart.checks.nodes import NodeError
from blackstart.runbook import lock_plan, ops, ops_undo
from blackstart.runbook.hooks import NO_HOOKS, Hooks
from blackstart.runbook.journal import Journal, open_journal
from blackstart.runbook.plan import Plan, Step
from blackstart.runbook.preflight import PlanRefused
from blackstart.runbook.runner import Outcome, Runner, StepEvent, StepFailed

READ_ONLY_REFUSAL = ("read-only mode (--read-only or read_only = true): blackstart changes "
                     "nothing and writes nothing")


@dataclass
class PlanResult:
    ok: bool
    plan_id: str
    failed_step: Step | None = None
    error: str | None = None
    journal: str | None = None
    refused: bool = False
    outputs: dict[str, str] = field(default_factory=dict)


async def execute(plan: Plan, cluster: Cluster, *, operator: str,
                  on_event: Callable[[StepEvent], None] | None = None,
                  journal: Journal | None = None, confirmed: str | None = None,
                  hooks: Hooks = NO_HOOKS) -> PlanResult:
    """Run `plan` (or continue `journal`'s plan from its first pending step). `confirmed`
    is the digest of the plan the operator confirmed: any other plan is refused. `hooks`:
    fault points a test injects (runbook.hooks); production passes none."""
    if cluster.read_only:
        return PlanResult(False, plan.id, refused=True, error=READ_ONLY_REFUSAL)
    if confirmed is not None and confirmed != plan.digest():
        return PlanResult(False, plan.id, refused=True,
                          error=f"the plan changed since it was confirmed (digest "
                                f"{plan.digest()[:12]}… != confirmed {confirmed[:12]}…)")
    try:
        held = await lock_plan.acquire_plan(cluster, operator, plan)
    except PlanRefused as exc:
        return PlanResult(False, plan.id, error=exc.reason, refused=True)
    try:
        j = journal or open_journal(cluster.state_dir, plan, operator)
        runner = Runner(plan, cluster, operator, on_event)
        if journal is not None:
            note_crashes(runner, j)
            j.finish("running")
        try:
            return await _run_from(runner, j, hooks, held)
        finally:
            await runner.close()
    finally:
        await held.release()


async def run_step(runner: Runner, step: Step, previous: str | None = None) -> Outcome:
    """One step through its op's handler; node and file trouble becomes a failed outcome."""
    handler = ops.HANDLERS.get(step.op)
    if handler is None:
        return Outcome("failed", error=f"unknown step op {step.op!r}")
    try:
        return await handler(runner, step, previous)
    except (NodeError, StepFailed, OSError) as exc:
        return Outcome("failed", error=str(exc))
    except Exception as exc:  # noqa: BLE001 - a bug must still be a failed step, audited
        return Outcome("crashed", error=f"crashed: {type(exc).__name__}: {exc}")


def note_crashes(runner: Runner, j: Journal) -> None:
    """A step left `running` means the process died in it: say so in the audit log, once,
    as a line of its own, before anything else touches the plan."""
    for sid in j.interrupted_steps():
        if sid in j.crashes_noted:
            continue
        step = next(s for s in j.plan.steps if s.id == sid)
        runner.audit(step, Outcome("crashed", error="blackstart died while this step ran "
                                   "(killed or crashed); its effect is judged from the "
                                   "node's real state"), 0.0, prefix="crash:")
        j.crashes_noted.append(sid)
    j.save()


async def _run_from(runner: Runner, j: Journal, hooks: Hooks,
                    locks: lock_plan.PlanLocks | None = None) -> PlanResult:
    plan = runner.plan
    result = PlanResult(True, plan.id, journal=str(j.path))
    for i in range(j.first_pending(), len(plan.steps)):
        step = plan.steps[i]
        runner.index, runner.step = i, step
        if j.fingerprints and (i >= len(j.fingerprints)
                               or step.fingerprint() != j.fingerprints[i]):
            j.finish("failed", f"step {step.id} differs from the confirmed plan: not run")
            return PlanResult(False, plan.id, step, j.error, str(j.path))
        previous = j.status.get(step.id)
        j.set(step.id, "running")
        runner.emit("running")
        t0 = time.monotonic()
        lost = await locks.lost_on(step.node) if locks is not None else None
        out = Outcome("failed", error=lost) if lost else await run_step(runner, step, previous)
        runner.audit(step, out, time.monotonic() - t0)
        j.set(step.id, "failed" if out.status == "crashed" else out.status)
        result.outputs[step.id] = out.output.decode("utf-8", "replace")[-4000:]
        runner.emit(out.status, out.error)
        if out.status in ("failed", "crashed"):
            j.finish("failed", f"step {step.id} on {step.node}: {out.error}")
            return PlanResult(False, plan.id, step, j.error, str(j.path), outputs=result.outputs)
        hooks.after_step(i, step)
    j.finish("done")
    return result


async def rollback(j: Journal, cluster: Cluster, *, operator: str,
                   on_event: Callable[[StepEvent], None] | None = None) -> PlanResult:
    """Undo the journal's started steps, newest first; undos that start a service again
    come last, after every file is back (a service restarted before its old files are
    back would load the wrong ones). Never deletes: whatever occupies a path being
    restored is moved aside with a timestamp first. "rolled back" only when the members
    the plan touched answer again; else `rollback-degraded` and a failed result."""
    if cluster.read_only:
        return PlanResult(False, j.plan.id, refused=True, error=READ_ONLY_REFUSAL)
    try:
        held = await lock_plan.acquire_plan(cluster, operator, j.plan)
    except PlanRefused as exc:
        return PlanResult(False, j.plan.id, error=exc.reason, refused=True)
    try:
        runner = Runner(j.plan, cluster, operator, on_event)
        note_crashes(runner, j)
        try:
            return await _undo_all(runner, j, held)
        finally:
            await runner.close()
    finally:
        await held.release()


async def _undo_all(runner: Runner, j: Journal,
                    locks: lock_plan.PlanLocks | None = None) -> PlanResult:
    order = list(reversed(range(len(j.plan.steps))))
    starts = [i for i in order if ops_undo.undo_starts(j.plan.steps[i])]
    for i in [i for i in order if i not in starts] + starts:
        step = j.plan.steps[i]
        if step.id in j.undone:
            continue
        runner.index, runner.step = i, step
        decision = await ops_undo.undo_decision(runner, step, j.status.get(step.id))
        if decision is None:
            continue
        runner.emit("running", f"undo: {step.undo} ({decision})")
        t0 = time.monotonic()
        lost = await locks.lost_on(step.node) if locks is not None else None
        out, command = ((Outcome("failed", error=lost), step.undo) if lost
                        else await ops_undo.undo_step(runner, step))
        runner.audit(step, out, time.monotonic() - t0, prefix="undo:", command=command)
        runner.emit(out.status, out.error)
        if out.status == "failed":
            j.finish("rollback-failed", f"undo of {step.id} on {step.node}: {out.error}")
            return PlanResult(False, j.plan.id, step, j.error, str(j.path))
        j.undone.append(step.id)
        j.save()
    problems = await ops_undo.after_rollback_problems(runner)
    if problems:
        j.finish("rollback-degraded", "every undo ran but the cluster is not healthy: "
                 + "; ".join(problems))
        return PlanResult(False, j.plan.id, None, j.error, str(j.path))
    j.finish("rolled-back")
    return PlanResult(True, j.plan.id, journal=str(j.path))
