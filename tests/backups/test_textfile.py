"""check --textfile: Prometheus textfile-collector output, parsed by prometheus_client's
own parser; written atomically, 0644 for node_exporter."""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from blackstart.checks.conclusions import Report, Verdict
from blackstart.checks.probe_results import (
    BackupCopy,
    BackupLocationState,
    CertInfo,
    DrillRecord,
    MemberState,
    MetricsInfo,
)
from blackstart.checks.severity import Severity
from blackstart.runbook.textfile import write_textfile

NOW = 1_800_000_000.0


def _report() -> Report:
    s3 = BackupLocationState("s3", "s3", "offsite", copies=[
        BackupCopy("s3", "b.db", "s3://x/b.db", mtime=NOW - 600, state="verified"),
        BackupCopy("s3", "a.db", "s3://x/a.db", mtime=NOW - 900, state="broken")])
    dead = BackupLocationState("nfs", "dir", "site:dc1", error="no such dir")
    return Report(
        cluster="lab", taken_at=NOW, verdict=Verdict(Severity.OK, ""),
        certificates=[CertInfo("/pki/etcd/server.crt", "etcd1", "etcd-server",
                               not_after=NOW + 86400)],
        backups=[s3, dead],
        drills=[DrillRecord("s3", "a.db", NOW - 7200, False, 3.0),
                DrillRecord("s3", "b.db", NOW - 3600, True, 2.5)],
        metrics=[MetricsInfo("etcd1", wal_fsync_p99=0.008)],
        members=[MemberState("etcd1", "https://127.0.77.1:2379", healthy=True),
                 MemberState("etcd2", "https://127.0.77.2:2379"),
                 MemberState("etcd3", "https://127.0.77.3:2379", healthy=True)],
        expected_members=["etcd1", "etcd2", "etcd3"])


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def test_textfile_parses_with_prometheus_clients_parser(tmp_path: Path) -> None:
    path = write_textfile(str(tmp_path), _report(), NOW)
    assert oct(os.stat(path).st_mode & 0o777) == "0o644"
    assert [p.name for p in tmp_path.iterdir()] == ["blackstart.prom"]  # no temp left
    got = _samples(Path(path).read_text())

    def one(name: str, **labels: str) -> float:
        return got[(name, frozenset({"cluster": "lab", **labels}.items()))]

    assert one("blackstart_cert_expiry_seconds", node="etcd1", role="etcd-server",
               path="/pki/etcd/server.crt") == 86400
    loc = {"location": "s3", "domain": "offsite", "kind": "s3"}
    assert one("blackstart_backup_newest_verified_age_seconds", **loc) == 600
    assert one("blackstart_backup_copies", state="broken", **loc) == 1
    assert one("blackstart_backup_location_up", location="nfs", domain="site:dc1",
               kind="dir") == 0
    assert one("blackstart_drill_last_success", location="s3") == 1
    assert one("blackstart_drill_last_age_seconds", location="s3") == 3600
    assert one("blackstart_wal_fsync_p99_seconds", member="etcd1") == 0.008
    assert one("blackstart_members_healthy") == 2
    assert one("blackstart_quorum_needed") == 2 and one("blackstart_quorum_held") == 1
    assert not any(n == "blackstart_backup_newest_verified_age_seconds"
                   and ("location", "nfs") in ls for n, ls in got)  # none verified: absent


def test_rewrite_replaces_the_file_atomically(tmp_path: Path) -> None:
    first = write_textfile(str(tmp_path), _report(), NOW)
    inode = os.stat(first).st_ino
    write_textfile(str(tmp_path), _report(), NOW + 60)
    assert os.stat(first).st_ino != inode  # a new file renamed over, never rewritten in place
