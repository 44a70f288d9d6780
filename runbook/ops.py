"""What each step op does on a node, and how it is undone. One handler per op."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from blackstart.checks.probes.processes import component_of
from blackstart.runbook import cert_signing as certs
from blackstart.runbook import etcdapi, safe_files, safe_node_io
from blackstart.runbook.plan import Step, stamp
from blackstart.runbook.preflight import file_sha256
from blackstart.runbook.runner import (
    Outcome,
    Runner,
    StepFailed,
    etcd_pids_using,
    local_tmp,
    port_open,
    wait_until,
)

Handler = Callable[[Runner, Step, "str | None"], Awaitable[Outcome]]


async def op_run(r: Runner, step: Step, previous: str | None) -> Outcome:
    fresh = step.args.get("fresh_dir")
    if fresh:
        await _ensure_fresh_dir(r, step, str(fresh), previous)
    res = await r.client(step.node).run(step.argv, timeout=step.timeout)
    output = r.say(res.stdout + res.stderr)
    if res.exit_code != 0 and not step.allow_fail:
        last = (res.stderr or res.stdout).decode("utf-8", "replace").strip().splitlines()
        why = last[-1] if last else "no output"
        return Outcome("failed", output, res.exit_code, f"exit code {res.exit_code}: {why}")
    return Outcome("ok", output, res.exit_code)


async def _ensure_fresh_dir(r: Runner, step: Step, path: str, previous: str | None) -> None:
    """A restore writes into a path that must not exist. If an earlier run of this very
    step was cut short, its partial output is moved aside (never deleted)."""
    c = r.client(step.node)
    if await c.stat(path) is None:
        return
    if previous not in ("running", "failed"):
        raise StepFailed(f"{path} exists; refusing to restore over it")
    aside = f"{path}.partial-{stamp()}"
    await safe_node_io.node_rename(c, path, aside)
    r.say(f"moved the partial result of the interrupted step aside: {path} -> {aside}")


async def op_rename(r: Runner, step: Step, previous: str | None) -> Outcome:
    src, dst = str(step.args["src"]), str(step.args["dst"])
    c = r.client(step.node)
    s, d = await c.stat(src), await c.stat(dst)
    if s is None and d is not None:
        return Outcome("skipped", r.say(f"already done: {dst} exists, {src} does not"))
    if s is None:
        return Outcome("failed", error=f"{src} does not exist on {step.node}")
    if d is not None:
        return Outcome("failed", error=f"{dst} already exists on {step.node}")
    await safe_node_io.node_makedirs(c, os.path.dirname(dst))
    await safe_node_io.node_rename(c, src, dst)
    return Outcome("ok", r.say(f"mv {src} -> {dst}"))


async def op_makedirs(r: Runner, step: Step, previous: str | None) -> Outcome:
    await safe_node_io.node_makedirs(r.client(step.node), str(step.args["path"]),
                                   mode=int(step.args.get("mode", 0o700)))
    return Outcome("ok")


async def op_copy(r: Runner, step: Step, previous: str | None) -> Outcome:
    src, dst, want = str(step.args["src"]), str(step.args["dst"]), str(step.args["sha256"])
    src_node = str(step.args.get("src_node") or "")
    if not want and not src_node:  # made by an earlier step of this plan: hash it now
        want = step.args["sha256"] = await asyncio.to_thread(file_sha256, src)
    c = r.client(step.node)
    if await c.stat(dst) is not None and await node_sha256(r, step.node, dst) == want:
        return Outcome("skipped", r.say(f"{dst} already holds the same bytes ({want[:12]}…)"))
    await safe_node_io.node_makedirs(c, os.path.dirname(dst))
    if src_node:
        tmp = local_tmp(r.cluster, os.path.basename(src))
        await safe_node_io.node_get(r.client(src_node), src, str(tmp), timeout=step.timeout)
        await safe_node_io.node_put(c, str(tmp), dst, timeout=step.timeout)
        tmp.unlink()  # our own temporary copy in the state dir, not operator data
    else:
        await safe_node_io.node_put(c, src, dst, timeout=step.timeout)
    return await op_check_sha(r, step, previous)


async def node_sha256(r: Runner, node: str, path: str) -> str:
    res = await r.client(node).run(["sha256sum", "--", path], timeout=300)
    if not res.ok:
        raise StepFailed(f"sha256sum {path} on {node}: {res.stderr.decode().strip()}")
    return res.text().split()[0]


async def op_check_sha(r: Runner, step: Step, previous: str | None) -> Outcome:
    path, want = str(step.args.get("dst") or step.args["path"]), str(step.args["sha256"])
    got = await node_sha256(r, step.node, path)
    out = r.say(f"{path}: sha256 {got}")
    if got != want:
        return Outcome("failed", out, error=f"{path} on {step.node}: sha256 {got} != {want}")
    return Outcome("ok", out)


async def _check_unchanged(r: Runner, step: Step, previous: str | None) -> Outcome:
    """Size and mtime as when its sha256 was compared at planning: the same bytes, without
    reading them again. Anything different and it is hashed again."""
    path = str(step.args["path"])
    st = await r.client(step.node).stat(path)
    if st is None:
        return Outcome("failed", error=f"{path} is gone from {step.node}")
    if st.size == step.args.get("size") and st.mtime == step.args.get("mtime"):
        return Outcome("ok", r.say(f"{path}: unchanged since planning (size {st.size})"))
    return await op_check_sha(r, step, previous)


async def op_check(r: Runner, step: Step, previous: str | None) -> Outcome:
    kind = step.args.get("kind")
    if kind == "sha256":
        return await op_check_sha(r, step, previous)
    if kind == "unchanged":
        return await _check_unchanged(r, step, previous)
    if kind == "verify":
        return await _verify_cluster(r, step)
    if kind == "ca-pair":
        return await _check_ca_pair(r, step)
    return Outcome("failed", error=f"unknown check {kind!r}")


async def _check_ca_pair(r: Runner, step: Step) -> Outcome:
    c = r.client(step.node)
    a = {k: str(v) for k, v in step.args.items()}
    try:
        certs.check_ca_pair(await c.read_file(a["ca_cert"]), await c.read_file(a["ca_key"]),
                            await c.read_file(a["sample"]), time.time())
    except certs.CertError as exc:
        return Outcome("failed", error=f"{a['ca_key']} / {a['ca_cert']} on {step.node}: {exc}"
                                       "; nothing was moved")
    return Outcome("ok", r.say(f"{a['ca_key']} matches {a['ca_cert']} and signs"))


async def _verify_cluster(r: Runner, step: Step) -> Outcome:
    min_rev = int(step.args.get("min_revision", 0))
    problems, lines = await asyncio.to_thread(verify_cluster, r, min_rev)
    out = r.say("\n".join(lines))
    if problems:
        return Outcome("failed", out, error="; ".join(problems))
    return Outcome("ok", out)


def verify_cluster(r: Runner, min_revision: int) -> tuple[list[str], list[str]]:
    """Exactly one leader, hashkv equal on every member, revision ≥ the snapshot's."""
    cl = r.cluster
    health = etcdapi.cluster_health(cl)
    problems = etcdapi.quorum_problems(health)
    lines = [f"{h.name}: {'healthy' if h.ok else h.error} rev={h.revision} "
             f"{'leader' if h.is_leader else ''}".rstrip() for h in health]
    if problems:
        return problems, lines
    rev = min(h.revision or 0 for h in health)
    hashes = {m.name: etcdapi.hashkv(cl, m, rev) for m in cl.members}
    lines += [f"{n}: hashkv@{rev} = {h[0]}" for n, h in hashes.items()]
    if len({h[0] for h in hashes.values()}) != 1:
        problems.append(f"hashkv differs between members at revision {rev}")
    if rev < min_revision:
        problems.append(f"revision {rev} is below the snapshot's {min_revision}")
    return problems, lines


