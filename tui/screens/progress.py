"""A running plan: each step's status and its live output. Failure stops and says how to
resume or roll back from the journal."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, RichLog, Static

from tui.plans import PlanView

MARKS = {"pending": "·", "running": "…", "ok": "✓", "failed": "✗", "skipped": "-"}


class ProgressScreen(ModalScreen[bool]):
    BINDINGS = [Binding("escape", "close", "Close", id="progress.close")]

    def __init__(self, view: PlanView) -> None:
        super().__init__(id="progress")
        self.view = view
        self.done = False
        self.ok: bool | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="progress-box") as box:
            box.border_title = f"Running: {self.view.title}"
            yield Static(Text(f"Target: {self.view.target}"), id="progress-target")
            table: DataTable[Text] = DataTable(id="progress-steps", cursor_type="row")
            table.add_columns("", "node", "step")
            yield table
            yield RichLog(id="progress-output", max_lines=2000, markup=False, wrap=True)
            yield Static(Text("Running…"), id="progress-status")
            yield Button("Close", id="progress-close", disabled=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for i, step in enumerate(getattr(self.view.plan, "steps", [])):
            table.add_row(Text(MARKS["pending"]), Text(step.node), Text(step.title), key=str(i))

    def step_event(self, ev: Any) -> None:
        table = self.query_one(DataTable)
        key = str(ev.index)
        if ev.status == "output":
            self.query_one(RichLog).write(Text(f"[{ev.step.node}] {ev.line or ''}"))
        elif key in table.rows:
            table.update_cell_at((table.get_row_index(key), 0), Text(MARKS.get(ev.status, "?")))
            table.move_cursor(row=table.get_row_index(key))

    def finished(self, ok: bool, message: str) -> None:
        self.done, self.ok = True, ok
        status = self.query_one("#progress-status", Static)
        status.update(Text(message))
        status.set_class(not ok, "-error")
        button = self.query_one("#progress-close", Button)
        button.disabled = False
        button.focus()

    @on(Button.Pressed, "#progress-close")
    def action_close(self) -> None:
        if self.done:
            self.dismiss(bool(self.ok))
