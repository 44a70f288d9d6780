"""Each node's clock against ours.

After a power cut a node can boot with its RTC reset (or far off until NTP catches up):
then valid certificates look "not yet valid" or "expired" and etcd peers complain of
clock drift. Skew is the node's time minus the midpoint of our own reading window, so the
round trip to a remote node does not count as skew.
"""

from __future__ import annotations

import asyncio
import time

from blackstart.checks.model import Node
from blackstart.checks.nodes import NodeError
from blackstart.checks.probe_results import ClockInfo
from blackstart.checks.probes.context import ProbeContext

SKEW_WARN = 1.0  # s: etcd's own "prober found high clock drift" threshold
SKEW_CRITICAL = 300.0  # s: big enough to flip certificate validity near its edges


async def probe_clocks(ctx: ProbeContext) -> list[ClockInfo]:
    """One ClockInfo per node, in inventory order; all nodes at once, each bounded."""
    return list(await asyncio.gather(*(_clock(ctx, n) for n in ctx.cluster.nodes)))


async def _clock(ctx: ProbeContext, node: Node) -> ClockInfo:
    if not node.has_access:
        return ClockInfo(node=node.name, epoch=None,
                         error=f"node {node.name}: no access (not this machine and no ssh "
                               "configured); its clock was not read")
    # Our clock is ctx.now() (injectable); the round trip is timed on the monotonic clock.
    before, t0 = ctx.now(), time.monotonic()
    try:
        theirs = await asyncio.wait_for(ctx.client(node.name).now(timeout=ctx.deadline),
                                        ctx.deadline + 1)
    except (NodeError, TimeoutError) as exc:
        why = str(exc) or f"no answer within {ctx.deadline:g}s"
        return ClockInfo(node=node.name, epoch=None, error=f"node {node.name}: cannot read "
                                                           f"the clock ({why})")
    ours = before + (time.monotonic() - t0) / 2
    return ClockInfo(node=node.name, epoch=theirs, skew=skew(theirs, ours))


def skew(theirs: float, ours: float) -> float:
    """Seconds the node is ahead (+) or behind (-) us, rounded to the millisecond."""
    return round(theirs - ours, 3)
