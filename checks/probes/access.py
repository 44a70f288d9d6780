"""Can blackstart get into each node at all? One SSH login per remote node.

Every other probe also fails when a node cannot be reached, each in its own words; this
probe says it once, with the reason class (`NodeError.kind`), so diagnosis can name the
real problem (an untrusted host key, a refused login, a dead link) instead of a dozen
"file unreadable" findings.
"""

from __future__ import annotations

import asyncio

from blackstart.checks.model import Node
from blackstart.checks.nodes import CONNECT_TIMEOUT, NodeError
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
    """This node's answer, whatever happens: one node's surprise (an exception no client
    maps, a login that never ends) must not erase the others' answers from the report."""
    if node.ssh is None:
        return NodeAccess(node.name, "local", True)
    limit = CONNECT_TIMEOUT + ctx.deadline
    try:
        res = await asyncio.wait_for(
            ctx.client(node.name).run(["true"], timeout=ctx.deadline), limit)
    except NodeError as exc:
        return NodeAccess(node.name, via(node), False, exc.kind, exc.message)
    except TimeoutError:
        return NodeAccess(node.name, via(node), False, "timeout",
                          f"{via(node)}: no login within {limit:g}s")
    except Exception as exc:  # noqa: BLE001 - one node's answer, never the probe's end
        return NodeAccess(node.name, via(node), False, "error",
                          f"{via(node)}: {type(exc).__name__}: {exc}")
    if not res.ok:
        return NodeAccess(node.name, via(node), False, "error",
                          f"`true` exited {res.exit_code} on {node.name}")
    return NodeAccess(node.name, via(node), True)
