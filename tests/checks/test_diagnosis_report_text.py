"""The readable report over a diagnosed seed outage: verdict first, then steps, evidence."""

from __future__ import annotations

from test_diagnosis import NOW, healthy, seed

from blackstart.checks.conclusions import Report
from blackstart.checks.reasoning.diagnosis import diagnose
from blackstart.checks.reasoning.report_text import render
from blackstart.checks.reasoning.sources import rank_sources


def _diagnosed(r: Report) -> Report:
    r.restore_sources = rank_sources(r.snapshots, r.member_dbs, r.wal, r.members, NOW)
    r.findings, r.verdict = diagnose(r, NOW)
    return r


def test_seed_report_reads_top_down() -> None:
    text = render(_diagnosed(seed()))
    lines = text.splitlines()
    assert lines[0].startswith("blackstart check: cluster lab, ")
    assert lines[2].startswith("CRITICAL: Quorum lost: 0/3 members healthy, quorum needs 2")
    order = [text.index(h) for h in ("\nNext steps\n", "\nFindings\n", "\nMembers\n",
                                      "\nCertificates\n", "\nBackup snapshots\n",
                                      "\nRestore sources (best first)\n", "\nWrite-ahead logs\n")]
    assert order == sorted(order)
    steps = text[text.index("\nNext steps\n"):text.index("\nFindings\n")]
    # the recommended way renews the cert by file, once (no second, generic renew step)
    assert "  1. Renew /lab/nodes/etcd1/etc/kubernetes/pki/etcd/server.crt on etcd1" in steps
    assert steps.count("server.crt") == 1 and "Renew the expired" not in steps
    assert "compare hashkv — the\n     whole way loses nothing." in steps
    assert "expired 3 days ago" in text
    assert "3 days ago (expired)" in text  # the certificates table
    assert "INVALID (see findings)" in text  # the truncated backup
    assert "* etcd1's own database is 4,211 revisions newer than the newest backup." in text


def test_healthy_report_lists_no_findings_above_ok() -> None:
    text = render(_diagnosed(healthy()))
    assert text.splitlines()[2] == "OK: Healthy: 3/3 members healthy, quorum needs 2."
    assert "CRITICAL" not in text and "WARNING" not in text
    assert "  1. No action needed." in text


def test_lines_from_nodes_are_wrapped_not_truncated() -> None:
    r = seed()
    r.wal[1].detail = "x" * 400
    text = render(_diagnosed(r))
    assert "x" * 80 in text and sum(line.count("x" * 50) for line in text.splitlines()) >= 4
