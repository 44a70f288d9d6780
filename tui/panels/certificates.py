"""Certificates: every certificate file, how long it has left, what is wrong with it."""

from __future__ import annotations

import os

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable

from blackstart.checks.model import Cluster
from blackstart.checks.probe_results import CertInfo
from blackstart.checks.severity import Severity
from blackstart.tui.formatting import days_left_text
from blackstart.tui.panels.base import Panel, Table, selected_key, sync_table

COLUMNS = ("where", "file", "days left", "problems", "role", "node")
WARN_DAYS = 30


class CertificatesPanel(Panel):
    def __init__(self, cluster: Cluster) -> None:
        n = len(cluster.certificates)
        super().__init__("Certificates", f"Checking {n} certificate files…", id="certificates")
        self._by_key: dict[str, CertInfo] = {}

    def compose(self) -> ComposeResult:
        yield self.status_widget()
        table = Table(id="certs-table")
        for col in COLUMNS:
            table.add_column(col, key=col)
        yield table

    def show(self, certs: list[CertInfo]) -> None:
        # worst first: problems, then the fewest days left
        ordered = sorted(certs, key=lambda c: (not (c.problems or c.error),
                                                c.days_left if c.days_left is not None else 1e9))
        self._by_key = {f"{c.node}:{c.path}": c for c in ordered}
        sync_table(self.query_one(DataTable), {k: self._cells(c) for k, c in self._by_key.items()})
        bad = sum(1 for c in certs if c.problems or c.error)
        self.set_status(f"{bad} of {len(certs)} certificates have problems" if bad else "")

    def _cells(self, c: CertInfo) -> list[Text]:
        return [
            Text(c.member or c.node),
            Text(os.path.basename(c.path)),
            self._days(c),
            self.styled(", ".join(c.problems) or (c.error or "ok"), _severity(c)),
            Text(c.role, style=self.dim_style()),
            Text(c.node),
        ]

    def _days(self, c: CertInfo) -> Text:
        if c.days_left is None:
            return Text("-")
        sev = Severity.CRITICAL if c.days_left < 0 else (
            Severity.WARNING if c.days_left < WARN_DAYS else Severity.OK)
        return self.styled(days_left_text(c.days_left), sev)

    def selected_cert(self) -> CertInfo | None:
        key = selected_key(self.query_one(DataTable))
        return self._by_key.get(key) if key else None


def _severity(c: CertInfo) -> Severity:
    return Severity.CRITICAL if (c.problems or c.error) else Severity.OK
