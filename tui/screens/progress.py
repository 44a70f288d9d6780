"""A running plan you can follow: "step 12/38 · 3.1 s", each step's mark and time, the total
elapsed, the live output. Failure stops, says why with the matching log lines of that
node and component, and how to resume or roll back from the journal."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.coordinate import Coordinate
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Footer, RichLog, Static

from blackstart.tui import keymap
from blackstart.tui.plans import PlanView

MARKS = {"pending": "·", "running": "…", "ok": "✓", "failed": "✗", "skipped": "-"}
TICK = 0.5  # how often the elapsed times are redrawn (a clock, not a poll)


@dataclass(frozen=True)
class FailedStep:
    index: int
    node: str
    title: str
    command: str


class ProgressScreen(ModalScreen[bool]):
    @dataclass
    class Requested(Message):
        """The operator asked to resume or roll back the stopped plan from its journal."""

        kind: str  # resume | rollback
        journal: str

    BINDINGS = keymap.screen_bindings("progress")  # type: ignore[assignment]

    def __init__(self, view: PlanView, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(id="progress")
        self.view = view
        self.clock = clock
        self.done = False
        self.ok: bool | None = None
        self.journal: str | None = None
        self.started = clock()
        self.ended: float | None = None
        self.step_started: dict[int, float] = {}
        self.step_took: dict[int, float] = {}
        self.current: int | None = None
        self.failed: FailedStep | None = None

    @property
    def total(self) -> int:
        return len(self.view.plan.steps)

    def compose(self) -> ComposeResult:
        with Vertical(id="progress-box") as box:
            box.border_title = f"Running: {self.view.title}"
            yield Static(Text(f"Target: {self.view.target}"), id="progress-target")
            yield Static(Text(""), id="progress-counter")
            table: DataTable[Text] = DataTable(id="progress-steps", cursor_type="row")
            table.add_columns("", "#", "node", "step", "time")
            yield table
            yield RichLog(id="progress-output", max_lines=2000, markup=False, wrap=True)
            yield Static(Text("Running…"), id="progress-status")
            yield RichLog(id="progress-logs", max_lines=200, markup=False, wrap=True)
            with Horizontal(id="progress-buttons"):
                yield Button("Resume", id="progress-resume", variant="warning")
                yield Button("Roll back", id="progress-rollback", variant="error")
                yield Button("Close", id="progress-close", disabled=True)
        yield Footer()

    def on_mount(self) -> None:
        self._offer_journal(False)
        self.query_one("#progress-logs").display = False
        table = self.query_one(DataTable)
        for i, step in enumerate(self.view.plan.steps):
            table.add_row(Text(MARKS["pending"]), Text(f"{i + 1}/{self.total}"),
                          Text(step.node), Text(step.title), Text(""), key=str(i))
        self._tick()
        self.set_interval(TICK, self._tick)

    def step_event(self, ev: Any) -> None:
        if ev.status == "output":
            self.query_one("#progress-output", RichLog).write(
                Text(f"[{ev.step.node}] {ev.line or ''}"))
            return
        now = self.clock()
        if ev.status == "running":
            self.step_started[ev.index] = now
            self.current = ev.index
        elif ev.index in self.step_started:
            self.step_took[ev.index] = now - self.step_started[ev.index]
        if ev.status == "failed":
            step = ev.step
            self.failed = FailedStep(ev.index, step.node, step.title,
                                     " ".join(getattr(step, "argv", ()) or ()))
        self._mark(ev.index, ev.status)
        self._tick()

    def _mark(self, index: int, status: str) -> None:
        table = self.query_one(DataTable)
        key = str(index)
        if key not in table.rows:
            return
        row = table.get_row_index(key)
        table.update_cell_at(Coordinate(row, 0), Text(MARKS.get(status, "?")))
        table.update_cell_at(Coordinate(row, 4), Text(self._step_time(index)))
        table.move_cursor(row=row)

    def _step_time(self, index: int) -> str:
        if index in self.step_took:
            return f"{self.step_took[index]:.1f} s"
        if index in self.step_started:
            return f"{self.clock() - self.step_started[index]:.1f} s"
        return ""

    def _tick(self) -> None:
        """`step 12/38 · 3.1 s · total 41.0 s`: the running step's own time and the plan's."""
        end = self.ended if self.ended is not None else self.clock()
        total = f"total {end - self.started:.1f} s"
        i = self.current
        if i is None:
            text = f"step 0/{self.total} · {total}"
        else:
            text = f"step {i + 1}/{self.total} · {self._step_time(i)} · {total}"
            if i not in self.step_took and self.query_one(DataTable).row_count > i:
                self.query_one(DataTable).update_cell_at(Coordinate(i, 4),
                                                         Text(self._step_time(i)))
        self.query_one("#progress-counter", Static).update(Text(text, style="bold"))

    def finished(self, ok: bool, message: str, journal: str | None = None,
                 log_lines: list[str] | None = None) -> None:
        self.done, self.ok, self.journal = True, ok, journal
        self.ended = self.clock()
        self._tick()
        status = self.query_one("#progress-status", Static)
        if not ok and self.failed is not None:
            f = self.failed
            message = f"Step {f.index + 1}/{self.total} failed on {f.node}: {f.title}\n{message}"
        if not ok and journal:
            message += f"\nJournal: {journal}. Resume continues from the failed step; " \
                       "Roll back undoes the started steps (nothing is deleted)."
        status.update(Text(message))
        status.set_class(not ok, "-error")
        self.show_logs([] if ok else (log_lines or []))
        self._offer_journal(not ok and journal is not None)
        button = self.query_one("#progress-close", Button)
        button.disabled = False
        button.focus()

    def show_logs(self, lines: list[str]) -> None:
        box = self.query_one("#progress-logs", RichLog)
        box.clear()
        box.display = bool(lines)
        if not lines:
            return
        node = self.failed.node if self.failed else "?"
        box.border_title = f"Recent log lines on {node}"
        for line in lines:
            box.write(Text(line))

    def _offer_journal(self, show: bool) -> None:
        for name in ("#progress-resume", "#progress-rollback"):
            self.query_one(name, Button).display = show

    @on(Button.Pressed, "#progress-resume, #progress-rollback")
    def _journal_action(self, event: Button.Pressed) -> None:
        if self.journal is None:
            return
        kind = "resume" if event.button.id == "progress-resume" else "rollback"
        self.done, self.ended, self.failed = False, None, None
        self._offer_journal(False)
        self.show_logs([])
        self.query_one("#progress-close", Button).disabled = True
        self.query_one("#progress-status", Static).update(Text(f"{kind.title()}…"))
        self.post_message(self.Requested(kind, self.journal))

    @on(Button.Pressed, "#progress-close")
    def action_close(self) -> None:
        if self.done:
            self.dismiss(bool(self.ok))
        else:
            self.app.notify("The plan is still running: it cannot be closed until it "
                            "stops.", timeout=4)
