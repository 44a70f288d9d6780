"""The keys that act on what the operator looks at, not on the cluster: Enter (details),
`y` (copy), `l` (the Logs view), `e` (the post-mortem), `?` (help), and the answer a
blocked key gets in read-only mode. Probes live in blackstart.tui.app, plans in
blackstart.tui.plan_runs.

Every file these touch is written by a runbook function on a thread worker: the TUI
itself does no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

from textual.app import App, SystemCommand
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, OptionList
from textual.worker import Worker, WorkerState

from blackstart.checks.conclusions import Report
from blackstart.checks.errors import operator_message
from blackstart.checks.model import Cluster
from blackstart.tui import keymap as registry
from blackstart.tui.details import Detail
from blackstart.tui.focus import TABLES, focused_detail
from blackstart.tui.screens.detail import DetailScreen
from blackstart.tui.screens.help import HelpScreen
from blackstart.tui.screens.logs import LogsScreen
from blackstart.tui.screens.main import MainScreen

ROW_TABLES = {sel.removeprefix("#"): panel for panel, sel in TABLES.items()}
# app keys that work on every screen; Tab/Shift+Tab (Textual's app.focus_next/previous) too,
# or a keyboard-only operator never reaches a dialog's Confirm button
ALWAYS = frozenset({"help", "quit", "refuse", "focus_next", "focus_previous"})
COPY_SHOWN = 60  # characters of the copied text the toast repeats


class CockpitActions(App[None]):
    cluster: Cluster
    report: Report
    read_only: bool
    main: MainScreen
    last_export: str | None
    read_only_exports: list[str]  # printed to stdout when the TUI quits (blackstart.cli.tui)
    _held: list[tuple[str, dict[str, Any]]]

    # ----------------------------------------------------------- toasts
    def notify(self, message: str, *, title: str = "",
               severity: SeverityLevel = "information", timeout: float | None = None,
               markup: bool = False) -> None:
        """Toasts never cover a dialog: held while one is open, shown when it closes.
        Markup off: messages carry paths and node text."""
        kw: dict[str, Any] = {"title": title, "severity": severity, "timeout": timeout,
                              "markup": markup}
        if isinstance(self.screen, ModalScreen):
            self._held.append((message, kw))
            return
        super().notify(message, **kw)

    def release_toasts(self) -> None:
        held, self._held = self._held, []
        for message, kw in held:
            super().notify(message, **kw)

    # ----------------------------------------------------------- the registry's view
    def blocked_here(self, action: str) -> bool:
        """A dialog or view on top: the main screen's keys are not its keys."""
        return self.screen is not self.main and action not in ALWAYS

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)  # Textual's own include Quit
        for spec in self.visible_actions():
            if spec.name != "quit":
                yield SystemCommand(f"{spec.description} ({registry.key_label(spec)})",
                                    spec.help, partial(self.run_action, spec.name))

    def visible_actions(self) -> list[registry.ActionSpec]:
        return [s for s in registry.ACTIONS if self.check_action(s.name, ()) is not False]

    def action_help(self) -> None:
        top = self.screen
        if isinstance(top, HelpScreen):
            return  # help over help: already showing
        of = top.id or "main"
        self.push_screen(HelpScreen(registry.help_rows(of, self.read_only), of,
                                    self.read_only))

    def action_refuse(self, name: str) -> None:
        """A dangerous key in read-only mode: hidden, blocked, and it says why."""
        spec = registry.by_name(name)
        self.notify(f"read-only: {spec.description.lower()} is disabled", severity="warning",
                    timeout=4)

    # ----------------------------------------------------------- details and copy
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        panel = ROW_TABLES.get(event.data_table.id or "")
        if panel is not None and self.screen is self.main:
            self._open_detail(panel)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "findings-list" and self.screen is self.main:
            self._open_detail("findings")

    def action_details(self) -> None:
        self._open_detail(None)

    def _open_detail(self, panel: str | None) -> None:
        detail = focused_detail(self.main, self.report, self.cluster, panel)
        if detail is None:
            self.notify("Details: select a row of Members, Certificates, Snapshots or "
                        "Findings first.", timeout=4)
            return
        self.push_screen(DetailScreen(detail), partial(self._detail_closed, detail))

    def _detail_closed(self, detail: Detail, text: str | None) -> None:
        if text:
            self.copy_text(text, detail.title)

    def action_copy(self) -> None:
        detail = focused_detail(self.main, self.report, self.cluster)
        if detail is None or not detail.copy_text:
            self.notify("Copy: select a row of Members, Certificates, Snapshots or "
                        "Findings first.", timeout=4)
            return
        self.copy_text(detail.copy_text, detail.title)

    def copy_text(self, text: str, what: str) -> None:
        """OSC 52 (over SSH and tmux), and the same text in <state dir>/copied.txt."""
        from blackstart.runbook.clipboard import write_copy

        self.copy_to_clipboard(text)
        short = text if len(text) <= COPY_SHOWN else text[:COPY_SHOWN] + "…"
        if self.read_only:
            self.notify(f"Copied ({what}): {short} — read-only: not written to the state dir",
                        timeout=6)
            return
        self.notify(f"Copied ({what}): {short}", timeout=6)
        self.run_worker(partial(write_copy, self.cluster.state_dir, text), group="copy",
                        thread=True, exit_on_error=False)

    # ----------------------------------------------------------- logs
    def action_logs(self) -> None:
        if isinstance(self.screen, LogsScreen):
            return
        self.push_screen(LogsScreen(self.cluster, self.report))

    # ----------------------------------------------------------- observations, post-mortem
    def record_report(self, report: Report) -> None:
        """Each report into <state dir>/observations.jsonl (only changes are written), so
        `blackstart report` sees TUI sessions too; never in read-only mode."""
        if self.read_only:
            return
        from blackstart.runbook.observations import record

        # A description of our own: Textual's default is repr(work), which would format
        # the whole report (every log line and snapshot) on the UI thread each time.
        self.run_worker(partial(record, self.cluster.state_dir, report), group="observe",
                        description="record the report", thread=True, exit_on_error=False)

    def action_export(self) -> None:
        self.run_worker(partial(post_mortem, self.cluster.state_dir, self.cluster.name,
                                self.clock(), write=not self.read_only),  # type: ignore[attr-defined]
                        group="export", thread=True, exit_on_error=False)

    def export_done(self, worker: Worker[Any], state: WorkerState) -> None:
        if state == WorkerState.ERROR:
            self.notify(f"Export failed: {operator_message(worker.error)}", severity="error")
            return
        if state != WorkerState.SUCCESS:
            return
        text, path = worker.result  # type: ignore[misc]
        if path is None:  # read-only: shown now and printed on quit, never written
            self.read_only_exports.append(text)
            lines = [("", ln) for ln in text.splitlines()]
            self.push_screen(DetailScreen(Detail("Post-mortem (read-only: not written)",
                                                 lines, copy_text=text)))
            return
        self.last_export = path
        self.notify(f"Post-mortem written: {path}", timeout=10)

    def background_done(self, worker: Worker[Any], state: WorkerState) -> None:
        """copy / observe workers: only a failure is worth saying."""
        if state == WorkerState.ERROR and worker.group == "copy":
            self.notify(f"Copy not written to the state dir: {operator_message(worker.error)}",
                        severity="warning")


def post_mortem(state_dir: str, cluster: str, now: float, *, write: bool
                ) -> tuple[str, str | None]:
    """On a worker thread: the post-mortem from the state dir's records, written to a new
    incident file unless read-only. Returns (markdown, path or None)."""
    from blackstart.runbook.incident import write_incident_report
    from blackstart.runbook.postmortem import load, render_markdown

    text = render_markdown(load(state_dir, cluster))
    return text, write_incident_report(state_dir, text, now) if write else None
