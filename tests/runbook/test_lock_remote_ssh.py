"""The per-node runbook lock through a real OpenSSH sshd (the flat lab with `ssh=True`:
every node is reached over SSH but all share this machine's filesystem, so every node's
lock file is the one `<state_dir>/lock`).

- a live holder there refuses a remote acquire, naming the node and the holder record;
- a plan spanning those nodes is not refused by itself (its own token), and a second
  plan is refused while it runs, then gets every lock once it ended;
- a holder whose process is SIGKILLed while it holds the lock over SSH loses it by the
  kernel alone (sshd closes the session), leaving its record to be told."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from blackstart.checks.discovery.inventory import load_inventory
from blackstart.runbook import executor, lock, lock_plan, lock_remote
from blackstart.runbook.hooks import Hooks
from blackstart.runbook.journal import open_journal
from blackstart.runbook.plan import Plan, Step
from blackstart.runbook.runner import Runner

pytestmark = [pytest.mark.lab, pytest.mark.ssh, pytest.mark.timeout(120)]


def _plan(nodes: list[str], pid: str = "p-1") -> Plan:
    return Plan(pid, "defrag", "t", "c", "t", True,
                [Step(f"{i}-x", n, "x", "run", argv=("true",)) for i, n in enumerate(nodes)])


HOLD_OVER_SSH = """
import asyncio, sys
from blackstart.checks.discovery.inventory import load_inventory
from blackstart.runbook import lock, lock_remote
c = load_inventory(config=sys.argv[1])
async def main():
    rec = lock.new_holder("killed", "plan-killed")
    await lock_remote.acquire_remote(c.node(sys.argv[2]), c.state_dir, rec)
    print("held", flush=True)
    await asyncio.sleep(600)
asyncio.run(main())
"""


def _hold_then_sigkill(inventory: str, node: str, state_dir: str) -> None:
    """A process holding `node`'s lock over SSH, SIGKILLed while it holds it."""
    p = subprocess.Popen([sys.executable, "-c", HOLD_OVER_SSH, inventory, node],
                         stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout is not None and p.stdout.readline().strip() == "held"
        with pytest.raises(lock.LockHeld):
            lock.acquire(state_dir, "bob", "x")
        os.kill(p.pid, signal.SIGKILL)
        p.wait(10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)


def test_the_lock_over_ssh(lab_factory: Callable[..., Any]) -> None:
    lab = lab_factory(ssh=True)
    cluster = load_inventory(config=str(lab.inventory_path))
    ssh_nodes = sorted(n.name for n in cluster.nodes if n.ssh is not None)
    assert len(ssh_nodes) >= 2, cluster.nodes
    node = cluster.node(ssh_nodes[0])

    async def scenario() -> None:
        here = lock.acquire(cluster.state_dir, "alice", "restore-0001")
        try:
            with pytest.raises(lock.LockHeld) as exc:
                await lock_remote.acquire_remote(node, cluster.state_dir,
                                                 lock.new_holder("bob", "restart-0002"))
            assert exc.value.node == node.name
            assert exc.value.reason.startswith(f"on node {node.name}, another operator")
            assert f"user 'alice' on host '{here.holder['host']}' (pid {os.getpid()})" \
                in exc.value.reason and "restore-0001" in exc.value.reason
        finally:
            here.release()

        first = await lock_plan.acquire_plan(cluster, "alice", _plan(ssh_nodes))
        try:
            with pytest.raises(lock.LockHeld):
                await lock_plan.acquire_plan(cluster, "bob", _plan(ssh_nodes, "p-2"))
        finally:
            await first.release()
        second = await lock_plan.acquire_plan(cluster, "bob", _plan(ssh_nodes, "p-2"))
        await second.release()

    asyncio.run(scenario())

    _hold_then_sigkill(str(lab.inventory_path), node.name, cluster.state_dir)
    t0, got = time.monotonic(), None
    while got is None and time.monotonic() - t0 < 15:
        try:
            got = lock.acquire(cluster.state_dir, "bob", "after")
        except lock.LockHeld:
            time.sleep(0.05)
    assert got is not None, "the killed holder's lock over SSH was never freed"
    try:
        assert got.left_by and got.left_by["plan"] == "plan-killed", got.left_by
        print(f"\nfree {time.monotonic() - t0:.2f} s after SIGKILL of the SSH holder; "
              f"record left: {json.dumps(got.left_by)[:120]}")
    finally:
        got.release()


class _KillLockAfterFirst(Hooks):
    """After step 1: kill the node-side lock script, as a lost session would."""

    def __init__(self, state_dir: str) -> None:
        self.state_dir = state_dir

    def after_step(self, index: int, step: Step) -> None:
        if index != 0:
            return
        for p in psutil.process_iter(["cmdline"]):
            cmd = p.info["cmdline"] or []
            if "blackstart-lock" in cmd and f"{self.state_dir}/lock" in cmd:
                p.kill()


def test_a_step_on_a_node_whose_lock_was_lost_is_not_run(lab_factory: Callable[..., Any],
                                                         tmp_path: Path) -> None:
    """The lock's own session to a node ends mid-plan: the next step on that node fails
    with a message saying so, and does not run (its mark file is never made)."""
    lab = lab_factory(ssh=True)
    cluster = load_inventory(config=str(lab.inventory_path))
    node = sorted(n.name for n in cluster.nodes if n.ssh is not None)[0]
    remote_sd = str(tmp_path / "remote-state")  # not the local lock's file: a real holder
    mark = tmp_path / "second-step-ran"
    plan = Plan("p-lost", "defrag", "t", "c", "t", True, [
        Step("01-a", node, "a", "run", argv=("true",)),
        Step("02-b", node, "b", "run", argv=("touch", str(mark)))])

    async def scenario() -> tuple[Any, str]:
        rl = await lock_remote.acquire_remote(cluster.node(node), remote_sd,
                                              lock.new_holder("alice", plan.id))
        locks = lock_plan.PlanLocks(lock.new_holder("alice", plan.id), remote=[rl])
        runner = Runner(plan, cluster, "alice", None)
        j = open_journal(cluster.state_dir, plan, "alice")
        hooks = _KillLockAfterFirst(remote_sd)
        try:
            res = await executor._run_from(runner, j, hooks, locks)
        finally:
            await runner.close()
            await locks.release()
        return res, j.status["02-b"]

    res, status = asyncio.run(scenario())
    assert not res.ok and res.failed_step is not None and res.failed_step.id == "02-b"
    assert res.error and "lost the runbook lock" in res.error and node in res.error
    assert status == "failed" and not mark.exists()

