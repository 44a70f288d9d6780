"""The cockpit driven with Pilot on recorded lab-shaped data: keys, dialogs, read-only,
liveness (first paint before probes, a stuck probe delays only its panel)."""

from __future__ import annotations

import threading
import time
from typing import Any

from conftest import settle
from textual.widgets import Button, DataTable, Input

from blackstart.checks.probe_results import LogLine
from blackstart.checks.probes.context import ProbeContext
from blackstart.checks.severity import Severity
from blackstart.tui.app import build_app
from blackstart.tui.messages import ReportUpdated
from blackstart.tui.panels.logs import LogsPanel, LogView
from blackstart.tui.screens.confirm import ConfirmScreen
from blackstart.tui.screens.help import HelpScreen
from screenshots import clock as recorded_clock
from screenshots import cluster, probes, recording
from screenshots import recorded_app as _recorded_app


def recorded_app(outage: bool = True, **kw: Any) -> Any:
    return _recorded_app("seed-outage" if outage else "healthy", **kw)


def _recorded(scenario: str, probe: str) -> list[Any]:
    return list(recording(scenario).results[probe])


def _footer_actions(app: Any) -> set[str]:
    return {b.binding.action for b in app.screen.active_bindings.values()}


async def test_panels_fill_and_verdict_shows_quorum() -> None:
    app = recorded_app(outage=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert "Quorum lost" in app.report.verdict.summary
        table = app.main.query_one("#members-table", DataTable)
        assert [k.value for k in table.rows] == ["etcd1", "etcd2", "etcd3"]
        assert "NO QUORUM" in str(app.main.query_one("#quorum-line").render())
        snaps = app.main.query_one("#snapshots-table", DataTable)
        files = _recorded("seed-outage", "snapshots") + _recorded("seed-outage", "member_dbs")
        assert snaps.row_count == len(files) == 9  # 2 backups per node, 3 member dbs
        assert app.main.query_one(LogsPanel).line_count == len(_recorded("seed-outage", "logs"))
        for panel in ("members", "snapshots", "certificates", "logs", "findings"):
            assert app.main.query_one(f"#{panel}").region.height > 3, panel  # wide: a grid
        assert not app.main.query_one("#tabs").display


async def test_first_paint_before_any_probe_and_stuck_probe_delays_only_itself() -> None:
    release = threading.Event()

    async def stuck_members(ctx: ProbeContext) -> list[Any]:
        release.wait(20)  # blocks its thread for real, like grpc to a blackholed member
        return _recorded("seed-outage", "members")

    stuck = probes("seed-outage") | {"members": stuck_members}
    app = recorded_app(outage=True, probes=stuck)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.pause()
            assert "Checking members: etcd1, etcd2, etcd3" in str(
                app.main.query_one("#members .panel-status").render())
            await settle(pilot, names=set(stuck) - {"members"})
            assert "members" in app.running
            certs = app.main.query_one("#certs-table", DataTable)
            assert certs.row_count == len(_recorded("seed-outage", "certificates")) == 15
            logs = app.main.query_one(LogsPanel)
            assert logs.line_count == len(_recorded("seed-outage", "logs"))
            t0 = time.monotonic()
            await pilot.press("question_mark")  # the UI answers while members is stuck
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            assert time.monotonic() - t0 < 2.0
            await pilot.press("escape")
            await pilot.pause(2.5)
            status = str(app.main.query_one("#members .panel-status").render())
            assert "members: waiting" in status, status  # the late probe says so, live
            release.set()
            await settle(pilot)
            assert app.main.query_one("#members-table", DataTable).row_count == 3
    finally:
        release.set()


async def test_restore_opens_confirm_with_cancel_focused_and_escape_closes() -> None:
    app = recorded_app(outage=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await _wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        screen = app.screen
        assert isinstance(app.focused, Input) and app.focused.id == "confirm-name"
        # no restore is recommended (the verdict starts and replaces members), so `R` asks
        # the runbook for the best-ranked source: the dialog names that file and node
        assert app.report.best_source is None
        top = app.report.restore_sources[0]
        assert top.recommended and f"{top.path} on {top.node}" in screen.view.target
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.main


async def test_destructive_confirm_needs_the_cluster_name() -> None:
    app = recorded_app(outage=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await _wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        ok = app.screen.query_one("#confirm-ok", Button)
        name = app.screen.query_one("#confirm-name", Input)
        name.focus()
        await pilot.press(*"prod")
        assert ok.disabled, "a wrong cluster name must keep Confirm disabled"
        name.value = ""
        await pilot.press(*"lab")
        await pilot.pause()
        assert not ok.disabled


async def test_read_only_hides_and_blocks_every_action() -> None:
    app = recorded_app(outage=True, read_only=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        shown = _footer_actions(app)
        assert not shown & {"restore", "snapshot", "restart", "renew"}
        assert {"refresh", "help", "quit"} <= shown
        await pilot.press("R")
        await pilot.pause(0.3)
        assert app.screen is app.main, "R must open nothing in read-only mode"
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert not any("Restore" in t for t in titles)
        assert any("Refresh" in t for t in titles)
        await pilot.press("question_mark")
        await pilot.pause()
        marks = {k: m for k, _, m in app.screen.rows}
        assert marks["R"] == "read-only: disabled" and marks["r"] == ""


async def test_palette_offers_restore_when_not_read_only() -> None:
    app = recorded_app(outage=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert any("Restore" in t for t in titles)
        assert "restore" in _footer_actions(app)


async def test_live_data_frozen_while_a_dialog_is_open() -> None:
    updates: list[ReportUpdated] = []

    def hook(message: object) -> None:
        if isinstance(message, ReportUpdated):
            updates.append(message)

    app = recorded_app(outage=True, refresh_interval=0.2)
    async with app.run_test(size=(120, 36), message_hook=hook) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.1)
        before = len(updates)
        await pilot.pause(1.0)  # several refresh intervals
        assert len(updates) == before, "nothing re-renders under an open dialog"
        await pilot.press("escape")
        await pilot.pause(1.0)
        assert len(updates) > before, "polling resumes when the dialog closes"


async def test_log_filter_by_class_and_follow_marker() -> None:
    lines = _recorded("power-back", "logs")
    total = len(lines)
    refused = sum(1 for ln in lines if ln.signature == "etcd-refused")
    x509 = sum(1 for ln in lines if "x509" in ln.text.lower())
    assert 0 < refused < total and 0 < x509 < total  # the recording has both kinds
    app = _recorded_app("power-back")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await pilot.pause()
        logs = app.main.query_one(LogsPanel)
        assert app.focused is logs.query_one("#log-filter")
        await pilot.press(*"etcd-refused")
        await pilot.pause()
        assert f"{refused}/{total} lines" in str(logs.query_one(".panel-status").render())
        await pilot.press("escape")
        await pilot.pause()
        assert f"{total} lines" in str(logs.query_one(".panel-status").render())
        await pilot.press("slash", *"X509")  # not a class: a case-insensitive text search
        await pilot.pause()
        assert f"{x509}/{total} lines" in str(logs.query_one(".panel-status").render())
        strips = logs.query_one(LogView).lines  # the hits, wrapped over a few strips
        assert any(seg.text.lower() == "x509" and seg.style and seg.style.reverse
                   for strip in strips for seg in strip), "the search hit is highlighted"


async def test_export_writes_markdown_in_the_state_dir(tmp_path: Any) -> None:
    app = recorded_app(outage=True, state_dir=str(tmp_path / "state"))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await _wait_for(pilot, lambda: app.last_export is not None)
        path = app.last_export
        assert path is not None and path.startswith(str(tmp_path / "state"))
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        assert text.startswith("# Post-mortem: cluster lab")


async def _wait_for(pilot: Any, cond: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        await pilot.pause(0.05)


async def test_narrow_tabs_show_one_panel_and_hidden_logs_render_when_shown() -> None:
    app = recorded_app(outage=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.main.has_class("-narrow")
        logs = app.main.query_one(LogsPanel)
        assert not logs.display or not logs.has_class("-active")
        app.main.show_panel("logs")
        await pilot.pause(0.2)
        assert logs.region.height > 0
        assert len(logs.query_one("#log-view").lines) >= 6  # deferred writes rendered
        assert app.main.query_one("#members").region.height == 0


def _failing_planner(request: Any, cluster: Any, report: Any) -> Any:
    from blackstart.runbook.plan import Plan, Step
    from blackstart.tui.plans import PlanView

    plan = Plan("restart-test", "restart", "restart etcd2 (fails on purpose)", cluster.name,
                "etcd on etcd2", False,
                [Step("s1", "etcd2", "a command that fails", "run", ("false",))])
    return PlanView.of(request.name, plan)


async def test_failed_plan_stops_and_offers_resume_and_rollback(tmp_path: Any) -> None:
    from blackstart.tui.screens.progress import ProgressScreen

    app = recorded_app(outage=True, state_dir=str(tmp_path / "state"),
                       planner=_failing_planner)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("x")
        await _wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert not app.screen.query_one("#confirm-ok", Button).disabled  # not destructive
        await pilot.click("#confirm-ok")
        await _wait_for(pilot, lambda: isinstance(app.screen, ProgressScreen))
        progress = app.screen
        assert isinstance(progress, ProgressScreen)
        await _wait_for(pilot, lambda: progress.done, 30)
        assert progress.ok is False and progress.journal
        assert progress.query_one("#progress-resume").display
        assert progress.query_one("#progress-rollback").display
        button = progress.query_one("#progress-rollback")
        assert 0 < button.region.bottom <= 35, button.region  # visible above the footer
        r = button.region
        at = app.get_widget_at(r.x + r.width // 2, r.y + r.height // 2)
        assert at[0] is button, (at, r)
        await pilot.click("#progress-rollback")
        await _wait_for(pilot, lambda: progress.done, 30)
        status = str(progress.query_one("#progress-status").render())
        assert progress.ok is True, status  # nothing had changed: nothing to undo
        await pilot.click("#progress-close")
        await pilot.pause()
        # `x` in the seed outage: the quorum finding's request (start etcd1 and etcd3)
        assert app.screen is app.main


async def test_refresh_key_never_starts_a_second_poll_chain() -> None:
    runs: list[float] = []

    async def counted(ctx: ProbeContext) -> list[Any]:
        runs.append(time.monotonic())
        return _recorded("healthy", "members")

    app = build_app(cluster("healthy"), probes={"members": counted},
                    clock=recorded_clock("healthy"),
                    refresh_interval=0.5)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        for _ in range(4):
            await pilot.press("r")
            await settle(pilot)
        start = len(runs)
        await pilot.pause(2.0)
        assert len(runs) - start <= 6, "each `r` must not add a poll chain"
        assert len(runs) - start >= 2, "polling goes on"


async def test_scrolling_up_stops_follow_and_counts_new_lines() -> None:
    calls = [0]

    async def growing_logs(ctx: ProbeContext) -> list[Any]:
        calls[0] += 1
        return [LogLine("etcd1", "kube-apiserver", f"2026-11-18T01:{i // 60:02}:{i % 60:02}Z",
                        f"line {i}") for i in range(40 * calls[0])]

    app = build_app(cluster("seed-outage"), probes={"logs": growing_logs},
                    clock=recorded_clock("seed-outage"),
                    refresh_interval=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.main.show_panel("logs")
        await pilot.pause(0.2)
        view = app.main.query_one("#log-view", LogView)
        assert view.is_vertical_scroll_end
        view.scroll_home(animate=False)
        await pilot.pause(0.1)
        await pilot.press("r")
        await settle(pilot)
        marker = app.main.query_one("#log-marker")
        assert marker.display and "40 new lines" in str(marker.render())
        assert view.scroll_y == 0, "not following: the view stays where the operator put it"
        view.focus()
        await pilot.press("end")
        await _wait_for(pilot, lambda: not marker.display, 5)  # back at the end: following


async def test_switching_theme_recolours_node_data() -> None:
    app = recorded_app(outage=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        table = app.main.query_one("#members-table", DataTable)
        before = table.get_cell("etcd2", "health").style
        app.theme = "blackstart-high-contrast"
        await pilot.pause(0.3)
        after = table.get_cell("etcd2", "health").style
        assert str(after) != str(before)
        panel = app.main.query_one("#members")
        assert str(after) == str(panel.sev_style(Severity.CRITICAL))  # the new theme's $error
