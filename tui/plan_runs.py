"""Running plans from the cockpit: the keys that propose one (snapshot, restore, restart,
renew, recover) plan it on a thread worker, the confirmation dialog shows it, and the
progress screen follows it step by step while it runs, resumes or rolls back on a worker
thread's own event loop; a failed step gets its node's log lines. Apart from
blackstart.tui.app, which schedules the probes and renders the report; what a finished
plan does to the probes (`on_plan_finished`) stays there.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from textual.worker import Worker, WorkerState

from blackstart.checks.errors import operator_message
from blackstart.checks.model import Cluster
from blackstart.checks.probe_results import LogLine
from blackstart.checks.requests import describe
from blackstart.tui import keymap as registry
from blackstart.tui.actions import CockpitActions
from blackstart.tui.details import component_of, step_log_lines
from blackstart.tui.messages import StepEventReceived
from blackstart.tui.plans import Planner, PlanView
from blackstart.tui.screens.confirm import ConfirmScreen
from blackstart.tui.screens.progress import ProgressScreen
from blackstart.tui.targets import request_for


class PlanRuns(CockpitActions):
    """The plan half of the cockpit; `BlackstartApp` sets these in its constructor."""

    operator: str
    planner: Planner
    results: dict[str, list[Any]]
    _progress: ProgressScreen | None

    def action_snapshot(self) -> None:
        self._propose("snapshot")

    def action_restore(self) -> None:
        self._propose("restore")

    def action_restart(self) -> None:
        self._propose("restart")

    def action_renew(self) -> None:
        self._propose("renew")

    def action_recover(self) -> None:
        self._propose("recover")

    def _propose(self, name: str) -> None:
        """Plan in a thread worker: planning reads nodes and may stage copies."""
        spec = registry.by_name(name)
        request = request_for(name, self.main, self.report)
        if request is None:
            self.notify(f"{spec.description}: nothing selected to act on.", timeout=5)
            return
        self.notify(f"Planning: {describe(request)}…", timeout=3)
        self.run_worker(partial(self.planner, request, self.cluster, self.report),
                        name=name, group="propose", description=f"plan {name}",
                        thread=True, exclusive=True, exit_on_error=False)

    def _proposed(self, worker: Worker[Any], state: WorkerState) -> None:
        if state == WorkerState.SUCCESS:
            view: PlanView = worker.result  # type: ignore[assignment]
            self.clear_notifications()  # "Planning…" must not sit on the dialog
            self.push_screen(ConfirmScreen(view, self.cluster.name),
                             partial(self._confirmed, view))
        elif state == WorkerState.ERROR:
            self.notify(f"{worker.name}: {operator_message(worker.error)}", severity="error",
                        timeout=15)

    def _confirmed(self, view: PlanView, ok: bool | None) -> None:
        if not ok:
            return
        self._progress = ProgressScreen(view)
        self.push_screen(self._progress, partial(self._plan_closed, view))
        self._run_plan(view, None, "execute")

    def _run_plan(self, view: PlanView, journal: str | None, mode: str) -> None:
        post = self.post_message
        self.run_worker(partial(_execute, view, self.cluster, self.operator,
                                lambda ev: _ignore(post(StepEventReceived(ev))),
                                journal=journal, mode=mode),
                        group="plan", description=f"{mode} the plan", thread=True,
                        exit_on_error=False)

    def on_progress_screen_requested(self, message: ProgressScreen.Requested) -> None:
        if self._progress is not None:
            self._run_plan(self._progress.view, message.journal, message.kind)

    def on_step_event_received(self, message: StepEventReceived) -> None:
        if self._progress is not None:
            self._progress.step_event(message.event)

    def _failed_step_logs(self) -> list[str]:
        """The failed step's node and component's log lines, from the newest logs probe."""
        failed = self._progress.failed if self._progress is not None else None
        if failed is None:
            return []
        logs = [x for x in self.results.get("logs", self.report.logs) if isinstance(x, LogLine)]
        return step_log_lines(logs, failed.node,
                              component_of(failed.title, tuple(failed.command.split())))

    def _show_failed_step_logs(self) -> None:
        p = self._progress
        if p is not None and p.done and p.ok is False and p.failed is not None:
            p.show_logs(self._failed_step_logs())

    def _plan_closed(self, view: PlanView, ok: bool | None) -> None:
        self._progress = None


def _execute(view: PlanView, cluster: Cluster, operator: str,
             on_event: Callable[[Any], None], *, journal: str | None, mode: str) -> Any:
    """Run, resume or roll back a plan on this worker thread's own event loop."""
    from pathlib import Path

    from blackstart.checks.loops import run_on_own_loop
    from blackstart.runbook.executor import execute, rollback
    from blackstart.runbook.journal import load_journal

    if mode == "rollback" and journal:
        coro = rollback(load_journal(Path(journal)), cluster, operator=operator, on_event=on_event)
    else:
        j = load_journal(Path(journal)) if journal else None
        coro = execute(view.plan, cluster, operator=operator, on_event=on_event, journal=j,
                       confirmed=None if j else view.digest)
    return run_on_own_loop(coro)


def _ignore(_: object) -> None:
    return None
