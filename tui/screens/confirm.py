"""Confirm a plan: names the exact target, shows every step, Cancel focused.

Destructive plans need the cluster name typed before Confirm enables.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from blackstart.tui.plans import PlanView


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="confirm.cancel")]

    def __init__(self, view: PlanView, cluster: str) -> None:
        super().__init__(id="confirm")
        self.view = view
        self.cluster = cluster

    def compose(self) -> ComposeResult:
        v = self.view
        with Vertical(id="confirm-box") as box:
            box.border_title = v.title
            yield Static(Text(f"Target: {v.target}", style="bold"), id="confirm-target")
            with VerticalScroll(id="confirm-plan"):
                yield Static(Text("\n".join(v.lines)), id="confirm-lines")
            shown = "\n".join(v.lines)
            for w in v.warnings:
                if w not in shown:  # the runbook's preview already lists its warnings
                    yield Static(Text(f"⚠ {w}"), classes="confirm-warning")
            if v.destructive:
                yield Static(Text(f"Type the cluster name ({self.cluster}) to confirm:"))
                yield Input(placeholder="cluster name", id="confirm-name")
            with Horizontal(id="confirm-buttons"):
                yield Button("Cancel", id="cancel", variant="primary")
                yield Button("Confirm", id="confirm-ok", variant="error",
                             disabled=self._needs_name())

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def _needs_name(self) -> bool:
        return self.view.destructive

    @on(Input.Changed, "#confirm-name")
    def _name_typed(self, event: Input.Changed) -> None:
        self.query_one("#confirm-ok", Button).disabled = event.value.strip() != self.cluster

    @on(Input.Submitted, "#confirm-name")
    def _name_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() == self.cluster:
            self.query_one("#confirm-ok", Button).focus()

    @on(Button.Pressed, "#confirm-ok")
    def _confirmed(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)
