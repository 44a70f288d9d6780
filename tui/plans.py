"""What the confirmation dialog shows: a runbook `Plan`, or a preview when the runbook
cannot plan (not installed yet). Pure: no Textual; the plan is made by `runbook`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from blackstart.checks.model import Cluster, Report
from blackstart.checks.requests import Request, describe

DESTRUCTIVE = frozenset({"restore", "replace-member", "recover"})


@dataclass
class PlanView:
    action: str
    title: str
    target: str
    destructive: bool
    lines: list[str]
    warnings: list[str] = field(default_factory=list)
    plan: Any | None = None  # the runbook Plan; None means preview only, nothing can run
    note: str = ""
    digest: str = ""  # the plan's digest as shown: the executor runs only this plan

    @property
    def runnable(self) -> bool:
        return self.plan is not None


Planner = Callable[..., "PlanView"]  # (request, cluster, report) -> PlanView


def propose(request: Request, cluster: Cluster, report: Report | None) -> PlanView:
    try:
        from blackstart.runbook.planner import plan_for
    except ImportError:
        return _preview_only(request, cluster)
    plan = plan_for(request, cluster, report)  # a PlanRefused reaches the app as it is
    return PlanView(request.name, plan.title, plan.target, bool(plan.destructive),
                    [*plan.preview_lines(), f"plan digest: {plan.digest()}"],
                    list(plan.warnings), plan, digest=plan.digest())


def _preview_only(request: Request, cluster: Cluster) -> PlanView:
    target = describe(request)
    return PlanView(request.name, f"{request.name} ({cluster.name})", target,
                    request.name in DESTRUCTIVE, [f"{target} on cluster {cluster.name}"],
                    note="The runbook module is not available: this is a preview only, "
                         "nothing will run.")
