"""The state a restore plan is built with: the cluster, the check report, one writer per
node (to read them while planning; closed once the plan is built), the plan id and
timestamp, its step ids, and what later steps read (the cluster token, the revision bump,
how long a stop may take).
"""

from __future__ import annotations

from blackstart.checks.conclusions import Report
from blackstart.checks.model import Cluster
from blackstart.runbook.hooks import NO_HOOKS, Hooks
from blackstart.runbook.node_writer import NodeWriter, WriterPool
from blackstart.runbook.plan import StepIds, new_plan_id, stamp


class Planner:
    def __init__(self, cluster: Cluster, report: Report | None, hooks: Hooks = NO_HOOKS
                 ) -> None:
        self.cluster, self.report, self.hooks = cluster, report, hooks
        self.pool = WriterPool(cluster)
        self.plan_id = new_plan_id("restore")
        self.ts = stamp()
        self.ids = StepIds()
        self.token = ""
        self.bump: int | None = None
        self.stop_timeout = 30.0

    def client(self, node: str) -> NodeWriter:
        return self.pool.client(node)

    async def close(self) -> None:
        await self.pool.close()
