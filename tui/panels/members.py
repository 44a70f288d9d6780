"""Members: one row per etcd member, and the quorum line."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from blackstart.checks.conclusions import Quorum
from blackstart.checks.model import Cluster
from blackstart.checks.probe_results import MemberState
from blackstart.checks.requests import Request, RestartService, StartMembers
from blackstart.checks.severity import Severity
from blackstart.tui.formatting import human_size, quorum_line
from blackstart.tui.panels.base import Panel, Table, selected_key, sync_table

COLUMNS = ("member", "endpoint", "health", "leader", "term", "index", "db size", "version",
           "alarms", "error")


class MembersPanel(Panel):
    def __init__(self, cluster: Cluster) -> None:
        names = ", ".join(m.name for m in cluster.members) or "no members in the inventory"
        super().__init__("Members", f"Checking members: {names}…", id="members")
        self._member_nodes = {m.name: m.node for m in cluster.members}  # each row's own node
        self._states: dict[str, MemberState] = {}
        self._quorum_text = ""

    def compose(self) -> ComposeResult:
        yield self.status_widget()
        table = Table(id="members-table")
        for col in COLUMNS:
            table.add_column(col, key=col)
        yield table
        yield Static("", id="quorum-line", markup=False)

    def show(self, members: list[MemberState], quorum: Quorum) -> None:
        self._states = {m.name: m for m in members}
        rows = {m.name: self._cells(m) for m in members}
        sync_table(self.query_one(DataTable), rows)
        self._show_quorum(quorum_line(quorum), quorum.held)
        self.set_status("")

    def _show_quorum(self, text: str, held: bool) -> None:
        line = self.query_one("#quorum-line", Static)
        if text != self._quorum_text:  # an update is a layout pass: only on a change
            self._quorum_text = text
            line.update(Text(text))
        line.set_class(not held, "-error")

    def _cells(self, m: MemberState) -> list[Text]:
        return [
            Text(m.name, style="bold"),
            Text(m.endpoint.removeprefix("https://").removeprefix("http://")),
            self._health(m),
            self.styled("leader", Severity.OK) if m.leader else Text(""),
            Text(_num(m.raft_term)),
            Text(_num(m.raft_index)),
            Text(human_size(m.db_size)),
            Text(m.version or "-"),
            self.styled(", ".join(m.alarms), Severity.CRITICAL) if m.alarms else Text("-"),
            Text((m.error or "")[:100], style=self.dim_style()),
        ]

    def _health(self, m: MemberState) -> Text:
        if m.healthy:
            return self.styled("healthy", Severity.OK)
        label = m.error_class or "unhealthy"
        if m.tls_fault:
            label += f" ({m.tls_fault.rsplit('/', 1)[-1]})"
        return self.styled(label, Severity.CRITICAL)

    def selected_member(self) -> str | None:
        return selected_key(self.query_one(DataTable))

    def selected_request(self) -> Request | None:
        """`x` on this row: start that member if it is down, else restart its etcd on
        its own node; never any other member."""
        name = self.selected_member()
        state = self._states.get(name or "")
        if name is None or state is None:
            return None
        if not state.healthy:
            return StartMembers((name,))
        return RestartService(self._member_nodes.get(name), "etcd")


def _num(n: int | None) -> str:
    return "-" if n is None else str(n)
