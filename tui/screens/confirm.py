"""Confirm a plan as k9s and GitHub do: the plan (scrolling), then the cluster-name box with
focus for a destructive plan; Cancel is the default button and Escape cancels.

Enter in the name box confirms only when the name matches; otherwise a line says why.
"""

from __future__ import annotations

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Static

from blackstart.tui import keymap
from blackstart.tui.plans import PlanView

CHROME = 4  # the box's border and the screen's margin around it


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = keymap.screen_bindings("confirm")  # type: ignore[assignment]

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
                yield Static(Text(f"Type the cluster name ({self.cluster}) and press Enter "
                                  "to confirm:"), id="confirm-ask")
                yield Input(placeholder="cluster name", id="confirm-name")
                yield Static("", id="confirm-why", markup=False)
            with Horizontal(id="confirm-buttons"):
                yield Button("Cancel", id="cancel", variant="primary")
                yield Button("Confirm", id="confirm-ok", variant="error",
                             disabled=v.destructive)
        yield Footer()

    def on_mount(self) -> None:
        if self.view.destructive:
            self.query_one("#confirm-name", Input).focus()
            self.query_one("#confirm-why").display = False
        else:
            self.query_one("#cancel", Button).focus()
        self.call_after_refresh(self._fit)

    def on_resize(self, _event: events.Resize) -> None:
        self.call_after_refresh(self._fit)

    def _fit(self) -> None:
        """The plan takes what the target, warnings, name box and buttons leave: they stay
        visible at 80×24 and the plan scrolls."""
        box = self.query_one("#confirm-box")
        plan = self.query_one("#confirm-plan")
        others = sum(w.outer_size.height for w in box.children if w is not plan and w.display)
        plan.styles.max_height = max(3, self.size.height - others - CHROME - 1)  # 1: footer

    @on(Input.Changed, "#confirm-name")
    def _name_typed(self, event: Input.Changed) -> None:
        self.query_one("#confirm-ok", Button).disabled = not self._matches(event.value)
        self._say("")

    @on(Input.Submitted, "#confirm-name")
    def _name_submitted(self, event: Input.Submitted) -> None:
        if self._matches(event.value):
            self.dismiss(True)
        elif not event.value.strip():
            self._say(f"Type the cluster name ({self.cluster}) first; Escape cancels.")
        else:
            self._say(f"'{event.value.strip()}' is not the cluster name ({self.cluster}): "
                      "nothing was done.")

    def _matches(self, typed: str) -> bool:
        return typed.strip() == self.cluster

    def _say(self, text: str) -> None:
        why = self.query_one("#confirm-why", Static)
        why.update(Text(text))
        why.display = bool(text)
        self.call_after_refresh(self._fit)

    @on(Button.Pressed, "#confirm-ok")
    def _confirmed(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)
