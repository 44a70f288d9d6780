"""tui.details: Enter on a row shows every fact about it, uncut (pure, no Textual)."""

from __future__ import annotations

from blackstart.checks.conclusions import Finding, Report, Verdict
from blackstart.checks.probe_results import (
    CertInfo,
    MemberState,
    RestoreSource,
    SnapshotInfo,
    WalState,
)
from blackstart.checks.severity import Severity
from blackstart.tui import details

LONG = ("transport: authentication handshake failed: x509: certificate has expired or is "
        "not yet valid: current time 2026-12-01T03:00:00Z is after 2026-11-30T00:00:00Z [/]")


def _report() -> Report:
    return Report(
        "lab", 1_000.0, Verdict(Severity.CRITICAL, "quorum lost"),
        findings=[Finding(Severity.CRITICAL, "cert-expired", "etcd1 server cert", "expired",
                          ["notAfter 2026-11-30"], "renew it: blackstart certs renew")],
        members=[MemberState("etcd1", "https://127.0.77.1:2379", error_class="tls",
                             error=LONG, tls_fault="/etc/kubernetes/pki/etcd/server.crt")],
        certificates=[CertInfo("/etc/kubernetes/pki/etcd/server.crt", "master01", "etcd-server",
                               member="etcd1", days_left=-1.5, problems=["expired"],
                               sans=["master01", "127.0.77.1"])],
        wal=[WalState("etcd1", "master01", "/var/lib/etcd/member/wal", "ok")],
        member_dbs=[SnapshotInfo("/var/lib/etcd/member/snap/db", "master01", "member-db",
                                 valid=True, revision=812)],
        restore_sources=[RestoreSource("backup", "master03", "/backup/etcd/x.db", True, 220,
                                       behind_revisions=592, window="5 h")],
    )


def test_member_detail_keeps_the_whole_error_and_its_files() -> None:
    d = details.member_detail(_report(), "etcd1")
    text = d.as_text()
    assert LONG in text  # never cut
    assert "/etc/kubernetes/pki/etcd/server.crt" in text and "revision 812" in text
    assert "master01:/var/lib/etcd/member/snap/db" in text
    assert "finding cert-expired" in text
    assert d.copy_text == LONG


def test_cert_detail_names_node_file_sans() -> None:
    d = details.cert_detail(_report(), "master01", "/etc/kubernetes/pki/etcd/server.crt")
    text = d.as_text()
    assert "master01, 127.0.77.1" in text and "-1.5 days left; expired" in text
    assert d.copy_text == "/etc/kubernetes/pki/etcd/server.crt"


def test_source_detail_says_where_and_what_it_loses() -> None:
    d = details.source_detail(_report(), "master03", "/backup/etcd/x.db")
    assert ("loses", "592 revisions (5 h)") in d.lines
    assert d.copy_text == "master03:/backup/etcd/x.db"


def test_same_path_on_another_node_is_not_confused() -> None:
    # production masters share paths: the node is part of the key
    d = details.cert_detail(_report(), "master02", "/etc/kubernetes/pki/etcd/server.crt")
    assert ("state", "not in the last report") in d.lines


def test_finding_detail_has_evidence_and_next_step() -> None:
    d = details.finding_detail(_report().findings[0])
    assert ("evidence", "notAfter 2026-11-30") in d.lines
    assert "blackstart certs renew" in d.copy_text
