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
    # A remote node is read twice and the reading with the shorter round trip kept (as NTP
    # does): the first also pays for the SSH login, whose time is not skew.
    samples = 1 if node.ssh is None else 2
    best: tuple[float, float, float] | None = None  # (round trip, theirs, ours)
    for _ in range(samples):
        try:
            got = await _read_once(ctx, node)
        except (NodeError, TimeoutError) as exc:
            why = str(exc) or f"no answer within {ctx.deadline:g}s"
            return ClockInfo(node=node.name, epoch=None, error=f"node {node.name}: cannot "
                                                               f"read the clock ({why})")
        best = got if best is None or got[0] < best[0] else best
    assert best is not None
    rtt, theirs, ours = best
    return ClockInfo(node=node.name, epoch=theirs, skew=skew(theirs, ours),
                     uncertainty=round(rtt / 2, 3))


async def _read_once(ctx: ProbeContext, node: Node) -> tuple[float, float, float]:
    """(round trip, their clock, ours at the midpoint). Our clock is ctx.now() (injectable);
    the round trip is timed on the monotonic clock."""
    before, t0 = ctx.now(), time.monotonic()
    theirs = await asyncio.wait_for(ctx.client(node.name).now(timeout=ctx.deadline),
                                    ctx.deadline + 1)
    rtt = time.monotonic() - t0
    return rtt, theirs, before + rtt / 2


def skew(theirs: float, ours: float) -> float:
    """Seconds the node is ahead (+) or behind (-) us, rounded to the millisecond."""
    return round(theirs - ours, 3)
