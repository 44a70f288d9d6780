"""Step handlers that change a node: run a command, rename, make a directory, copy a file
in (checked by sha256 after), write a renewed certificate, delete a pruned file. Every
write goes through `safe_node_io`; the op name → handler table is in `ops`.
"""

from __future__ import annotations

import asyncio
import os
import time

from blackstart.runbook import cert_signing as certs
from blackstart.runbook import safe_node_io
from blackstart.runbook.ops_checks import node_sha256, op_check_sha
from blackstart.runbook.plan import Step, stamp
from blackstart.runbook.preflight import file_sha256
from blackstart.runbook.runner import Outcome, Runner, StepFailed, local_tmp


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


async def op_write(r: Runner, step: Step, previous: str | None) -> Outcome:
    from blackstart.runbook import member_ops

    if step.args.get("kind") == "join-flags":
        return await member_ops.write_join_flags(r, step)
    if step.args.get("kind") == "force-flag":
        return await member_ops.write_force_flag(r, step)
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
