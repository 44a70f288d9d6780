"""The help screen: every key of the screen it was opened from, from the action registry,
with what it does and whether it changes the cluster."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from blackstart.tui import keymap


class HelpScreen(ModalScreen[None]):
    BINDINGS = keymap.screen_bindings("help")  # type: ignore[assignment]  # list is invariant

    def __init__(self, rows: list[tuple[str, str, str]], of_screen: str, read_only: bool) -> None:
        super().__init__(id="help")
        self.rows = rows
        self.of_screen = of_screen
        self.read_only = read_only

    @property
    def _danger(self) -> str:
        return f"bold {self.app.current_theme.error or 'red'}"  # the theme's $error

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=True, padding=(0, 1), expand=True)
        table.add_column("key", style="bold", no_wrap=True)
        table.add_column("what it does", ratio=1)
        table.add_column("", no_wrap=True)
        for key, what, mark in self.rows:
            style = self._danger if mark.startswith("dangerous") else "dim"
            table.add_row(Text(key), Text(what), Text(mark, style=style))
        table.add_row(Text("ctrl+p"), Text("Command palette (also: switch theme)."), Text(""))
        table.add_row(Text("tab"), Text("Move between panels; arrows move within one."), Text(""))
        with Vertical(id="help-box") as box:
            box.border_title = f"Keys of the {self.of_screen} screen"
            with VerticalScroll(id="help-scroll"):
                yield Static(table, id="help-table")
            if self.read_only:
                yield Static(Text("Read-only: keys that change the cluster are disabled; "
                                  "pressing one says so."), id="help-note")
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)
