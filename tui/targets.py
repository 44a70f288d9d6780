"""What an action key acts on: the focused panel's selection, else what diagnosis points at."""

from __future__ import annotations

from typing import Any

from textual.screen import Screen

from blackstart.checks.model import Report
from blackstart.tui.panels.certificates import CertificatesPanel
from blackstart.tui.panels.findings import FindingsPanel
from blackstart.tui.panels.members import MembersPanel
from blackstart.tui.panels.snapshots import SnapshotsPanel
from blackstart.tui.state import best_source


def focused_panel(screen: Screen[Any]) -> str | None:
    node = screen.focused
    while node is not None:
        if node.id in ("members", "certificates", "logs", "snapshots", "findings"):
            return node.id
        node = node.parent  # type: ignore[assignment]
    return None


# The keyword arguments runbook.plan_for takes per action. Findings name their targets in
# diagnosis' words (e.g. restart {"member": ...}); only these reach the planner.
ACCEPTS: dict[str, frozenset[str]] = {
    "restore": frozenset({"snapshot", "best"}),
    "restart": frozenset({"service", "node"}),
    "renew-cert": frozenset({"member", "expired", "path", "node"}),
    "snapshot-save": frozenset(),
}


def resolve_args(action: str, screen: Screen[Any], report: Report) -> dict[str, str | bool]:
    args = _resolve(action, screen, report)
    cluster = getattr(screen, "cluster", None)
    if action == "restart" and "node" not in args and "member" in args and cluster:
        try:
            args["node"] = cluster.member(str(args["member"])).node
        except KeyError:
            pass  # an unknown member: the planner refuses with its own words
    allowed = ACCEPTS.get(action)
    return args if allowed is None else {k: v for k, v in args.items() if k in allowed}


def _resolve(action: str, screen: Screen[Any], report: Report) -> dict[str, str | bool]:
    panel = focused_panel(screen)
    finding = screen.query_one(FindingsPanel).selected_finding() if panel == "findings" else None
    if finding and finding.action and finding.action.name == action:
        return dict(finding.action.args)
    if action == "restore":
        return _restore(screen, report, panel)
    if action == "restart":
        return _restart(screen, report, panel)
    if action == "renew-cert":
        return _renew(screen, report, panel)
    return {}


def _from_findings(report: Report, action: str) -> dict[str, str | bool] | None:
    for f in sorted(report.findings, key=lambda f: -int(f.severity)):
        if f.action and f.action.name == action:
            return dict(f.action.args)
    return None


def _restore(screen: Screen[Any], report: Report, panel: str | None) -> dict[str, str | bool]:
    if panel == "snapshots":
        path = screen.query_one(SnapshotsPanel).selected_path()
        if path:
            return {"snapshot": path}
    if any(s.recommended for s in report.restore_sources):
        return {"best": True}  # the runbook stages and verifies the recommended source
    best = best_source(report)
    return {"snapshot": best.path} if best else {"best": True}


def _restart(screen: Screen[Any], report: Report, panel: str | None) -> dict[str, str | bool]:
    member = screen.query_one(MembersPanel).selected_member() if panel == "members" else None
    if member is None:
        found = _from_findings(report, "restart")
        if found is not None:
            return found
        member = screen.query_one(MembersPanel).selected_member()
    cluster = getattr(screen, "cluster", None)
    node = cluster.member(member).node if cluster and member else (member or "")
    return {"service": "etcd", "node": node}


def _renew(screen: Screen[Any], report: Report, panel: str | None) -> dict[str, str | bool]:
    cert = screen.query_one(CertificatesPanel).selected_cert() if panel == "certificates" else None
    if cert is None:
        found = _from_findings(report, "renew-cert")
        if found is not None:
            return found
        expired = [c for c in report.certificates if "expired" in c.problems]
        cert = expired[0] if expired else screen.query_one(CertificatesPanel).selected_cert()
    if cert is None:
        return {}
    args: dict[str, str | bool] = {"path": cert.path}
    if cert.member:
        args["member"] = cert.member
    return args
