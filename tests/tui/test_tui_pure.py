"""Pure helpers of the TUI: formatting, the log filter, the key registry, the export."""

from __future__ import annotations

from blackstart.checks.conclusions import Quorum
from blackstart.checks.probe_results import MemberState, SnapshotInfo
from blackstart.checks.severity import Severity
from blackstart.runbook.incident import write_incident_report as write_report
from blackstart.tui import keymap as actions
from blackstart.tui.formatting import (
    days_left_text,
    human_age,
    human_size,
    line_matches,
    quorum_line,
)
from screenshots import cluster


def test_human_units() -> None:
    assert human_size(None) == "-"
    assert human_size(512) == "512 B"
    assert human_size(2_531_328) == "2.4 MiB"
    assert human_age(42) == "42s"
    assert human_age(3 * 86400 + 3600) == "3d1h"


def test_days_left_says_expired_n_days_ago() -> None:
    assert days_left_text(-3.2) == "expired 3 days ago"
    assert days_left_text(-1.5) == "expired 1 day ago"
    assert days_left_text(-0.2) == "expired today"
    assert days_left_text(364.6) == "364 days"


def test_quorum_line_says_what_the_report_computed() -> None:
    assert quorum_line(Quorum(["etcd3"], 3, 2, True)) == "1/3 healthy, quorum needs 2 — NO QUORUM"
    assert quorum_line(Quorum(["etcd1", "etcd3"], 3, 2, True)).endswith("quorum OK")
    # members not probed yet: not "OK", whatever the arithmetic says
    assert quorum_line(Quorum([], 0, 0, False)).endswith("NO QUORUM")


def test_filter_by_known_class_else_search() -> None:
    known = {"etcd-refused", "critical", "ok"}
    assert line_matches("dial tcp", {"etcd-refused", "critical"}, "etcd-refused", known)
    assert not line_matches("Processing item", {"ok"}, "etcd-refused", known)
    assert line_matches("Processing item [k8s]", {"ok"}, "ITEM [k8s", known)  # text search
    assert line_matches("anything", set(), "", known)


def test_registry_drives_bindings_and_dangerous_set() -> None:
    keys = {b.key: b.action for b in actions.bindings() if not b.action.startswith("refuse")}
    refusals = {b.key: b.action for b in actions.bindings() if b.action.startswith("refuse")}
    assert refusals["R"] == "refuse('restore')" and "r" not in refusals
    assert keys["R"] == "restore" and keys["r"] == "refresh" and keys["slash"] == "filter_logs"
    assert all(b.description and b.id for b in actions.bindings())
    assert actions.dangerous_names() == {"snapshot", "restore", "restart", "renew",
                                        "recover"}


def test_incident_report_never_overwrites(tmp_path: object) -> None:
    text = "# Post-mortem: cluster lab\n"
    first = write_report(str(tmp_path), text, 3.0)
    second = write_report(str(tmp_path), "other", 3.0)
    assert first != second
    with open(first, encoding="utf-8") as fh:
        assert fh.read() == text


async def test_keys_pass_the_selected_request_on_untouched() -> None:
    """Issue 11: the request of the selected finding reaches the planner as it is (with its
    node), and the quorum finding's `x` starts exactly the members it names."""
    from blackstart.checks.conclusions import Finding
    from blackstart.checks.requests import Restore, SourceRef, StartMembers
    from blackstart.tui.app import build_app
    from blackstart.tui.targets import request_for

    app = build_app(cluster("seed-outage"), probes={}, clock=lambda: 1.0)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        report = app.report
        start = StartMembers(("etcd1", "etcd3"))
        restore = Restore(SourceRef("etcd3", "/b/s.db", "backup"))
        report.findings = [
            Finding(Severity.CRITICAL, "quorum-lost", "cluster", "lost", action=start),
            Finding(Severity.CRITICAL, "restore-source", "x", "best", action=restore),
        ]
        assert request_for("restart", app.main, report) is start
        app.main.query_one("#findings-list").focus()
        app.main.query_one("FindingsPanel").show(report.findings)
        await pilot.pause()
        app.main.query_one("#findings-list").highlighted = 1
        got = request_for("restore", app.main, report)
        assert got is restore and isinstance(got, Restore)
        assert isinstance(got.source, SourceRef) and got.source.node == "etcd3"


