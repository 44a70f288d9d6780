"""What the confirmation dialog shows: a runbook `Plan`, or a preview when the runbook
cannot plan (not installed yet). Pure: no Textual; the plan is made by `runbook`."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from blackstart.checks.model import Cluster, Report
from blackstart.tui.state import best_source

DESTRUCTIVE = frozenset({"restore"})


class Refused(Exception):
    """The runbook refused to plan (a preflight failed); `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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

    @property
    def runnable(self) -> bool:
        return self.plan is not None


Planner = Callable[..., "PlanView"]  # (action, cluster, report, **args) -> PlanView


def propose(action: str, cluster: Cluster, report: Report | None, **args: Any) -> PlanView:
    try:
        from blackstart.runbook.planner import PlanRefused, plan_for
    except ImportError:
        return _preview_only(action, cluster, report, args)
    try:
        plan = plan_for(action, cluster, report, **args)
    except PlanRefused as exc:
        raise Refused(str(getattr(exc, "reason", exc))) from exc
    return PlanView(action, plan.title, plan.target, bool(plan.destructive),
                    list(plan.preview_lines()), list(plan.warnings), plan)


def _preview_only(action: str, cluster: Cluster, report: Report | None,
                  args: dict[str, Any]) -> PlanView:
    target = ", ".join(f"{k}={v}" for k, v in args.items()) or cluster.name
    if args.get("best") and report is not None:
        best = best_source(report)
        target = f"{best.path} on {best.node}" if best else target
    lines = [f"{action} on cluster {cluster.name}: {target}"]
    if action == "restore":
        lines += _restore_outline(cluster, str(args.get("snapshot", target)))
    return PlanView(action, f"{action} ({cluster.name})", target, action in DESTRUCTIVE, lines,
                    note="The runbook module is not available: this is a preview only, "
                         "nothing will run.")


def _restore_outline(cluster: Cluster, snapshot: str) -> list[str]:
    initial = ",".join(f"{m.name}={m.peer_url}" for m in cluster.members)
    out: list[str] = []
    for m in cluster.members:
        argv = ["etcdutl", "snapshot", "restore", snapshot, "--name", m.name,
                "--initial-cluster", initial, "--initial-advertise-peer-urls", m.peer_url,
                "--initial-cluster-token", cluster.token, "--data-dir", m.data_dir]
        out += [f"[{m.node}] stop etcd", f"[{m.node}] move {m.data_dir} aside (timestamped)",
                f"[{m.node}] {shlex.join(argv)}", f"[{m.node}] start etcd"]
    return out