async def op_wait(r: Runner, step: Step, previous: str | None) -> Outcome:
    from blackstart.runbook import member_ops

    kind = step.args.get("kind")
    if kind == "quorum":
        return await member_ops.wait_quorum(r, step)
    if kind == "caught-up":
        return await member_ops.wait_caught_up(r, step)
    if kind == "stopped":
        return await _wait_stopped(r, step, str(step.args["member"]), step.timeout)
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


async def _wait_stopped(r: Runner, step: Step, member_name: str, timeout: float) -> Outcome:
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


async def op_api(r: Runner, step: Step, previous: str | None) -> Outcome:
    from blackstart.runbook import member_ops

    call, m = step.args.get("call"), r.cluster.member(str(step.args["member"]))
    if call in ("member-remove", "member-add"):
        return await member_ops.member_call(r, step)
    if call == "snapshot":
        return await _snapshot(r, step)
    if call == "defrag":
        await asyncio.to_thread(etcdapi.defragment, r.cluster, m)
        return Outcome("ok", r.say(f"defragmented {m.name}"))
    if call == "disarm":
        active = await asyncio.to_thread(etcdapi.disarm_alarms, r.cluster, m)
        return Outcome("ok", r.say(f"disarmed: {', '.join(active) or 'no active alarm'}"))
    return Outcome("failed", error=f"unknown api call {call!r}")


