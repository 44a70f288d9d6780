"""The Logs view: one tab per component and node (etcd per member, kube-apiserver per
node), each line readable (time, level, message, key fields), a level filter that works
for every format, follow mode, search, wrap and timestamps toggles, and the message
templates new since the outage began. Classified lines are highlighted and name their
finding. All text is node data: rendered with Text, never as markup."""

from __future__ import annotations

import datetime as dt
import time

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, RichLog, Static, Tab, Tabs

from blackstart.checks.conclusions import Finding, Report
from blackstart.checks.formats.logrecord import Level, ParsedLine, parse_line
from blackstart.checks.model import Cluster
from blackstart.checks.probe_results import LogLine
from blackstart.checks.severity import Severity
from blackstart.tui import keymap
from blackstart.tui.logview import (
    LEVELS,
    LogTab,
    Look,
    finding_of,
    new_templates,
    outage_began,
    render,
    shown,
    tabs_of,
)

RENDER_LINES = 500  # per tab; rendering is main-thread work
MAX_LINES = 5000


class LogsScreen(Screen[None]):
    BINDINGS = keymap.screen_bindings("logs-view")  # type: ignore[assignment]
    COMPONENT_CLASSES = {"sev--ok", "sev--info", "sev--warning", "sev--critical", "logs--dim",
                         "logs--hit"}

    def __init__(self, cluster: Cluster, report: Report, tab: str | None = None) -> None:
        super().__init__(id="logs-view")
        self.cluster = cluster
        self.report = report
        self.lines: list[LogLine] = list(report.logs)[-MAX_LINES:]
        self._parsed: dict[int, ParsedLine] = {}
        self.tabs: list[LogTab] = tabs_of(self.lines, cluster)
        self.active = tab or (self.tabs[0].key if self.tabs else "")
        self.min_level = Level.UNKNOWN
        self.query_text = ""
        self.follow = True
        self.wrap = True
        self.times = True
        self.show_new = False

    def compose(self) -> ComposeResult:
        yield Tabs(*(Tab(t.label, id=tab_id(t.key)) for t in self.tabs), id="logs-tabs")
        with Vertical(id="logs-body"):
            yield Static("", id="logs-state", markup=False)
            yield Input(placeholder="search this tab; Esc clears", id="logs-search")
            yield Static("", id="logs-new", markup=False)
            yield RichLog(id="logs-lines", max_lines=RENDER_LINES, markup=False, wrap=True,
                          auto_scroll=False, min_width=20)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#logs-search").display = False
        self.query_one("#logs-new").display = False
        if self.active:
            self.query_one(Tabs).active = tab_id(self.active)
        self.rerender()

    # --------------------------------------------------------------- data
    def add_lines(self, lines: list[LogLine], report: Report) -> None:
        """New probe results while the view is open: new lines appended, tabs kept."""
        self.report = report
        have = {_key(ln) for ln in self.lines}
        new = [ln for ln in lines if _key(ln) not in have]
        if not new:
            return
        self.lines = (self.lines + new)[-MAX_LINES:]
        self._parsed.clear()
        self.rerender()

    def tab_lines(self, key: str | None = None) -> list[LogLine]:
        k = key or self.active
        return [ln for ln in self.lines if f"{ln.source}@{ln.node}" == k]

    def parsed(self, ln: LogLine) -> ParsedLine:
        p = self._parsed.get(id(ln))
        if p is None:
            p = self._parsed[id(ln)] = parse_line(ln.text)
        return p

    def shown_rows(self) -> list[tuple[LogLine, Finding | None]]:
        """The active tab's lines that pass the level filter and search, with their finding."""
        out = []
        for ln in self.tab_lines():
            if shown(ln, self.parsed(ln), self.min_level, self.query_text):
                out.append((ln, finding_of(ln, self.report.findings)))
        return out[-RENDER_LINES:]

    # --------------------------------------------------------------- rendering
    def _look(self) -> Look:
        def get(name: str) -> Style:
            return self.get_component_rich_style(name, partial=True)

        return Look(get("logs--dim"), {s: get(f"sev--{s.label}") for s in Severity},
                    get("logs--hit"))

    def rerender(self) -> None:
        view = self.query_one("#logs-lines", RichLog)
        view.wrap = self.wrap
        view.clear()
        look = self._look()
        rows = self.shown_rows()
        for ln, finding in rows:
            view.write(render(ln, self.parsed(ln), look, times=self.times,
                              query=self.query_text, finding=finding),
                       scroll_end=self.follow)
        if self.follow:
            self.call_after_refresh(view.scroll_end, animate=False)
        self._state(len(rows))
        self._render_new()

    def _state(self, n: int) -> None:
        total = len(self.tab_lines())
        level = "all levels" if self.min_level == Level.UNKNOWN else \
            f"{self.min_level.label} and above"
        parts = [f"{n}/{total} lines", level, f"follow {'on' if self.follow else 'off'}",
                 f"wrap {'on' if self.wrap else 'off'}",
                 f"times {'on' if self.times else 'off'}"]
        if self.query_text:
            parts.insert(1, f"search {self.query_text!r}")
        self.query_one("#logs-state", Static).update(Text(" · ".join(parts)))

    def _render_new(self) -> None:
        box = self.query_one("#logs-new", Static)
        box.display = self.show_new
        if not self.show_new:
            return
        year = time.gmtime(self.report.taken_at).tm_year
        since = outage_began(self.report, year)
        box.update(_new_text(new_templates(self.tab_lines(), since, year), since))

    # --------------------------------------------------------------- keys
    @on(Tabs.TabActivated, "#logs-tabs")
    def _tab(self, event: Tabs.TabActivated) -> None:
        key = next((t.key for t in self.tabs if tab_id(t.key) == event.tab.id), None)
        if key and key != self.active:
            self.active = key
            self.rerender()

    def action_close(self) -> None:
        search = self.query_one("#logs-search", Input)
        if search.display and search.has_focus:
            search.value, search.display = "", False
            self.query_text = ""
            self.rerender()
            return
        self.dismiss(None)

    def action_search(self) -> None:
        box = self.query_one("#logs-search", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#logs-search")
    def _searched(self, event: Input.Changed) -> None:
        self.query_text = event.value
        self.rerender()

    @on(Input.Submitted, "#logs-search")
    def _search_done(self) -> None:
        self.query_one("#logs-lines").focus()

    def action_level(self) -> None:
        i = LEVELS.index(self.min_level) if self.min_level in LEVELS else 0
        self.min_level = LEVELS[(i + 1) % len(LEVELS)]
        self.rerender()

    def action_follow(self) -> None:
        self.follow = not self.follow
        self.rerender()

    def action_wrap(self) -> None:
        self.wrap = not self.wrap
        self.rerender()

    def action_timestamps(self) -> None:
        self.times = not self.times
        self.rerender()

    def action_new_since(self) -> None:
        self.show_new = not self.show_new
        self._render_new()


def _new_text(templates: list, since: dt.datetime | None) -> Text:  # type: ignore[type-arg]
    if since is None:
        return Text("New since the outage began: no outage moment in these logs.")
    text = Text(f"New since the outage began ({since:%H:%M:%S} UTC): "
                f"{len(templates)} message template(s)\n", style="bold")
    for t in templates[:8]:
        text.append(f"  {t.count:>5}×  {t.template}\n")
    return text


def _key(ln: LogLine) -> tuple[str, str, str | None, str]:
    return (ln.node, ln.source, ln.ts, ln.text)


def tab_id(key: str) -> str:
    """A widget id from "etcd@etcd1" (ids allow letters, digits, - and _ only)."""
    return "logtab-" + "".join(c if c.isalnum() or c in "-_" else f"_{ord(c):x}_" for c in key)