async def test_restore_from_a_snapshots_row_names_the_rows_node() -> None:
    """Issue 11 (b): `R` on a backup listed under another node restores from that node's
    file, not from a same-path file on this machine."""
    from blackstart.checks.requests import Restore, SourceRef
    from blackstart.tui.app import build_app
    from blackstart.tui.panels.snapshots import SnapshotsPanel
    from blackstart.tui.targets import request_for

    app = build_app(cluster("seed-outage"), probes={}, clock=lambda: 1.0)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        report = app.report
        report.snapshots = [
            SnapshotInfo("/backup/etcd/x.db", "etcd1", valid=True, revision=10),
            SnapshotInfo("/backup/etcd/x.db", "etcd3", valid=True, revision=12)]
        panel = app.main.query_one(SnapshotsPanel)
        panel.show(report, 1.0)
        # issue 11 (e): no restore recommended by the verdict, no star
        status = str(panel.query_one(".panel-status").render())
        assert panel._best is None and "no restore is recommended" in status, status
        app.main.show_panel("snapshots")
        table = panel.query_one("DataTable")
        table.focus()
        await pilot.pause()
        table.move_cursor(row=1)
        await pilot.pause()
        got = request_for("restore", app.main, report)
        assert got == Restore(SourceRef("etcd3", "/backup/etcd/x.db", "backup"))


async def test_x_on_a_members_row_acts_on_that_member_only() -> None:
    from blackstart.checks.requests import RestartService, StartMembers
    from blackstart.tui.app import build_app
    from blackstart.tui.panels.members import MembersPanel
    from blackstart.tui.targets import request_for

    lab = cluster("seed-outage")
    app = build_app(lab, probes={}, clock=lambda: 1.0)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        panel = app.main.query_one(MembersPanel)
        panel.show([MemberState("etcd1", "https://127.0.77.1:2379", healthy=True),
                    MemberState("etcd2", "https://127.0.77.2:2379", error_class="refused")],
                   Quorum(["etcd1"], 3, 2, True))
        table = panel.query_one("DataTable")
        table.focus()
        await pilot.pause()
        assert request_for("restart", app.main, app.report) == RestartService(
            lab.member("etcd1").node, "etcd")
        table.move_cursor(row=1)
        await pilot.pause()
        assert request_for("restart", app.main, app.report) == StartMembers(("etcd2",))


async def test_a_backup_dir_not_read_shows_why_never_invalid() -> None:
    """A listing that timed out (seen inside a loaded master) and a dir that is not there
    are shown as what they are: nothing was judged, so nothing is INVALID."""
    from blackstart.tui.app import build_app
    from blackstart.tui.panels.snapshots import SnapshotsPanel

    app = build_app(cluster("seed-outage"), probes={}, clock=lambda: 1.0)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        report = app.report
        report.snapshots = [
            SnapshotInfo("/backup/etcd", "etcd1", error="list /backup/etcd: no answer within 5s",
                         fact="unknown"),
            SnapshotInfo("/backup/etcd", "etcd2", error="no such directory", fact="missing"),
            SnapshotInfo("/backup/etcd/x.db", "etcd3", error="bad magic")]
        panel = app.main.query_one(SnapshotsPanel)
        panel.show(report, 1.0)
        await pilot.pause()
        table = panel.query_one("DataTable")
        rows = {str(table.get_row_at(i)[1]): " ".join(str(c) for c in table.get_row_at(i))
                for i in range(table.row_count)}
        assert "not read: list /backup/etcd: no answer" in rows["etcd1"], rows
        assert "INVALID" not in rows["etcd1"] and "INVALID" not in rows["etcd2"], rows
        assert "missing" in rows["etcd2"], rows
        assert "INVALID" in rows["etcd3"], rows
