"""The verdict banner: always visible, one sentence and the next step, coloured by level."""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import Static

from blackstart.checks.conclusions import Verdict
from blackstart.checks.severity import Severity

LEVEL_CLASSES = {s: f"-{s.label}" for s in Severity}


class VerdictBanner(Static):
    def __init__(self, cluster: str, read_only: bool) -> None:
        super().__init__(id="verdict")
        self._cluster = cluster
        self._read_only = read_only
        self._shown = Text()

    def on_mount(self) -> None:
        self.show_checking()

    def show_checking(self) -> None:
        self._render_lines(Severity.INFO, "Checking the cluster…", "First results in a moment.",
                           None)

    def show(self, verdict: Verdict, taken_at: float, pending: int) -> None:
        extra = f" ({pending} checks not answered yet)" if pending else ""
        steps = numbered(verdict.next_steps) or "Nothing to do."
        ways = _ways(verdict) if verdict.strategies else ""
        self._render_lines(verdict.level, verdict.summary + extra, steps, taken_at, ways)

    def _render_lines(self, level: Severity, summary: str, step: str, at: float | None,
                      ways: str = "") -> None:
        # Classes only when the level changes: each change restyles the banner.
        for cls in LEVEL_CLASSES.values():
            self.set_class(cls == LEVEL_CLASSES[level], cls)
        # What is wrong and how fresh that is, then what to do, then the other ways out;
        # every step shown, wrapping: past the box's max-height it scrolls, never cut
        # (blackstart.tcss #verdict-box).
        text = Text(overflow="fold")
        text.append(f" {level.label.upper()} ", style="bold reverse")
        text.append(f"  {summary}\n", style="bold")
        text.append(self._meta(at), style="dim")
        text.append("\n Next: ", style="bold")
        text.append(step)
        if ways:
            text.append("\n Ways out, least loss first: ", style="bold")
            text.append(ways)
        if text != self._shown or str(text.style) != str(self._shown.style):
            self._shown = text  # an update is a layout pass: only on a change
            self.update(text)

    def _meta(self, at: float | None) -> str:
        when = time.strftime("%H:%M:%S UTC", time.gmtime(at)) if at else "—"
        mode = " · READ-ONLY (observer)" if self._read_only else ""
        return f" blackstart · cluster {self._cluster} · updated {when}{mode}"


def numbered(steps: list[str]) -> str:
    """'1. Renew … 2. Start …': every step, none cut (one step: as it is)."""
    if len(steps) <= 1:
        return "".join(steps)
    return "  ".join(f"{i}. {s}" for i, s in enumerate(steps, 1))


def _ways(verdict: Verdict) -> str:
    """Every strategy with its loss, side by side; the recommended one starred with its key."""
    parts = []
    for st in verdict.strategies:
        mark = "★ [a] " if st.name == verdict.recommended else ""
        why = " (not now)" if st.blocked else ""
        parts.append(f"{mark}{st.title}{why}")
    return " │ ".join(parts)
