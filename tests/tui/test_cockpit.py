"""Issue 16 (and the Logs view of issue 15): each defect an SRE hit, driven with Pilot on
the recorded seed outage through the real diagnosis.

help, confirmation, details, copy, progress, read-only answers, toasts, fresh after
change, observations and the post-mortem export, and the Logs view."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from conftest import settle
from textual.widgets import Button, DataTable, Input, RichLog

from blackstart.checks.formats.loglines import parse_lines
from blackstart.checks.probe_results import LogLine
from blackstart.checks.probes.context import ProbeContext
from blackstart.checks.probes.logs import to_logline
from blackstart.runbook.plan import Plan, Step
from blackstart.runbook.runner import StepEvent
from blackstart.tui import keymap
from blackstart.tui.plans import PlanView
from blackstart.tui.screens.confirm import ConfirmScreen
from blackstart.tui.screens.detail import DetailScreen
from blackstart.tui.screens.help import HelpScreen
from blackstart.tui.screens.logs import LogsScreen, tab_id
from blackstart.tui.screens.progress import ProgressScreen
from screenshots import recorded_app

CORRUPT_WAL_LOG = Path(__file__).parent.parent / "data" / "recorded" / "corrupt-wal-etcd-3.5.1.log"


async def _wait_for(pilot: Any, cond: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        await pilot.pause(0.05)


def _toasts(app: Any) -> list[str]:
    return [str(n.message) for n in app._notifications]


def _footer_actions(app: Any) -> set[str]:
    return {b.binding.action for b in app.screen.active_bindings.values() if b.binding.show}


# ---------------------------------------------------------------- 1. help
async def test_help_is_a_real_screen_of_the_current_screens_keys() -> None:
    app = recorded_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await _wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        box = app.screen.query_one("#help-box")
        assert box.region.width > 60 and box.region.height > 10, box.region  # not 0×0
        keys = [k for k, _, _ in app.screen.rows]
        assert keys[:len(keymap.ACTIONS)] == [keymap.key_label(s) for s in keymap.ACTIONS]
        marks = {k: m for k, _, m in app.screen.rows}
        assert marks["R"].startswith("dangerous") and marks["r"] == ""
        await app.run_action("help")  # the palette's Help while help is open: harmless
        await pilot.pause()
        assert sum(isinstance(s, HelpScreen) for s in app.screen_stack) == 1
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.main


async def test_palette_lists_quit_once() -> None:
    app = recorded_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert sum(t.startswith("Quit") for t in titles) == 1, titles


async def test_help_of_a_dialog_lists_that_dialogs_keys() -> None:
    app = recorded_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        app.main.query_one("#members-table").focus()
        await pilot.press("enter")
        await _wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        await pilot.press("question_mark")
        await _wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        what = [w for _, w, _ in app.screen.rows]
        assert any("Copy what this detail names" in w for w in what)
        assert not any("Restore the whole cluster" in w for w in what)


# ---------------------------------------------------------------- 2. confirmation
async def test_confirm_name_box_has_focus_and_enter_says_why_at_80x24() -> None:
    app = recorded_app()
    closed: list[bool | None] = []
    app._confirmed = lambda view, ok: closed.append(ok)  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await _wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.pause(0.2)
        screen = app.screen
        name = screen.query_one("#confirm-name", Input)
        assert app.focused is name, app.focused
        for wid in ("#confirm-name", "#cancel", "#confirm-ok"):
            region = screen.query_one(wid).region
            assert region.height > 0 and region.bottom <= 23, (wid, region)  # above the footer
        assert screen.query_one("#confirm-plan").max_scroll_y > 0  # the plan scrolls
        await pilot.press(*"prod", "enter")
        await pilot.pause()
        assert app.screen is screen and closed == []
        why = str(screen.query_one("#confirm-why").render())
        assert "'prod' is not the cluster name (lab)" in why
        name.value = ""
        await pilot.press(*"lab", "enter")
        await pilot.pause()
        assert closed == [True]


async def test_confirm_escape_cancels_and_cancel_is_the_default_button() -> None:
    app = recorded_app()
    closed: list[bool | None] = []
    app._confirmed = lambda view, ok: closed.append(ok)  # type: ignore[method-assign]
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await _wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert app.screen.query_one("#cancel", Button).variant == "primary"
        assert app.screen.query_one("#confirm-ok", Button).disabled
        await pilot.press("escape")
        await pilot.pause()
        assert closed == [False] and app.screen is app.main


# ---------------------------------------------------------------- 3. details
async def test_enter_on_every_kind_of_row_opens_its_detail() -> None:
    app = recorded_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        for table, title in (("#members-table", "Member"), ("#certs-table", "Certificate"),
                             ("#snapshots-table", "")):
            app.main.query_one(table).focus()
            await pilot.press("enter")
            await _wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
            assert app.screen.detail.title.startswith(title) and app.screen.detail.lines
            await pilot.press("escape")
            await pilot.pause()
        app.main.query_one("#findings-list").focus()
        await pilot.press("enter")
        await _wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        assert app.screen.detail.title.startswith("Finding")


async def test_member_detail_has_the_whole_error_and_its_recent_log_lines() -> None:
    app = recorded_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        down = next(m for m in app.report.members if not m.healthy and m.error)
        table = app.main.query_one("#members-table", DataTable)
        table.focus()
        table.move_cursor(row=table.get_row_index(down.name))
        await pilot.press("enter")
        await _wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        lines = dict(app.screen.detail.lines)
        assert lines["last error"] == down.error  # in full, not cut at 100 characters
        assert any(label.startswith("log ") for label, _ in app.screen.detail.lines)


async def test_next_line_shows_every_step() -> None:
    app = recorded_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        steps = app.report.verdict.next_steps
        shown = str(app.main.query_one("#verdict").render())
        flat = " ".join(shown.split())
        for step in steps:
            assert " ".join(step.split())[:60] in flat, step


# ---------------------------------------------------------------- 4. copy
async def test_y_copies_the_focused_row_with_osc52_and_to_the_state_dir(tmp_path: Path) -> None:
    app = recorded_app(state_dir=str(tmp_path))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        table = app.main.query_one("#certs-table", DataTable)
        table.focus()
        await pilot.press("y")
        cert = app.main.query_one("#certificates").selected_cert()
        assert app.clipboard == cert.path
        assert any("Copied" in t and cert.path in t for t in _toasts(app))
        copied = tmp_path / "copied.txt"
        await _wait_for(pilot, copied.exists)
        assert copied.read_text() == cert.path + "\n"
        assert os.stat(copied).st_mode & 0o777 == 0o600


# ---------------------------------------------------------------- 5. progress, toasts, footers
def _plan(n: int) -> PlanView:
    steps = [Step(f"s{i}", f"etcd{i % 3 + 1}", f"step number {i}", "run", ("true",))
             for i in range(n)]
    return PlanView.of("restart", Plan("p", "restart", "test plan", "lab", "etcd on etcd2",
                                       False, steps))


async def test_progress_says_step_n_of_m_with_times_and_failure_shows_log_lines() -> None:
    app = recorded_app()
    now = [100.0]
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        view = _plan(38)
        screen = ProgressScreen(view, clock=lambda: now[0])
        await app.push_screen(screen)
        for i in range(11):
            screen.step_event(StepEvent("p", i, view.plan.steps[i], "running"))
            screen.step_event(StepEvent("p", i, view.plan.steps[i], "ok"))
        screen.step_event(StepEvent("p", 11, view.plan.steps[11], "running"))
        now[0] += 3.1
        screen._tick()
        counter = str(screen.query_one("#progress-counter").render())
        assert "step 12/38 · 3.1 s · total 3.1 s" in counter, counter
        screen.step_event(StepEvent("p", 11, view.plan.steps[11], "failed"))
        lines = ["{\"level\":\"fatal\",\"msg\":\"discovery failed\"}"]
        screen.finished(False, "exit code 1", None, lines)
        await pilot.pause()
        status = str(screen.query_one("#progress-status").render())
        assert "Step 12/38 failed on etcd3: step number 11" in status
        logs = screen.query_one("#progress-logs", RichLog)
        assert logs.display and "discovery failed" in "".join(
            seg.text for strip in logs.lines for seg in strip)


async def test_toasts_never_cover_a_dialog_and_each_footer_has_its_own_keys() -> None:
    app = recorded_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("R")  # toasts "Planning: …"
        await _wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.pause(0.2)
        assert _toasts(app) == []
        app.notify("something while the dialog is open")
        await pilot.pause()
        assert _toasts(app) == [], "held until the dialog closes"
        footer = _footer_actions(app)
        assert "cancel" in footer and not footer & {"restore", "refresh", "export"}
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert any("something while" in t for t in _toasts(app))


async def test_read_only_answers_a_dangerous_key_with_why() -> None:
    app = recorded_app(read_only=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await pilot.pause(0.2)
        assert app.screen is app.main
        assert "read-only: restore is disabled" in _toasts(app)
        assert "restore" not in _footer_actions(app)


# ---------------------------------------------------------------- 6. fresh after change
async def test_after_a_plan_finishes_every_probe_runs_again_at_once() -> None:
    app = recorded_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        screen = ProgressScreen(_plan(1))
        await app.push_screen(screen)
        app._progress = screen
        started: list[str] = []
        real = app.start_probe

        def spy(name: str, **kw: Any) -> None:
            started.append(name)
            real(name, **kw)

        app.start_probe = spy  # type: ignore[method-assign]
        from blackstart.tui.messages import PlanFinished

        app.post_message(PlanFinished(None, None))
        await _wait_for(pilot, lambda: set(app.probes) <= set(started))
        assert isinstance(app.screen, ProgressScreen), "the probes ran under the dialog"


async def test_tui_records_observations_and_e_writes_the_post_mortem(tmp_path: Path) -> None:
    app = recorded_app(state_dir=str(tmp_path))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        obs = tmp_path / "observations.jsonl"
        await _wait_for(pilot, obs.exists)
        await pilot.press("e")
        await _wait_for(pilot, lambda: app.last_export is not None)
        text = Path(app.last_export or "").read_text()
        assert text.startswith("# Post-mortem: cluster lab")


async def test_read_only_records_nothing_and_export_shows_instead(tmp_path: Path) -> None:
    app = recorded_app(state_dir=str(tmp_path), read_only=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await _wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        assert "Post-mortem" in app.screen.detail.title
        assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- 7. logs view
def _corrupt_wal_lines() -> list[LogLine]:
    """What etcd 3.5.1 wrote when started on a WAL whose record CRC was damaged
    (recorded on a real etcd; see tests/data/recorded/README)."""
    raw = CORRUPT_WAL_LOG.read_text(encoding="utf-8").splitlines()
    return [to_logline("etcd2", "etcd", e) for e in parse_lines(raw, "file")]


def _with_corrupt_wal() -> Any:
    from screenshots import probes

    base = probes("seed-outage")
    recorded = base["logs"]

    async def logs(ctx: ProbeContext) -> list[Any]:
        return [*await recorded(ctx), *_corrupt_wal_lines()]

    return base | {"logs": logs}


async def test_logs_view_etcd_tab_of_corrupt_member_highlights_walpb_and_its_finding() -> None:
    app = recorded_app(probes=_with_corrupt_wal())
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await pilot.press("l")
        await _wait_for(pilot, lambda: isinstance(app.screen, LogsScreen))
        screen = app.screen
        labels = [t.label for t in screen.tabs]
        assert {"etcd etcd1", "etcd etcd2", "etcd etcd3", "kube-apiserver etcd1"} <= set(labels)
        screen.query_one("#logs-tabs").active = tab_id("etcd@etcd2")
        await _wait_for(pilot, lambda: screen.active == "etcd@etcd2")
        rows = screen.shown_rows()
        hit = [(ln, f) for ln, f in rows if "walpb: crc mismatch" in ln.text]
        assert hit and hit[0][1] is not None and hit[0][1].subject == "etcd-walpb-crc"
        strips = screen.query_one("#logs-lines", RichLog).lines
        segs = [seg for strip in strips for seg in strip]
        text = "".join(s.text for s in segs)
        assert "discovery failed error=walpb: crc mismatch" in text  # zap rendered readably
        assert "⟵ finding etcd-walpb-crc" in text
        assert any("discovery failed" in s.text and s.style and s.style.bold for s in segs)


async def test_logs_view_level_filter_search_and_toggles() -> None:
    app = recorded_app(probes=_with_corrupt_wal())
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await pilot.press("l")
        await _wait_for(pilot, lambda: isinstance(app.screen, LogsScreen))
        screen = app.screen
        screen.query_one("#logs-tabs").active = tab_id("etcd@etcd2")
        await _wait_for(pilot, lambda: screen.active == "etcd@etcd2")
        total = len(screen.shown_rows())
        await pilot.press("v", "v", "v")  # all → info → warning → error
        assert 0 < len(screen.shown_rows()) < total
        assert all("fatal" in ln.text or "error" in ln.text for ln, _ in screen.shown_rows())
        await pilot.press("v")
        await pilot.press("slash", *"closing")
        await pilot.pause()
        assert screen.shown_rows() and all("closing" in ln.text for ln, _ in screen.shown_rows())
        await pilot.press("escape")
        for key, attr in (("w", "wrap"), ("t", "times"), ("f", "follow")):
            before = getattr(screen, attr)
            await pilot.press(key)
            assert getattr(screen, attr) is not before


def test_log_text_is_shown_literally() -> None:
    from blackstart.checks.formats.logrecord import parse_line
    from blackstart.tui.logview import literal

    assert literal("\x1b[31mred[/] [bold]x") == "\\x1b[31mred[/] [bold]x"
    assert parse_line("\udcff bad bytes").raw  # never raises on surrogates
