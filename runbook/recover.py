"""`recover`: the chosen strategy of the report's verdict, as one plan.

Each request of the strategy is planned by its own planner; their steps are joined in
order, each id prefixed with its part number so the journal names every step once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from blackstart.checks.conclusions import Report, Strategy
from blackstart.checks.model import Cluster
from blackstart.checks.requests import Request
from blackstart.runbook.plan import Plan, new_plan_id
from blackstart.runbook.preflight import PlanRefused


def choose(report: Report | None, name: str) -> Strategy:
    """The named strategy of the verdict ("" = the recommended one)."""
    if report is None:
        raise PlanRefused("recover needs a check report (run the checks first)")
    v = report.verdict
    if not v.strategies:
        raise PlanRefused("no recovery needed: " + v.summary)
    want = name or v.recommended
    if not want:
        blocked = "; ".join(f"{s.name}: {s.blocked}" for s in v.strategies if s.blocked)
        raise PlanRefused(f"no strategy is recommended yet ({blocked or v.summary}); "
                          "name one with --strategy to choose it yourself")
    found = next((s for s in v.strategies if s.name == want), None)
    if found is None:
        raise PlanRefused(f"strategy {want!r} does not apply here (these do: "
                          f"{', '.join(s.name for s in v.strategies)})")
    if found.blocked and (name == "" or not found.rewrites_data or "quorum holds" in
                          found.blocked or "does not run" in found.blocked
                          or "brick" in found.blocked):
        raise PlanRefused(f"{found.name}: {found.blocked}")
    return found


async def plan_recover(cluster: Cluster, report: Report | None, name: str, *, operator: str,
                       plan_one: Callable[[Request], Awaitable[Plan]]) -> Plan:
    strategy = choose(report, name)
    parts = [await plan_one(r) for r in strategy.requests]
    steps = [replace(s, id=f"p{i}.{s.id}") for i, p in enumerate(parts, 1) for s in p.steps]
    warnings = [w for p in parts for w in p.warnings]
    notes = [f"strategy {strategy.name}: {strategy.title}", *strategy.steps,
             *(n for p in parts for n in p.notes)]
    info = {"strategy": strategy.name, "loss_revisions": strategy.loss_revisions,
            "parts": [p.action for p in parts]}
    for p in parts:
        info.update({k: v for k, v in p.info.items() if k not in info})
    return Plan(new_plan_id("recover"), "recover", f"Recover {cluster.name}: {strategy.title}",
                cluster.name, "; ".join(p.target for p in parts),
                any(p.destructive for p in parts), steps, warnings, info, notes)
