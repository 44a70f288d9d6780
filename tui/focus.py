"""What Enter and `y` act on: the focused row of the main screen, as a `Detail` built by
the pure builders of blackstart.tui.details (its copy_text is what `y` copies)."""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import DataTable

from blackstart.checks.conclusions import Report
from blackstart.checks.model import Cluster
from blackstart.tui.details import (
    Detail,
    cert_detail,
    finding_detail,
    member_detail,
    source_detail,
)
from blackstart.tui.panels.base import selected_key
from blackstart.tui.panels.findings import FindingsPanel

TABLES = {"members": "#members-table", "certificates": "#certs-table",
          "snapshots": "#snapshots-table"}
PANELS = ("members", "certificates", "snapshots", "findings", "logs")


def focused_panel(screen: Screen[Any]) -> str | None:
    node = screen.focused
    while node is not None:
        if node.id in PANELS:
            return node.id
        node = node.parent  # type: ignore[assignment]
    return None


def focused_detail(screen: Screen[Any], report: Report, cluster: Cluster,
                   panel: str | None = None) -> Detail | None:
    """The detail of the focused panel's selected row; None when no row is selected."""
    panel = panel or focused_panel(screen)
    if panel == "findings":
        finding = screen.query_one(FindingsPanel).selected_finding()
        return finding_detail(finding) if finding is not None else None
    if panel not in TABLES:
        return None
    key = selected_key(screen.query_one(TABLES[panel], DataTable))
    if key is None:
        return None
    if panel == "members":
        node = next((m.node for m in cluster.members if m.name == key), None)
        return member_detail(report, key, node)
    node, _, path = key.partition(":")  # row keys are "<node>:<path>" (paths repeat per node)
    return (cert_detail if panel == "certificates" else source_detail)(report, node, path)
