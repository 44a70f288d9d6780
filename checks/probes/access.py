"""Can blackstart get into each node at all? One SSH login per remote node.

Every other probe also fails when a node cannot be reached, each in its own words; this
probe says it once, with the reason class (`NodeError.kind`), so diagnosis can name the
real problem (an untrusted host key, a refused login, a dead link) instead of a dozen
"file unreadable" findings.
"""

from __future__ import annotations

import asyncio

from blackstart.checks.model import Node
from blackstart.checks.nodes import NodeError
from blackstart.checks.probe_results import NodeAccess
from blackstart.checks.probes.context import ProbeContext


def via(node: Node) -> str:
    """How the node is reached, in the words NodeError messages use for SSH."""
    if node.ssh is None:
        return "local"
    return f"ssh {node.ssh.user}@{node.ssh.host}:{node.ssh.port}"


async def probe_access(ctx: ProbeContext) -> list[NodeAccess]:
    nodes = [n for n in ctx.cluster.nodes if n.has_access]
    return list(await asyncio.gather(*(_one(ctx, n) for n in nodes)))


async def _one(ctx: ProbeContext, node: Node) -> NodeAccess:
    if node.ssh is None:
        return NodeAccess(node.name, "local", True)
    try:
        res = await ctx.client(node.name).run(["true"], timeout=ctx.deadline)
    except NodeError as exc:
        return NodeAccess(node.name, via(node), False, exc.kind, exc.message)
    if not res.ok:
        return NodeAccess(node.name, via(node), False, "error",
                          f"`true` exited {res.exit_code} on {node.name}")
    return NodeAccess(node.name, via(node), True)
