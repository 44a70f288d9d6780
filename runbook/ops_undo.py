"""How a step is undone on rollback: which steps are undone (a finished one; a rename
whenever it started; a `run` cut short judged from the node's real state), the undo itself
(rename back, the undo command, a file restored) and the health a rollback waits for.
"""

from __future__ import annotations

import asyncio

from blackstart.runbook import etcdapi, safe_node_io
from blackstart.runbook.ops_waits import etcd_running, wait_stopped
from blackstart.runbook.plan import Step, stamp
from blackstart.runbook.runner import Outcome, Runner, StepFailed, port_open

UNFINISHED_STEP = ("running", "failed", "crashed")
ROLLBACK_HEALTH_TIMEOUT = 60.0


def undo_starts(step: Step) -> bool:
    """Does this step's undo start a service again (the undo of a stop or a park)?"""
    if "undo_starts" in step.args:
        return bool(step.args["undo_starts"])
    name = step.id.split("-", 1)[-1]
    return name.startswith(("stop-", "park-"))


def should_undo(step: Step, status: str | None) -> bool:
    """Without looking at the node: a step that finished is undone; a rename is undone
    whenever it started (it looks before it moves)."""
    if not step.undo_op:
        return False
    if step.undo_op == "rename-back":
        return status in ("ok", *UNFINISHED_STEP)
    return status == "ok"


async def undo_decision(r: Runner, step: Step, status: str | None) -> str | None:
    """Why this step is undone (None: it is not). A `run` step cut short (killed while
    `running`, or failed) is judged from the node's real state, never skipped blindly."""
    if should_undo(step, status):
        return "it ran" if status == "ok" else "it started; the undo looks before it moves"
    if not step.undo_op or status not in UNFINISHED_STEP:
        return None
    member = str(step.args.get("member") or "")
    if not member:
        # service start/stop commands are idempotent (systemctl, the lab's own): run it
        return f"the step was cut short ({status}); its undo is safe to repeat"
    m = r.cluster.member(member)
    pids = await etcd_running(r, step.node, m.data_dir)
    up = bool(pids) or await asyncio.to_thread(port_open, m.client_url)
    if undo_starts(step):
        return None if up else f"etcd {member} is not running although its stop was cut short"
    return (f"etcd {member} is running (pids {pids or '?'}) although its start was cut "
            "short") if up else None


async def undo_step(r: Runner, step: Step) -> tuple[Outcome, list[str] | str]:
    """The undo's outcome and the exact command it ran (for the audit log)."""
    command: list[str] | str = (list(step.undo_argv) if step.undo_op == "run"
                                else f"mv {step.args.get('dst')} -> {step.args.get('src')}")
    try:
        if step.undo_op == "rename-back":
            return await _rename_back(r, step), command
        if step.undo_op == "run":
            return await _undo_run(r, step), command
        if step.undo_op == "restore-file":
            from blackstart.runbook import member_ops

            return await member_ops.restore_file(r, step), command
    except (OSError, StepFailed) as exc:
        return Outcome("failed", error=str(exc)), command
    except Exception as exc:  # noqa: BLE001 - NodeError and friends: reported, never a traceback
        return Outcome("failed", error=str(exc)), command
    return Outcome("failed", error=f"unknown undo {step.undo_op!r}"), command


async def after_rollback_problems(r: Runner) -> list[str]:
    """A plan that stopped or restarted etcd is rolled back only when quorum answers."""
    touched = r.plan.action in ("restore", "renew-cert") or any(
        s.undo_op == "run" and s.args.get("member") for s in r.plan.steps)
    if not touched or not r.cluster.members:
        return []
    problems: list[str] = await asyncio.to_thread(etcdapi.wait_healthy, r.cluster,
                                                  ROLLBACK_HEALTH_TIMEOUT, 0.5)
    return problems


async def _rename_back(r: Runner, step: Step) -> Outcome:
    src, dst = str(step.args["src"]), str(step.args["dst"])
    c = r.client(step.node)
    if await c.stat(dst) is None:
        return Outcome("skipped", r.say(f"nothing to put back: {dst} does not exist"))
    lines = []
    if await c.stat(src) is not None:
        aside = f"{src}.rolled-back-{stamp()}"
        await safe_node_io.node_rename(c, src, aside)
        lines.append(f"moved aside {src} -> {aside}")
    await safe_node_io.node_rename(c, dst, src)
    lines.append(f"put back {dst} -> {src}")
    return Outcome("ok", r.say("\n".join(lines)))


async def _undo_run(r: Runner, step: Step) -> Outcome:
    res = await r.client(step.node).run(step.undo_argv, timeout=step.timeout)
    out = r.say(res.stdout + res.stderr)
    if not res.ok:
        return Outcome("failed", out, res.exit_code, f"exit code {res.exit_code}")
    member = str(step.args.get("member") or "")
    if member and step.argv != step.undo_argv and "start" in step.id:
        # undoing an etcd start: confirm it stopped before any data dir is put back
        return await wait_stopped(r, step, member, 30.0)
    return Outcome("ok", out, res.exit_code)
