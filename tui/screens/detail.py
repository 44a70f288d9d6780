"""The detail of one row: every fact, wrapped, never cut; `y` copies, Escape closes."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from blackstart.tui import keymap
from blackstart.tui.details import Detail


class DetailScreen(ModalScreen[str | None]):
    """Dismisses with the text to copy when `y` is pressed, else None."""

    BINDINGS = keymap.screen_bindings("detail")  # type: ignore[assignment]

    def __init__(self, detail: Detail) -> None:
        super().__init__(id="detail")
        self.detail = detail

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, padding=(0, 1), expand=True)
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        for label, value in self.detail.lines:
            table.add_row(Text(label), Text(value))
        with Vertical(id="detail-box") as box:
            box.border_title = self.detail.title
            with VerticalScroll(id="detail-scroll"):
                yield Static(table, id="detail-lines")
            yield Static(Text(f"y copies: {self.detail.copy_text}"), id="detail-copy")
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_copy(self) -> None:
        self.dismiss(self.detail.copy_text)
