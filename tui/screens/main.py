"""The one main screen: verdict banner, tabs (narrow only), the panels, the footer.

It owns layout only; it tells the app when it first painted and when it is back on top
(a dialog closed), and the app decides what that means for polling.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Container, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Tab, Tabs

from blackstart.checks.model import Cluster
from blackstart.tui.panels.certificates import CertificatesPanel
from blackstart.tui.panels.findings import FindingsPanel
from blackstart.tui.panels.logs import LogsPanel
from blackstart.tui.panels.members import MembersPanel
from blackstart.tui.panels.snapshots import SnapshotsPanel
from blackstart.tui.panels.verdict import VerdictBanner

PANELS = ("members", "snapshots", "certificates", "logs", "findings")
TAB_LABELS = {"members": "Members", "certificates": "Certificates", "logs": "API server logs",
              "snapshots": "Snapshots", "findings": "Findings"}


class MainScreen(Screen[None]):
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]

    class Painted(Message):
        """The panels exist and were drawn once: probes may start."""

    class Resumed(Message):
        """The screen is on top again (a dialog closed): live data may flow."""

    def __init__(self, cluster: Cluster, read_only: bool) -> None:
        super().__init__(id="main")
        self.cluster = cluster
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        # The banner never cuts a step: past its height it scrolls (wheel, or the
        # quorum finding in Findings lists the same steps), the panels keep their room.
        with VerticalScroll(id="verdict-box", can_focus=False):
            yield VerdictBanner(self.cluster.name, self.read_only)
        yield Tabs(*(Tab(TAB_LABELS[p], id=f"tab-{p}") for p in PANELS), id="tabs")
        with Container(id="panels"):
            yield MembersPanel(self.cluster)
            yield SnapshotsPanel(self.cluster)
            yield CertificatesPanel(self.cluster)
            yield LogsPanel(self.cluster)
            yield FindingsPanel(self.read_only)
        yield Footer()

    def on_mount(self) -> None:
        self.show_panel("members")
        # Probes start once the panels were drawn: first paint never waits for them.
        self.call_after_refresh(self.post_message, self.Painted())

    @on(Tabs.TabActivated, "#tabs")
    def _tab_activated(self, event: Tabs.TabActivated) -> None:
        if event.tab.id:
            self.show_panel(event.tab.id.removeprefix("tab-"), from_tabs=True)

    def show_panel(self, name: str, from_tabs: bool = False) -> None:
        """In narrow mode only the active panel is displayed (CSS); wide shows all."""
        for panel in PANELS:
            self.query_one(f"#{panel}").set_class(panel == name, "-active")
        if not from_tabs:
            self.query_one(Tabs).active = f"tab-{name}"

    def on_screen_resume(self) -> None:
        self.post_message(self.Resumed())
