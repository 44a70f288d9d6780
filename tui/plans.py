"""What the confirmation dialog shows: the runbook's `Plan`, as lines, and its digest.
Pure: no Textual; the plan itself is made by `runbook`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from blackstart.checks.conclusions import Report
from blackstart.checks.model import Cluster
from blackstart.checks.requests import Request

if TYPE_CHECKING:
    from blackstart.runbook.plan import Plan


@dataclass
class PlanView:
    action: str
    title: str
    target: str
    destructive: bool
    lines: list[str]
    plan: Plan
    warnings: list[str] = field(default_factory=list)
    digest: str = ""  # the plan's digest as shown: the executor runs only this plan

    @classmethod
    def of(cls, action: str, plan: Plan) -> PlanView:
        digest = plan.digest()
        return cls(action, plan.title, plan.target, bool(plan.destructive),
                   [*plan.preview_lines(), f"plan digest: {digest}"], plan,
                   list(plan.warnings), digest)


Planner = Callable[[Request, Cluster, Report | None], PlanView]


def propose(request: Request, cluster: Cluster, report: Report | None) -> PlanView:
    # Imported on the first plan, not with the cockpit: the planner pulls in the etcd
    # client and grpc, which the first paint (and quitting) should not wait for.
    from blackstart.runbook.planner import plan_for

    plan = plan_for(request, cluster, report)  # a PlanRefused reaches the app as it is
    return PlanView.of(request.name, plan)
