"""Step handlers that wait, bounded by the step's timeout: for quorum, a member caught up,
etcd stopped (no process, client port closed), every member healthy, a port listening, a
control-plane process gone or back. Also how a process is recognised in `pgrep -a`.
"""

from __future__ import annotations

import asyncio
import os

from blackstart.checks.probes.processes import component_of
from blackstart.runbook import etcdapi
from blackstart.runbook.plan import Step
from blackstart.runbook.runner import (
    Outcome,
    Runner,
    etcd_pids_using,
    port_open,
    wait_until,
)


async def op_wait(r: Runner, step: Step, previous: str | None) -> Outcome:
    from blackstart.runbook import member_ops

    kind = step.args.get("kind")
    if kind == "quorum":
        return await member_ops.wait_quorum(r, step)
    if kind == "caught-up":
        return await member_ops.wait_caught_up(r, step)
    if kind == "alone":
        return await member_ops.wait_alone(r, step)
    if kind == "stopped":
        return await wait_stopped(r, step, str(step.args["member"]), step.timeout)
    if kind == "healthy":
        problems = await asyncio.to_thread(etcdapi.wait_healthy, r.cluster, step.timeout)
        if problems:
            return Outcome("failed", r.say("\n".join(problems)),
                           error=f"no healthy quorum within {step.timeout:g}s: "
                                 + "; ".join(problems))
        return Outcome("ok", r.say("every member healthy, one leader"))
    if kind == "listening":
        url = r.cluster.member(str(step.args["member"])).client_url
        if await wait_until(lambda: asyncio.to_thread(port_open, url), step.timeout, 0.2):
            return Outcome("ok", r.say(f"{url} accepts connections"))
        return Outcome("failed", error=f"{url} not listening after {step.timeout:g}s")
    if kind in ("process-gone", "process-back"):
        return await _wait_process(r, step, str(step.args["name"]), kind == "process-gone")
    return Outcome("failed", error=f"unknown wait {kind!r}")


async def etcd_running(r: Runner, node: str, data_dir: str) -> list[int]:
    res = await r.client(node).run(["pgrep", "-a", "-f", data_dir], timeout=10)
    return etcd_pids_using(res.text(), data_dir)


async def wait_stopped(r: Runner, step: Step, member_name: str, timeout: float) -> Outcome:
    m = r.cluster.member(member_name)
    state: dict[str, object] = {}

    async def stopped() -> bool:
        state["pids"] = await etcd_running(r, step.node, m.data_dir)
        state["port"] = await asyncio.to_thread(port_open, m.client_url)
        return not state["pids"] and not state["port"]

    if await wait_until(stopped, timeout, interval=0.2):
        return Outcome("ok", r.say(f"etcd {m.name}: no process, {m.client_url} closed"))
    why = (f"etcd {m.name} did not stop within {timeout:g}s: processes {state.get('pids')}, "
           f"client port {'open' if state.get('port') else 'closed'}; no data dir was touched")
    return Outcome("failed", r.say(why), error=why)


async def _wait_process(r: Runner, step: Step, name: str, gone: bool) -> Outcome:
    async def check() -> bool:
        res = await r.client(step.node).run(["pgrep", "-a", "-f", name], timeout=10)
        running = bool(program_pids(res.text(), name, step.node))
        return not running if gone else running

    if await wait_until(check, step.timeout, interval=0.5):
        return Outcome("ok", r.say(f"{name} is {'gone' if gone else 'running'}"))
    return Outcome("failed", error=f"{name} on {step.node} still "
                   f"{'running' if gone else 'not running'} after {step.timeout:g}s")


def _names_node(argv: list[str], node: str) -> bool:
    return any(a == f"--node={node}" or (a == "--node" and i + 1 < len(argv)
                                         and argv[i + 1] == node) for i, a in enumerate(argv))


def program_pids(pgrep_output: str, name: str, node: str | None = None) -> list[int]:
    """Pids whose program (argv[0]'s basename) is `name`, from `pgrep -a -f`: the comm
    name is cut at 15 characters (kube-controller-manager), argv[0] is not."""
    pids = []
    for line in pgrep_output.splitlines():
        parts = line.split()
        # the same judgement as the processes probe (a binary, or the lab's stand-in for
        # this very node: a stand-in names its node)
        if len(parts) >= 2 and parts[0].isdigit() and (
                os.path.basename(parts[1]) == name
                or (node is not None and component_of(parts[1:]) == name
                    and _names_node(parts[1:], node))):
            pids.append(int(parts[0]))
    return pids