class _SnapshotInvalid(Exception):
    pass


async def _snapshot(r: Runner, step: Step) -> Outcome:
    from blackstart.checks.formats.snapshot_file import verify_snapshot_file

    m, dest = r.cluster.member(str(step.args["member"])), Path(str(step.args["dest"]))
    safe_files.state_subdir(r.cluster.state_dir)
    safe_files.private_dir(dest.parent, own=True)

    def save() -> Any:
        # a fresh unguessable temp beside the final name; on any error (a full disk
        # included) it is removed, so nothing is left to fill the disk
        with safe_files.staged(dest, replace=False) as st:
            etcdapi.save_snapshot(r.cluster, m, st.fh, timeout=step.timeout)
            st.fh.flush()
            v = verify_snapshot_file(st.temp)
            if not v.valid or v.sha256_ok is not True:
                raise _SnapshotInvalid(f"saved snapshot does not verify: {v.error}")
        return v

    try:
        v = await asyncio.to_thread(save)
    except _SnapshotInvalid as exc:
        return Outcome("failed", error=f"{dest}: {exc}")
    except OSError as exc:
        return Outcome("failed", error=f"cannot write the snapshot {dest}: "
                                       f"{exc.strerror or exc} (nothing was left behind)")
    info = {"path": str(dest), "revision": v.revision, "total_keys": v.total_keys,
            "sha256": file_sha256(str(dest)), "member": m.name}
    return Outcome("ok", r.say(json.dumps(info)))


async def op_write(r: Runner, step: Step, previous: str | None) -> Outcome:
    from blackstart.runbook import member_ops

    if step.args.get("kind") == "join-flags":
        return await member_ops.write_join_flags(r, step)
    if step.args.get("kind") != "renew-cert":
        return Outcome("failed", error=f"unknown write {step.args.get('kind')!r}")
    a = {k: str(v) for k, v in step.args.items()}
    c = r.client(step.node)
    old = await c.read_file(a["from_cert"])
    ca_cert, ca_key = await c.read_file(a["ca_cert"]), await c.read_file(a["ca_key"])
    try:
        cert_pem, key_pem = certs.renew(old, ca_cert, ca_key, time.time())
    except certs.CertError as exc:
        return Outcome("failed", error=f"cannot sign {a['cert']} on {step.node}: {exc}")
    # key first: a cert without its key is worse than a key without its cert
    await safe_node_io.node_write(c, a["key"], key_pem, mode=0o600)
    await safe_node_io.node_write(c, a["cert"], cert_pem, mode=0o644)
    return Outcome("ok", r.say(f"wrote {a['cert']} ({certs.describe(cert_pem)}), "
                               f"new key {a['key']} (0600)"))


async def op_delete(r: Runner, step: Step, previous: str | None) -> Outcome:
    """Only for `snapshot save --prune --delete`, which the operator asks for by name."""
    res = await r.client(step.node).run(["rm", "-f", "--", str(step.args["path"])])
    if not res.ok:
        return Outcome("failed", res.stderr, res.exit_code, res.stderr.decode().strip())
    return Outcome("ok", r.say(f"deleted {step.args['path']}"), 0)


HANDLERS: dict[str, Handler] = {
    "run": op_run, "rename": op_rename, "makedirs": op_makedirs, "copy": op_copy,
    "check": op_check, "wait": op_wait, "api": op_api, "write": op_write, "delete": op_delete,
}


def _backup_handlers() -> dict[str, Handler]:
    from blackstart.runbook.backup_plan import HANDLERS as BACKUP

    return dict(BACKUP)


HANDLERS.update(_backup_handlers())


# --------------------------------------------------------------------------- undo


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
        return await _wait_stopped(r, step, member, 30.0)
    return Outcome("ok", out, res.exit_code)
