"""checks.reasoning.report.assemble_report: the one place a Report is put together, and
the probe registry it files results by."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from test_diagnosis import NOW, seed, wal

from blackstart.checks.conclusions import Report
from blackstart.checks.model import Cluster, Member, Node
from blackstart.checks.probe_results import LogLine, MemberState, SnapshotInfo
from blackstart.checks.probes import registry
from blackstart.checks.reasoning import report as report_mod
from blackstart.checks.reasoning.report import assemble_report
from blackstart.checks.severity import Severity

CLUSTER = Cluster("t", (Node("n1"), Node("n2", has_access=False)), tuple(
    Member(f"etcd{i}", "n1", f"https://127.0.77.{i}:2379", f"https://127.0.77.{i}:2380",
           f"/d{i}") for i in (1, 2, 3)))


def _up(name: str, healthy: bool = True) -> MemberState:
    return MemberState(name, f"https://{name}:2379", healthy=healthy, revision=10)


def test_results_are_filed_by_the_registry_field_of_their_probe() -> None:
    db = SnapshotInfo("/d1/member/snap/db", "n1", kind="member-db", valid=True, revision=5)
    results = {"members": [_up("etcd1")], "member_dbs": [db],
               "logs": [LogLine("n1", "kube-apiserver", None, "hi")]}
    report = assemble_report(CLUSTER, results, 100.0, {"clocks": "boom"})
    assert [m.name for m in report.members] == ["etcd1"]
    assert report.member_dbs == [db] and report.snapshots == []
    assert len(report.logs) == 1 and report.probe_errors == {"clocks": "boom"}
    assert report.expected_members == ["etcd1", "etcd2", "etcd3"]
    assert report.nodes_without_access == ["n2"]
    assert report.taken_at == 100.0
    assert "probe-failed" in {f.code for f in report.findings}


def test_an_unknown_probe_name_is_refused() -> None:
    with pytest.raises(KeyError, match="no probe named 'restore_sources'"):
        assemble_report(CLUSTER, {"restore_sources": []}, 1.0)


def test_quorum_is_a_field_against_the_configured_members() -> None:
    report = assemble_report(CLUSTER, {"members": [_up("etcd1"), _up("etcd2", False)]}, 1.0)
    q = report.quorum
    assert (q.healthy, q.total, q.needed, q.held) == (["etcd1"], 3, 2, False)
    assert report.verdict.level is Severity.CRITICAL
    ok = assemble_report(CLUSTER, {"members": [_up("etcd1"), _up("etcd2"), _up("etcd3")]}, 1.0)
    assert ok.quorum.held and ok.quorum.text() == "3/3 members healthy, quorum needs 2"


def test_no_member_result_yet_means_quorum_unknown_not_lost() -> None:
    report = assemble_report(CLUSTER, {}, 1.0)
    assert not report.quorum.known and not report.quorum.held and report.quorum.total == 3


def test_best_source_is_the_source_the_verdict_restores_from() -> None:
    r = seed()  # tests/checks/test_diagnosis.py's seed outage, through assemble_report
    r.wal[0] = wal("etcd1", "corrupt", detail="walpb: crc mismatch")  # two members lost
    results = {"members": r.members, "certificates": r.certificates, "datadirs": r.wal,
               "member_dbs": r.member_dbs, "snapshots": r.snapshots}
    report = assemble_report(seed_cluster(), results, NOW)
    assert report.verdict.recommended == "restore-member-db"
    best = report.best_source
    assert best is not None and best == report.verdict.recommended_source()
    assert best.kind == "member-db" and best.node in {"etcd1", "etcd3"}
    healthy_now = assemble_report(seed_cluster(), {"members": [
        _up(n) for n in ("etcd1", "etcd2", "etcd3")], "snapshots": r.snapshots}, NOW)
    assert healthy_now.best_source is None  # nothing to restore: no source is "best"


def seed_cluster() -> Cluster:
    return Cluster("lab", tuple(Node(n) for n in ("etcd1", "etcd2", "etcd3")), tuple(
        Member(n, n, f"https://127.0.77.{i}:2379", f"https://127.0.77.{i}:2380",
               f"/var/lib/etcd-{n}") for i, n in enumerate(("etcd1", "etcd2", "etcd3"), 1)))


def test_a_diagnosis_bug_is_a_finding_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(report: Report, now: float) -> Any:
        raise ZeroDivisionError("oops")

    monkeypatch.setattr(report_mod, "diagnose", broken)
    report = assemble_report(CLUSTER, {"members": [_up("etcd1")]}, 1.0)
    assert [f.code for f in report.findings] == ["diagnosis-error"]
    assert report.verdict.level is Severity.WARNING
    assert "ZeroDivisionError: oops" in report.verdict.summary
    assert "1/3 members healthy" in report.verdict.summary  # the quorum still shows


def test_every_probe_fills_a_report_field_and_feeds_a_known_panel() -> None:
    fields = {f.name for f in dataclasses.fields(Report)}
    assert [s.name for s in registry.SPECS] == [
        "members", "access", "certificates", "snapshots", "datadirs", "member_dbs", "logs",
        "processes", "clocks", "metrics", "backups", "drills", "recoveries"]
    for spec in registry.SPECS:
        assert spec.field in fields, spec
        assert spec.panel in registry.PANELS, spec
    assert {s.name for s in registry.SPECS if s.cadence > 1} == {
        "snapshots", "datadirs", "member_dbs"}  # the ones that read whole files


def test_probe_names_map_to_panels() -> None:
    assert registry.panel_of("member_dbs") == "snapshots"
    assert registry.panel_of("members") == "members"
    assert registry.panel_of("certificates") == "certificates"
    assert registry.panel_of("clocks") == "findings"
    assert registry.panel_of("no-such-probe") == "findings"
