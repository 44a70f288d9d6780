"""Step handlers that look and change nothing: a file's sha256 (or size and mtime as at
planning), a CA key that matches its certificate, and the cluster verified after a
restore (one leader, equal hashkv, revision not below the snapshot's).
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from blackstart.checks.model import Cluster
from blackstart.runbook import cert_signing as certs
from blackstart.runbook import etcdapi
from blackstart.runbook.plan import Step
from blackstart.runbook.runner import Outcome, Runner, StepFailed


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


HASHKV_TRIES = 10
HASHKV_PAUSE = 1.5


def _hashkvs(cl: Cluster, rev: int) -> dict[str, tuple[int, int, int]]:
    """Each member's hashkv at `rev`, asked all at once (each hashes its whole db)."""
    with ThreadPoolExecutor(len(cl.members), thread_name_prefix="hashkv") as pool:
        got = list(pool.map(lambda m: etcdapi.hashkv(cl, m, rev), cl.members))
    return {m.name: h for m, h in zip(cl.members, got, strict=True)}


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
    # A member that has just joined may still be applying what it was sent: agreement is
    # asked again (bounded) before a difference counts, and every reading is shown.
    for attempt in range(HASHKV_TRIES):
        hashes = _hashkvs(cl, rev)
        lines += [f"{n}: hashkv@{rev} = {h[0]}" for n, h in hashes.items()]
        if len({h[0] for h in hashes.values()}) == 1:
            break
        if attempt + 1 < HASHKV_TRIES:
            time.sleep(HASHKV_PAUSE)
    else:
        problems.append(f"hashkv differs between members at revision {rev} "
                        f"({HASHKV_TRIES} readings, {HASHKV_PAUSE:g} s apart)")
    if rev < min_revision:
        problems.append(f"revision {rev} is below the snapshot's {min_revision}")
    return problems, lines
