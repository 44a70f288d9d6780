"""API server logs: classified lines, newest last, follow mode, filter/search with `/`.

The probe hands over the tail of each log (never a whole file); this panel keeps at most
MAX_LINES, appends only lines it has not seen, and re-renders only when the filter changes.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input, RichLog, Static

from blackstart.checks.model import Cluster
from blackstart.checks.probe_results import LogLine
from blackstart.checks.severity import Severity
from blackstart.tui.formatting import line_matches, log_classes
from blackstart.tui.panels.base import Panel

MAX_LINES = 5000
MAX_LINE_CHARS = 400  # very long lines are cut: the start says what happened
# Lines rendered into the view at once: rendering is main-thread work, so a 2000-line
# tail must not stall the UI. All MAX_LINES stay searchable with the `/` filter.
RENDER_LINES = 300
# Rows (wrapped) the view keeps for scrolling back; each holds rendered segments and
# caches, so this, not MAX_LINES, bounds the panel's memory. The Logs view (`l`) and the
# `/` filter reach every kept line.
VIEW_LINES = 1000

LineKey = tuple[str, str, str | None, str]


class LogView(RichLog):
    """A RichLog that says when the operator scrolled away from (or back to) the end."""

    BINDINGS = [Binding("end", "scroll_end", "Follow", show=False, id="logs.follow")]

    @dataclass
    class Scrolled(Message):
        at_end: bool

    following = True  # at the end: new lines and resizes keep it there

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.following = self.is_vertical_scroll_end
        self.post_message(self.Scrolled(self.following))

    def on_resize(self, event: events.Resize) -> None:
        super().on_resize(event)  # RichLog renders its deferred writes here
        if self.following:
            self.call_after_refresh(self.scroll_end, animate=False)


class LogsPanel(Panel):
    BINDINGS = [Binding("escape", "close_filter", "Clear filter", show=False, id="logs.clear")]

    def __init__(self, cluster: Cluster) -> None:
        n = len(cluster.logs)
        super().__init__("API server logs", f"Reading the tail of {n} log sources…", id="logs")
        self._lines: OrderedDict[LineKey, LogLine] = OrderedDict()
        self._query = ""
        self._pending = 0
        self._known_cache: set[str] = set()

    def compose(self) -> ComposeResult:
        yield self.status_widget()
        yield Input(placeholder="class (e.g. refused, tls, critical) or text; Esc clears",
                    id="log-filter")
        yield LogView(id="log-view", max_lines=VIEW_LINES, auto_scroll=False, markup=False,
                      wrap=True, min_width=20)
        yield Static("", id="log-marker", markup=False)

    def on_mount(self) -> None:
        self.query_one("#log-filter").display = False
        self.query_one("#log-marker").display = False

    def show(self, lines: list[LogLine]) -> None:
        new = [ln for ln in lines if _key(ln) not in self._lines]
        new.sort(key=lambda ln: ln.ts or "")
        for ln in new:
            self._lines[_key(ln)] = ln
        while len(self._lines) > MAX_LINES:
            self._lines.popitem(last=False)
        known = self._known
        self._append([ln for ln in new if self._matches(ln, known)][-RENDER_LINES:])
        self._update_status()

    def _append(self, lines: list[LogLine]) -> None:
        view = self.query_one(LogView)
        follow = view.is_vertical_scroll_end
        for ln in lines:
            view.write(self._render_line(ln), scroll_end=follow)
        if follow:
            # Again after layout: the status line above may have changed the view's height.
            self.call_after_refresh(view.scroll_end, animate=False)
        if not follow and lines:
            self._pending += len(lines)
            self._show_marker()

    def _render_line(self, ln: LogLine) -> Text:
        text = Text()
        text.append(f"{_clock_part(ln.ts)} ", style=self.dim_style())
        text.append(f"{ln.node} ")
        if ln.signature:
            text.append(f"{ln.signature} ", style=self.sev_style(ln.severity) + Style(bold=True))
        style = self.sev_style(ln.severity) if ln.severity > Severity.INFO else ""
        text.append(ln.text[:MAX_LINE_CHARS], style=style)
        query = self._query.strip()
        if query and query.lower() not in self._known_cache:
            text.highlight_words([query], style="reverse", case_sensitive=False)  # search hits
        return text

    def _matches(self, ln: LogLine, known: set[str]) -> bool:
        if not self._query:
            return True
        return line_matches(ln.text, log_classes(ln.signature, ln.severity.label),
                            self._query, known)

    @property
    def _known(self) -> set[str]:
        self._known_cache = {c.lower() for ln in self._lines.values()
                             for c in log_classes(ln.signature, ln.severity.label)}
        return self._known_cache

    def restyle(self) -> None:
        self._rerender()

    def _rerender(self) -> None:
        view = self.query_one(LogView)
        view.clear()
        known = self._known
        shown = [ln for ln in self._lines.values() if self._matches(ln, known)]
        for ln in shown[-RENDER_LINES:]:
            view.write(self._render_line(ln), scroll_end=True)
        self._pending = 0
        self._show_marker()
        self._update_status()
        self.call_after_refresh(view.scroll_end, animate=False)

    def _update_status(self) -> None:
        total = len(self._lines)
        if not self._query:
            self.set_status(f"{total} lines" if total else "No log lines yet.")
            return
        known = self._known
        shown = sum(1 for ln in self._lines.values() if self._matches(ln, known))
        self.set_status(f"filter {self._query!r}: {shown}/{total} lines")

    def _show_marker(self) -> None:
        marker = self.query_one("#log-marker", Static)
        marker.display = self._pending > 0
        marker.update(Text(f"▼ {self._pending} new lines — press End to follow"))

    @on(LogView.Scrolled)
    def _scrolled(self, event: LogView.Scrolled) -> None:
        if event.at_end and self._pending:
            self._pending = 0
            self._show_marker()

    def open_filter(self) -> None:
        box = self.query_one("#log-filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#log-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._query = event.value
        self._rerender()

    @on(Input.Submitted, "#log-filter")
    def _filter_submitted(self) -> None:
        self.query_one(LogView).focus()

    def action_close_filter(self) -> None:
        box = self.query_one("#log-filter", Input)
        box.value = ""
        box.display = False
        self.query_one(LogView).focus()

    @property
    def line_count(self) -> int:
        return len(self._lines)


def _key(ln: LogLine) -> LineKey:
    return (ln.node, ln.source, ln.ts, ln.text)


def _clock_part(ts: str | None) -> str:
    """'2026-11-18T01:02:03.123Z' -> '01:02:03': the date is the same for a whole incident."""
    if not ts:
        return "--:--:--"
    return ts.split("T", 1)[1][:8] if "T" in ts else ts[:15]
