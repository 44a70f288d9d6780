"""What an action key acts on, as a typed request (checks.requests): the focused row's own
request, else the selected finding's, else what the verdict recommends.

Rows carry their targets (node, member, path); nothing is looked up again by name or
path, and nothing is filtered or rebuilt from strings on the way to the planner.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen

from blackstart.checks.conclusions import Report
from blackstart.checks.requests import (
    BestSource,
    Recover,
    Renew,
    ReplaceMember,
    Request,
    RestartService,
    Restore,
    SnapshotSave,
    StartMembers,
)
from blackstart.tui.panels.certificates import CertificatesPanel
from blackstart.tui.panels.findings import FindingsPanel
from blackstart.tui.panels.members import MembersPanel
from blackstart.tui.panels.snapshots import SnapshotsPanel

# Which requests each key runs when a finding carries one.
KEY_REQUESTS: dict[str, tuple[type[Any], ...]] = {
    "restore": (Restore,),
    "restart": (StartMembers, RestartService, ReplaceMember),
    "renew": (Renew,),
    "snapshot": (SnapshotSave,),
    "recover": (Recover,),
}


def focused_panel(screen: Screen[Any]) -> str | None:
    node = screen.focused
    while node is not None:
        if node.id in ("members", "certificates", "logs", "snapshots", "findings"):
            return node.id
        node = node.parent  # type: ignore[assignment]
    return None


def request_for(key: str, screen: Screen[Any], report: Report) -> Request | None:
    """The request key `key` (an ActionSpec name) acts on now; None: nothing to act on."""
    panel = focused_panel(screen)
    kinds = KEY_REQUESTS.get(key, ())
    if panel == "findings":
        finding = screen.query_one(FindingsPanel).selected_finding()
        if finding is not None and finding.action is not None and isinstance(finding.action,
                                                                             kinds):
            return finding.action
    row = _row_request(key, screen, report, panel)
    if row is not None:
        return row
    return _default(key, report, kinds)


def _row_request(key: str, screen: Screen[Any], report: Report, panel: str | None
                 ) -> Request | None:
    if key == "restore" and panel == "snapshots":
        ref = screen.query_one(SnapshotsPanel).selected_source()
        return Restore(ref) if ref is not None else None
    if key == "restart" and panel == "members":
        return screen.query_one(MembersPanel).selected_request()
    if key == "renew" and panel == "certificates":
        cert = screen.query_one(CertificatesPanel).selected_cert()
        return Renew(cert.node, cert.path, member=cert.member) if cert is not None else None
    return None


def _default(key: str, report: Report, kinds: tuple[type[Any], ...]) -> Request | None:
    if key == "snapshot":
        return SnapshotSave()
    if key == "recover":
        return Recover(report.verdict.recommended or "")
    for f in sorted(report.findings, key=lambda f: -int(f.severity)):
        if f.action is not None and isinstance(f.action, kinds):
            return f.action
    if key == "restore":
        ref = report.best_source
        return Restore(ref if ref is not None else BestSource())
    return None
