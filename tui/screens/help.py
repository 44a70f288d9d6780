"""The help screen: generated from the action registry, filtered like the footer."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from blackstart.tui.keymap import ActionSpec, key_label


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close", id="help.close")]

    def __init__(self, specs: list[ActionSpec], read_only: bool) -> None:
        super().__init__(id="help")
        self.specs = specs
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        for spec in self.specs:
            table.add_row(key_label(spec), spec.help)
        table.add_row("ctrl+p", "Command palette (also: switch theme).")
        table.add_row("tab", "Move between panels; arrows move within one.")
        with Vertical(id="help-box") as box:
            box.border_title = "Keys"
            yield Static(table)
            if self.read_only:
                yield Static("Read-only: actions that change the cluster are hidden.",
                             markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
