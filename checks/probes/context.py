"""What every probe is handed: the cluster, a client per node, the clock, shared caches.

Every probe has the same shape:

    async def probe_<thing>(ctx: ProbeContext) -> list[<Result>]

It never raises for a node's or a file's trouble: it returns a result whose `error` says
what went wrong and names the node or file. Each probe bounds its own time with
`ctx.deadline` (seconds) so that one dead member never delays the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from blackstart.checks.model import Cluster
from blackstart.checks.nodes import NodeReader, connect


class VerifyStore(Protocol):
    """Verification results that survive runs (runbook.verify_cache writes them; probes
    only read and put in memory). Keys carry what identifies the bytes verified."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, value: dict[str, Any]) -> None: ...


@dataclass
class ProbeContext:
    cluster: Cluster
    clients: dict[str, NodeReader] = field(default_factory=dict)
    clock: Callable[[], float] = time.time  # injectable for deterministic tests
    deadline: float = 5.0  # per call, per member/node
    cache: dict[str, Any] = field(default_factory=dict)  # e.g. snapshot verify results
    store: VerifyStore | None = None  # the cache across runs, when the caller has one

    def client(self, node: str) -> NodeReader:
        if node not in self.clients:
            self.clients[node] = connect(self.cluster.node(node))
        return self.clients[node]

    def now(self) -> float:
        return self.clock()

    async def close(self) -> None:
        for c in self.clients.values():
            await c.close()
        self.clients.clear()


def make_context(cluster: Cluster, **kw: Any) -> ProbeContext:
    return ProbeContext(cluster=cluster, **kw)
