"""Executor handlers for the member plans (runbook.members): quorum and catch-up waits,
member remove/add, the joining member's manifest flags. Each is idempotent, so a resumed
plan can run a step again."""

from __future__ import annotations

import asyncio
import time

import yaml

from blackstart.runbook import etcdapi
from blackstart.runbook.plan import Step
from blackstart.runbook.runner import Outcome, Runner, wait_until

MEMBER_CALL_TIMEOUT = 30.0
FORCE_FLAG = "--force-new-cluster"


async def wait_quorum(r: Runner, step: Step) -> Outcome:
    exclude = tuple(x for x in str(step.args.get("exclude", "")).split(",") if x)
    last: list[str] = []

    async def held() -> bool:
        nonlocal last
        last = await asyncio.to_thread(etcdapi.healthy_quorum, r.cluster, exclude)
        return not last

    if await wait_until(held, step.timeout, 0.5):
        return Outcome("ok", r.say("quorum holds, one leader"))
    return Outcome("failed", r.say("\n".join(last)),
                   error=f"no quorum within {step.timeout:g}s: " + "; ".join(last))


async def wait_caught_up(r: Runner, step: Step) -> Outcome:
    """The leader's raft index is read once there is a leader: a member added to a
    one-member cluster leaves it without quorum (and leader) until it has joined."""
    name = str(step.args["member"])
    deadline = time.monotonic() + step.timeout
    target: int | None = None

    async def leader() -> bool:
        nonlocal target
        target = await asyncio.to_thread(etcdapi.leader_index, r.cluster, name)
        return target is not None

    if not await wait_until(leader, step.timeout, 0.5) or target is None:
        return Outcome("failed", error=f"no leader among the other members within "
                                       f"{step.timeout:g}s")
    ok = await wait_until(lambda: asyncio.to_thread(etcdapi.caught_up, r.cluster, name, target),
                          max(0.0, deadline - time.monotonic()), 0.5)
    if ok:
        return Outcome("ok", r.say(f"{name} is healthy at raft index ≥ {target} (the leader's)"))
    return Outcome("failed", error=f"{name} did not reach the leader's raft index {target} "
                                   f"within {step.timeout:g}s")


async def wait_alone(r: Runner, step: Step) -> Outcome:
    name = str(step.args["member"])
    last = ["not checked"]

    async def alone() -> bool:
        nonlocal last
        last = await asyncio.to_thread(etcdapi.alone_problems, r.cluster, name)
        return not last

    if await wait_until(alone, step.timeout, 0.5):
        return Outcome("ok", r.say(f"{name} is healthy, its own leader, the only member"))
    return Outcome("failed", r.say("\n".join(last)),
                   error=f"{name} not healthy alone within {step.timeout:g}s: "
                         + "; ".join(last))


async def member_call(r: Runner, step: Step) -> Outcome:
    """Membership changes are retried (each call looks before it changes anything): right
    after a remove, the cluster may be re-electing and refuse the next call for a moment."""
    name, peer = str(step.args["member"]), str(step.args["peer_url"])
    fn = etcdapi.member_remove if step.args.get("call") == "member-remove" else etcdapi.member_add
    deadline = time.monotonic() + MEMBER_CALL_TIMEOUT
    while True:
        try:
            text = await asyncio.to_thread(fn, r.cluster, name, peer)
            return Outcome("ok", r.say(text))
        except Exception as exc:  # noqa: BLE001 - grpc/etcd3 errors: retried, then named
            if time.monotonic() >= deadline:
                return Outcome("failed", error=f"{step.args.get('call')} {name}: {exc}")
            r.say(f"{step.args.get('call')} {name}: {exc}; retrying")
            await asyncio.sleep(1.0)


def set_join_flags(text: str, initial_cluster: str) -> str:
    """The manifest with --initial-cluster-state=existing and --initial-cluster set
    (added when absent); everything else as it was. Pure."""
    doc = yaml.safe_load(text)
    c = doc["spec"]["containers"][0]
    cmd = [str(a) for a in c["command"]]
    want = {"--initial-cluster-state": "existing", "--initial-cluster": initial_cluster}
    out = [a for a in cmd if a.split("=", 1)[0] not in want]
    out += [f"{k}={v}" for k, v in want.items()]
    c["command"] = out
    dumped: str = yaml.safe_dump(doc, sort_keys=False)
    return dumped


async def write_join_flags(r: Runner, step: Step) -> Outcome:
    path, keep = str(step.args["manifest"]), str(step.args["keep"])
    c = r.client(step.node)
    old = await c.read_file(path)
    if await c.stat(keep) is None:
        await c.write_file(keep, old, mode=0o600)
    new = set_join_flags(old.decode(), str(step.args["initial_cluster"]))
    await c.write_file(path, new.encode(), mode=0o600)
    return Outcome("ok", r.say(f"{path}: --initial-cluster-state=existing; old file kept "
                               f"as {keep}"))


def set_force_flag(text: str, on: bool) -> str:
    """The manifest with --force-new-cluster added (on) or removed (off), everything else
    as it was. Pure."""
    doc = yaml.safe_load(text)
    c = doc["spec"]["containers"][0]
    cmd = [str(a) for a in c["command"] if str(a).split("=", 1)[0] != FORCE_FLAG]
    c["command"] = [*cmd, FORCE_FLAG] if on else cmd
    dumped: str = yaml.safe_dump(doc, sort_keys=False)
    return dumped


async def write_force_flag(r: Runner, step: Step) -> Outcome:
    path, keep, on = str(step.args["manifest"]), str(step.args["keep"]), bool(step.args["on"])
    c = r.client(step.node)
    old = await c.read_file(path)
    if on and await c.stat(keep) is None:
        await c.write_file(keep, old, mode=0o600)
    await c.write_file(path, set_force_flag(old.decode(), on).encode(), mode=0o600)
    if on:
        return Outcome("ok", r.say(f"{path}: added {FORCE_FLAG}; old file kept as {keep}"))
    return Outcome("ok", r.say(f"{path}: removed {FORCE_FLAG}"))


async def restore_file(r: Runner, step: Step) -> Outcome:
    path, keep = str(step.args["manifest"]), str(step.args["keep"])
    c = r.client(step.node)
    if await c.stat(keep) is None:
        return Outcome("skipped", r.say(f"nothing to put back: {keep} does not exist"))
    await c.write_file(path, await c.read_file(keep), mode=0o600)
    return Outcome("ok", r.say(f"put {keep} back at {path}"))
