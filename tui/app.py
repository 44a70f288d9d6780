"""The blackstart cockpit: build it with `build_app(cluster, ...)`.

Probes run each in its own thread worker with its own event loop (blackstart.tui.probing), so a
blackholed member only delays its own panel. Workers never touch widgets: the one
`Worker.StateChanged` handler turns their outcome into past-tense messages, and the
handlers of those messages own all state. Each probe re-arms itself with `set_timer`
after it finished, so polls never overlap; while a modal is open nothing is re-rendered.
Proposing, confirming and running plans is blackstart.tui.plan_runs (`PlanRuns`, the base
of the app); this module schedules the probes, renders the report and, when a plan ends,
runs every probe again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from textual import on
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from blackstart.checks.conclusions import Report, Verdict
from blackstart.checks.errors import operator_message
from blackstart.checks.model import Cluster
from blackstart.checks.probes.registry import BY_NAME, cadence_of, panel_of
from blackstart.checks.reasoning.report import assemble_report
from blackstart.checks.severity import Severity
from blackstart.runbook.audit import operator_name
from blackstart.tui import keymap as registry
from blackstart.tui.messages import (
    PlanFinished,
    ProbeFailed,
    ProbeFinished,
    ReportUpdated,
)
from blackstart.tui.panels.base import Panel
from blackstart.tui.panels.certificates import CertificatesPanel
from blackstart.tui.panels.findings import FindingsPanel
from blackstart.tui.panels.logs import LogsPanel
from blackstart.tui.panels.members import MembersPanel
from blackstart.tui.panels.snapshots import SnapshotsPanel, snapshots_slice
from blackstart.tui.panels.verdict import VerdictBanner
from blackstart.tui.plan_runs import PlanRuns
from blackstart.tui.plans import Planner, propose
from blackstart.tui.probe_host import ProbeHost
from blackstart.tui.probing import Probe, SavedStore, in_daemon_thread, run_probe
from blackstart.tui.screens.logs import LogsScreen
from blackstart.tui.screens.main import MainScreen
from blackstart.tui.screens.progress import ProgressScreen
from blackstart.tui.theme import DEFAULT_THEME, THEMES

REFRESH_INTERVAL = 5.0  # slow probes poll a multiple of it (registry.ProbeSpec.cadence)
FROZEN_RETRY = 0.5
SLOW_AFTER = 2.0  # a probe this late gets a "waiting Ns" line in its panel


class BlackstartApp(PlanRuns):
    CSS_PATH = "blackstart.tcss"
    TITLE = "blackstart"
    BINDINGS = registry.bindings()  # type: ignore[assignment]  # list is invariant

    def __init__(  # noqa: PLR0913 - the factory's knobs, all keyword-only
        self, cluster: Cluster, *, probes: Mapping[str, Probe], read_only: bool = False,
        clock: Callable[[], float] = time.time,
        refresh_interval: float = REFRESH_INTERVAL, theme_name: str | None = None,
        operator: str | None = None, planner: Planner | None = None,
        store: SavedStore | None = None, host: ProbeHost | None = None,
    ) -> None:
        super().__init__()
        unknown = sorted(set(probes) - set(BY_NAME))
        if unknown:  # the report files results by the registry's names
            raise ValueError(f"no probe named {', '.join(map(repr, unknown))} in the registry")
        self.cluster, self.probes = cluster, dict(probes)
        self.read_only, self.clock = read_only, clock
        self.refresh_interval = refresh_interval
        self.operator = operator or operator_name()
        self._theme_name = theme_name or DEFAULT_THEME
        self.planner: Planner = planner or propose
        self.results: dict[str, list[Any]] = {}
        self.errors: dict[str, str] = {}
        self.running: dict[str, float] = {}
        self._poll_timers: dict[str, Timer] = {}
        self.report: Report = Report(cluster.name, clock(), Verdict(Severity.INFO, "Checking…"))
        self._held = []  # toasts held while a dialog is open
        self._stale: set[str] = set()  # running probes that started before an action ended
        self._dirty = False
        self._render_queued = False
        self._shown: dict[str, object] = {}  # each panel's last rendered slice of the report
        self._cache: dict[str, Any] = {}
        self._store = store  # verification results across runs (the state dir's cache)
        self._host = host  # the real probes' child processes (off the UI's GIL)
        self._progress: ProgressScreen | None = None
        self.last_export: str | None = None
        self.read_only_exports: list[str] = []
        self.painted_at: float | None = None
        self.main = MainScreen(cluster, read_only)

    # ------------------------------------------------------------------ lifecycle
    def on_mount(self) -> None:
        for theme in THEMES:
            self.register_theme(theme)
        self.theme = self._theme_name
        self.push_screen(self.main)
        self.theme_changed_signal.subscribe(self, self._restyle)
        # A clock for the screen, not a poll: it only says which probe is late.
        self.set_interval(1.0, self._show_waiting)

    def on_unmount(self) -> None:
        if self._host is not None:  # the probes' children end with the cockpit
            self._host.close()

    def _show_waiting(self) -> None:
        if self.frozen or not self.main.is_attached:
            return
        now = time.monotonic()
        for name, started in self.running.items():
            if now - started >= SLOW_AFTER:
                panel = self.main.query_one(f"#{panel_of(name)}", Panel)
                panel.set_status(f"{name}: waiting {now - started:.0f}s for an answer "
                                 "(a member or node may be down or blackholed)…")

    def _restyle(self, _theme: object) -> None:
        """Node data is styled when rendered: re-render it in the new theme's colours,
        once the new stylesheet has been applied (after the next refresh)."""
        self.call_after_refresh(self._restyle_now)

    def _restyle_now(self) -> None:
        if self.main.is_attached and self.results:
            self.main.query_one(LogsPanel).restyle()
            self._shown.clear()  # the same data, new colours: every panel again
            self._render_report()

    def on_main_screen_painted(self) -> None:
        self.painted_at = time.monotonic()  # after the first refresh: the first paint
        self.refresh_all()

    def on_main_screen_resumed(self) -> None:
        self.thaw()
        self.release_toasts()

    def refresh_all(self) -> None:
        for name in self.probes:
            self.start_probe(name)

    @property
    def frozen(self) -> bool:
        """Live data is frozen while anything covers the main screen (dialogs, help), but
        flows under the Logs view (it follows the logs)."""
        stack = self.screen_stack
        return not stack or stack[-1] not in (self.main, self._logs_screen())

    def _logs_screen(self) -> LogsScreen | None:
        top = self.screen_stack[-1] if self.screen_stack else None
        return top if isinstance(top, LogsScreen) else None

    def thaw(self) -> None:
        if self._dirty:
            self._render_report()

    # ------------------------------------------------------------------ probes
    def start_probe(self, name: str, force: bool = False) -> None:
        pending = self._poll_timers.pop(name, None)
        if pending is not None:
            pending.stop()  # one timer per probe: `r` must not start a second poll chain
        if not self.main.is_attached:
            return  # a timer that fired while the app shuts down
        if name in self.running:
            return  # polls never overlap: the running one re-arms when it finishes
        if self.frozen and not force:
            self._arm(name, FROZEN_RETRY)
            return
        self.running[name] = time.monotonic()
        work: Callable[[], list[Any]]
        if self._host is not None and name in self._host.names:
            work = partial(self._host.run, name, self.cluster, self.clock)
        else:
            work = partial(run_probe, self.probes[name], self.cluster, self.clock, self._cache,
                           store=self._store)
        # Its own thread and event loop per probe run; a daemon thread, so quitting never
        # waits for a call stuck on a blackholed member.
        self.run_worker(in_daemon_thread(work), name=name, group=f"probe-{name}",
                        description=f"probe {name}", exclusive=True, exit_on_error=False)

    @on(Worker.StateChanged)
    def _worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker outcomes (probes, plan runs) become UI state."""
        worker, state = event.worker, event.state
        if state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        if worker.group == "plan":
            error = None if state == WorkerState.SUCCESS else operator_message(worker.error)
            self.post_message(PlanFinished(worker.result, error))
            return
        if worker.group == "export":
            self.export_done(worker, state)
        elif worker.group in ("copy", "observe"):
            self.background_done(worker, state)
        elif worker.group == "propose":
            self._proposed(worker, state)
        elif worker.group.startswith("probe-"):
            self._probe_done(worker, state)

    def _probe_done(self, worker: Worker[Any], state: WorkerState) -> None:
        name = worker.name
        started = self.running.pop(name, time.monotonic())
        if state == WorkerState.SUCCESS:
            self.post_message(ProbeFinished(name, list(worker.result or []),
                                            time.monotonic() - started))
        elif state == WorkerState.ERROR:
            self.post_message(ProbeFailed(name, operator_message(worker.error)))
        if name in self._stale:  # it read the cluster before the action ended: again now
            self._stale.discard(name)
            self.start_probe(name, force=True)
            return
        self._arm(name, self.refresh_interval * cadence_of(name))

    def _arm(self, name: str, delay: float) -> None:
        self._poll_timers[name] = self.set_timer(delay, partial(self.start_probe, name))

    def on_probe_finished(self, message: ProbeFinished) -> None:
        self.results[message.name] = message.results
        self.errors.pop(message.name, None)
        self._render_soon()
        if message.name == "logs":
            self._show_failed_step_logs()

    def on_probe_failed(self, message: ProbeFailed) -> None:
        self.errors[message.name] = message.error
        self._render_soon()

    def _render_soon(self) -> None:
        """Render once the messages already queued are handled: results that piled up
        while the UI was busy (or arrived together) become one render, not one each, and
        the keys queued among them are not kept waiting behind several renders."""
        if not self._render_queued:
            self._render_queued = True
            self.call_later(self._render_queued_report)

    def _render_queued_report(self) -> None:
        self._render_queued = False
        self._render_report()

    # ------------------------------------------------------------------ rendering
    def _render_report(self) -> None:
        if not self.is_running or not self.main.is_attached:
            return  # a result that arrived while the app shuts down
        if self.frozen:
            self._dirty = True
            return
        self._dirty = False
        now = self.clock()
        report = assemble_report(self.cluster, self.results, now, self.errors)
        self.report = report
        with self.batch_update():
            self._fill_panels(report, now)
        logs = self._logs_screen()
        if logs is not None:
            logs.add_lines(report.logs, report)
        if set(self.probes) <= set(self.results) | set(self.errors):
            self.record_report(report)
        self.post_message(ReportUpdated(report, len(self.running)))  # tests wait on it

    def _fill_panels(self, report: Report, now: float) -> None:
        """Each panel re-renders only when its own slice of the report changed: a result
        for one panel costs that panel (and the findings and banner), not all of them."""
        m, fed = self.main, {panel_of(n) for n in self.results}
        if ("members" in fed or report.members) and self._changed(
                "members", (report.members, report.quorum)):
            m.query_one(MembersPanel).show(report.members, report.quorum)
        if ("certificates" in fed or report.certificates) and self._changed(
                "certificates", report.certificates):
            m.query_one(CertificatesPanel).show(report.certificates)
        if ("logs" in fed or report.logs) and self._changed("logs", report.logs):
            m.query_one(LogsPanel).show(report.logs)
        if ("snapshots" in fed or report.snapshots or report.restore_sources) and \
                self._changed("snapshots", (snapshots_slice(report), int(now))):
            m.query_one(SnapshotsPanel).show(report, now)  # ages move with the clock
        if self._changed("findings", report.findings):
            m.query_one(FindingsPanel).show(report.findings)
        for name, error in self.errors.items():
            panel = m.query_one(f"#{panel_of(name)}", Panel)
            panel.set_status(f"{name} probe failed: {error}", error=True)
        never = len(set(self.probes) - set(self.results) - set(self.errors))
        m.query_one(VerdictBanner).show(report.verdict, report.taken_at, never)

    def _changed(self, panel: str, inputs: object) -> bool:
        """Whether `panel`'s inputs differ from the ones it last rendered (and remember
        them). Results are compared, not re-rendered: equal data is most of the polls."""
        if panel in self._shown and self._shown[panel] == inputs:
            return False
        self._shown[panel] = inputs
        return True

    # ------------------------------------------------------------------ the action registry
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Read-only is enforced here and only here: False both hides and blocks (and the
        key then reaches its hidden `refuse` binding, which says why)."""
        if action == "refuse":
            return self.read_only
        if self.read_only and action in registry.dangerous_names():
            return False
        return not self.blocked_here(action)

    def action_refresh(self) -> None:
        self.refresh_all()
        self.notify("Refreshing every probe.", timeout=2)

    def action_filter_logs(self) -> None:
        self.main.show_panel("logs")
        self.main.query_one(LogsPanel).open_filter()

    # ------------------------------------------------------------------ a plan ended
    def on_plan_finished(self, message: PlanFinished) -> None:
        result = message.result
        ok = message.error is None and bool(getattr(result, "ok", False))
        detail = message.error or getattr(result, "error", None) or ""
        text = "Done: every step succeeded." if ok else f"Stopped: {detail}"
        if self._progress is not None:
            self._progress.finished(ok, text, getattr(result, "journal", None),
                                    self._failed_step_logs())
        self.refresh_after_change()

    def refresh_after_change(self) -> None:
        """An action ended: every probe of the registry runs again now, under the dialog
        too (its results render when the dialog closes); one already running read the
        cluster before the change, so it runs once more when it finishes."""
        for name in self.probes:
            if name in self.running:
                self._stale.add(name)
            else:
                self.start_probe(name, force=True)


def build_app(
    cluster: Cluster, *, read_only: bool = False, clock: Callable[[], float] = time.time,
    probes: Mapping[str, Probe] | None = None,
    refresh_interval: float = REFRESH_INTERVAL, theme: str | None = None,
    planner: Planner | None = None, store: SavedStore | None = None,
    isolate: bool = True,
) -> BlackstartApp:
    """The factory: tests pass recorded probes and a fixed clock; the CLI passes the engine's,
    which then run in child processes (`isolate`, see tui.probe_host)."""
    host = None
    if probes is None:
        from blackstart.checks.probes.engine import PROBES

        probes = PROBES
        if isolate:
            host = ProbeHost(list(PROBES), cluster.state_dir, read_only)
    return BlackstartApp(cluster, probes=probes, read_only=read_only, clock=clock,
                         refresh_interval=refresh_interval, theme_name=theme,
                         planner=planner, store=store, host=host)
