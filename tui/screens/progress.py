"""A running plan: each step's status and its live output. Failure stops and says how to
resume or roll back from the journal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.coordinate import Coordinate
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, RichLog, Static

from blackstart.tui.plans import PlanView

MARKS = {"pending": "·", "running": "…", "ok": "✓", "failed": "✗", "skipped": "-"}


class ProgressScreen(ModalScreen[bool]):
    @dataclass
    class Requested(Message):
        """The operator asked to resume or roll back the stopped plan from its journal."""

        kind: str  # resume | rollback
        journal: str

    BINDINGS = [Binding("escape", "close", "Close", id="progress.close")]

    def __init__(self, view: PlanView) -> None:
        super().__init__(id="progress")
        self.view = view
        self.done = False
        self.ok: bool | None = None
        self.journal: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="progress-box") as box:
            box.border_title = f"Running: {self.view.title}"
            yield Static(Text(f"Target: {self.view.target}"), id="progress-target")
            table: DataTable[Text] = DataTable(id="progress-steps", cursor_type="row")
            table.add_columns("", "node", "step")
            yield table
            yield RichLog(id="progress-output", max_lines=2000, markup=False, wrap=True)
            yield Static(Text("Running…"), id="progress-status")
            with Horizontal(id="progress-buttons"):
                yield Button("Resume", id="progress-resume", variant="warning")
                yield Button("Roll back", id="progress-rollback", variant="error")
                yield Button("Close", id="progress-close", disabled=True)

    def on_mount(self) -> None:
        self._offer_journal(False)
        table = self.query_one(DataTable)
        for i, step in enumerate(self.view.plan.steps):
            table.add_row(Text(MARKS["pending"]), Text(step.node), Text(step.title), key=str(i))

    def step_event(self, ev: Any) -> None:
        table = self.query_one(DataTable)
        key = str(ev.index)
        if ev.status == "output":
            self.query_one(RichLog).write(Text(f"[{ev.step.node}] {ev.line or ''}"))
        elif key in table.rows:
            table.update_cell_at(Coordinate(table.get_row_index(key), 0),
                                 Text(MARKS.get(ev.status, "?")))
            table.move_cursor(row=table.get_row_index(key))

    def finished(self, ok: bool, message: str, journal: str | None = None) -> None:
        self.done, self.ok, self.journal = True, ok, journal
        status = self.query_one("#progress-status", Static)
        if not ok and journal:
            message += f"\nJournal: {journal}. Resume continues from the failed step; " \
                       "Roll back undoes the started steps (nothing is deleted)."
        status.update(Text(message))
        status.set_class(not ok, "-error")
        self._offer_journal(not ok and journal is not None)
        button = self.query_one("#progress-close", Button)
        button.disabled = False
        button.focus()

    def _offer_journal(self, show: bool) -> None:
        for name in ("#progress-resume", "#progress-rollback"):
            self.query_one(name, Button).display = show

    @on(Button.Pressed, "#progress-resume, #progress-rollback")
    def _journal_action(self, event: Button.Pressed) -> None:
        if self.journal is None:
            return
        kind = "resume" if event.button.id == "progress-resume" else "rollback"
        self.done = False
        self._offer_journal(False)
        self.query_one("#progress-close", Button).disabled = True
        self.query_one("#progress-status", Static).update(Text(f"{kind.title()}…"))
        self.post_message(self.Requested(kind, self.journal))

    @on(Button.Pressed, "#progress-close")
    def action_close(self) -> None:
        if self.done:
            self.dismiss(bool(self.ok))
