"""diagnose() over hand-built reports: the seed outage, a healthy cluster, and each rule."""

from __future__ import annotations

import copy

from blackstart.checks.conclusions import Finding, Report, Verdict
from blackstart.checks.probe_results import (
    CertInfo,
    ClockInfo,
    LogLine,
    MemberState,
    MetricsInfo,
    NodeAccess,
    ProcessInfo,
    SnapshotInfo,
    WalState,
)
from blackstart.checks.reasoning.diagnosis import diagnose
from blackstart.checks.requests import (
    Renew,
    ReplaceMember,
    RestartService,
    Restore,
    SourceRef,
    StartMembers,
)
from blackstart.checks.severity import Severity

NOW = 1_800_000_000.0
DAY = 86400.0
NAMES = ("etcd1", "etcd2", "etcd3")


def _dd(name: str) -> str:
    return f"/lab/nodes/{name}/var/lib/etcd"


def member(name: str, healthy: bool = True, **kw: object) -> MemberState:
    m = MemberState(name=name, endpoint=f"https://127.0.10.{name[-1]}:2379", healthy=healthy,
                    version="3.5.1" if healthy else None, revision=5000 if healthy else None)
    for k, v in kw.items():
        setattr(m, k, v)
    return m


def down(name: str) -> MemberState:
    return member(name, False, error_class="refused", error="connection refused")


def cert(name: str, role: str = "etcd-server", **kw: object) -> CertInfo:
    c = CertInfo(path=f"/lab/nodes/{name}/etc/kubernetes/pki/etcd/{role[5:]}.crt", node=name,
                 role=role, member=name, not_before=NOW - 30 * DAY, not_after=NOW + 300 * DAY)
    for k, v in kw.items():
        setattr(c, k, v)
    return c


def wal(name: str, state: str = "ok", **kw: object) -> WalState:
    w = WalState(member=name, node=name, path=f"{_dd(name)}/member/wal", state=state,
                 records=120, last_index=900)
    for k, v in kw.items():
        setattr(w, k, v)
    return w


def db(name: str, rev: int, ci: int = 900, valid: bool = True) -> SnapshotInfo:
    return SnapshotInfo(path=f"{_dd(name)}/member/snap/db", node=name, kind="member-db",
                        valid=valid, revision=rev if valid else None, consistent_index=ci,
                        mtime=NOW - 600, error=None if valid else "invalid database")


def backup(name: str, rev: int, age: float, valid: bool = True) -> SnapshotInfo:
    return SnapshotInfo(path=f"/lab/nodes/{name}/backup/etcd/snap-{rev}.db", node=name,
                        valid=valid, revision=rev if valid else None, total_keys=420,
                        size=2_000_032, mtime=NOW - age, sha256_ok=valid,
                        error=None if valid else "truncated: size is not 512*n+32")


def report(**kw: object) -> Report:
    r = Report(cluster="lab", taken_at=NOW, verdict=Verdict(Severity.OK, ""),
               expected_members=list(NAMES))
    for k, v in kw.items():
        setattr(r, k, v)
    return r


def healthy() -> Report:
    return report(
        members=[member(n, leader=(n == "etcd1")) for n in NAMES],
        certificates=[cert(n) for n in NAMES] + [cert(n, "etcd-peer") for n in NAMES],
        wal=[wal(n) for n in NAMES],
        member_dbs=[db(n, 5000) for n in NAMES],
        snapshots=[backup("etcd1", 4800, 3600)],
        clocks=[ClockInfo(n, NOW, 0.01) for n in NAMES],
        metrics=[MetricsInfo(n, 0.004, 0.01, True, 1, 2e6, 2**31) for n in NAMES],
    )


def seed() -> Report:
    """The seed outage: power cut, etcd1's server cert expired 3 days ago, etcd2 WAL corrupt."""
    return report(
        members=[down(n) for n in NAMES],
        certificates=[cert("etcd1", not_after=NOW - 3 * DAY, problems=["expired"]),
                      cert("etcd2"), cert("etcd3")],
        wal=[wal("etcd1", "torn-tail", detail="torn record at offset 4096"),
             wal("etcd2", "corrupt", detail="walpb: crc mismatch at record 57"),
             wal("etcd3")],
        member_dbs=[db("etcd1", 5211), db("etcd2", 5100), db("etcd3", 5150)],
        snapshots=[backup("etcd1", 1000, 5 * 3600), backup("etcd1", 1200, 60, valid=False)],
    )


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def by_code(findings: list[Finding], code: str) -> list[Finding]:
    return [f for f in findings if f.code == code]


# --------------------------------------------------------------------------- seed / healthy


def test_seed_outage_is_critical_and_names_lost_quorum() -> None:
    findings, verdict = diagnose(seed(), NOW)
    assert verdict.level is Severity.CRITICAL
    assert verdict.summary.startswith("Quorum lost: 0/3 members healthy, quorum needs 2")
    assert findings[0].code == "quorum-lost"


def test_seed_outage_names_the_expired_cert_its_member_and_since_when() -> None:
    findings, _ = diagnose(seed(), NOW)
    (f,) = by_code(findings, "cert-expired")
    assert f.severity is Severity.CRITICAL
    assert f.subject.endswith("etcd1/etc/kubernetes/pki/etcd/server.crt")
    assert "etcd1" in f.seen and "expired 3 days ago" in f.seen
    assert f.action is not None and f.action.name == "renew-cert"
    assert f.action == Renew("etcd1", f.subject, member="etcd1")


def test_seed_outage_states_each_members_wal() -> None:
    findings, _ = diagnose(seed(), NOW)
    wal_codes = {f.subject: f.code for f in findings if f.code.startswith("wal-")}
    assert wal_codes == {"etcd1": "wal-torn-tail", "etcd2": "wal-corrupt", "etcd3": "wal-ok"}
    (corrupt,) = by_code(findings, "wal-corrupt")
    assert corrupt.severity is Severity.CRITICAL and "member etcd2 is lost" in corrupt.seen
    assert "walpb: crc mismatch" in corrupt.evidence[0]
    (torn,) = by_code(findings, "wal-torn-tail")
    assert "repairs it on start" in torn.seen


def test_seed_outage_recommends_start_and_replace_not_a_restore() -> None:
    """Issue 12: the loss-free way (renew, start etcd1+etcd3, replace etcd2) comes first;
    restores stay listed with what they lose, and no source is offered as the next step."""
    findings, verdict = diagnose(seed(), NOW)
    assert by_code(findings, "restore-source") == []
    assert verdict.recommended == "replace"
    names = [s.name for s in verdict.strategies]
    assert names[0] == "replace" and "restore-member-db" in names and "restore-backup" in names
    top = verdict.strategies[0]
    assert top.loss_revisions == 0 and top.title == (
        "start etcd1+etcd3, replace etcd2 — loses nothing")
    assert top.requests == (
        Renew("etcd1", "/lab/nodes/etcd1/etc/kubernetes/pki/etcd/server.crt", member="etcd1"),
        StartMembers(("etcd1", "etcd3")), ReplaceMember("etcd2"))
    db = next(s for s in verdict.strategies if s.name == "restore-member-db")
    assert db.loss_revisions == 0 or db.loss_revisions is not None
    (newest,) = by_code(findings, "backup-newest-valid")
    assert "snap-1000.db" in newest.seen and "5 h old" in newest.seen
    (bad,) = by_code(findings, "backup-newest-invalid")
    assert "snap-1200.db" in bad.seen and "truncated" in bad.seen
    assert verdict.recommended_source() is None


def test_seed_outage_next_steps_in_recovery_order() -> None:
    _, verdict = diagnose(seed(), NOW)
    steps = verdict.next_steps
    renew = next(i for i, s in enumerate(steps) if s.startswith("Renew"))
    start = next(i for i, s in enumerate(steps) if s.startswith("Start etcd on etcd1, etcd3"))
    replace = next(i for i, s in enumerate(steps) if "lost member etcd2" in s)
    plane = next(i for i, s in enumerate(steps) if "control plane" in s)
    assert renew < start < replace < plane == len(steps) - 2
    assert "server.crt" in steps[renew]
    assert not any("restore every member" in s.lower() for s in steps)
    assert steps[-1].startswith("Verify")


def test_seed_outage_quorum_finding_starts_exactly_the_members_it_names() -> None:
    """Issue 11 (a): the finding says "Start etcd on etcd1, etcd3"; its request starts
    those two, never etcd2 (which the report calls lost)."""
    findings, _ = diagnose(seed(), NOW)
    (q,) = by_code(findings, "quorum-lost")
    assert "Start etcd on etcd1, etcd3" in q.remedy
    assert q.action == StartMembers(("etcd1", "etcd3"))
    (m2,) = [f for f in by_code(findings, "member-unreachable") if f.subject == "etcd2"]
    assert m2.action is None  # lost and no quorum: no start, and not replaced before quorum


def test_healthy_cluster_is_ok_with_known_bad_version_as_info() -> None:
    findings, verdict = diagnose(healthy(), NOW)
    assert verdict.level is Severity.OK, [f.seen for f in findings if f.severity > 1]
    assert verdict.summary == "Healthy: 3/3 members healthy, quorum needs 2."
    assert verdict.next_steps == ["No action needed."]
    (bad,) = by_code(findings, "etcd-version-known-bad")
    assert bad.severity is Severity.INFO and "3.5.3" in bad.seen


def test_diagnose_is_pure() -> None:
    r = seed()
    before = copy.deepcopy(r)
    assert diagnose(r, NOW) == diagnose(r, NOW)
    assert r == before


# --------------------------------------------------------------------------- each rule


def test_degraded_quorum_is_a_warning() -> None:
    r = healthy()
    r.members[2] = down("etcd3")
    findings, verdict = diagnose(r, NOW)
    assert verdict.level is Severity.WARNING
    assert "2/3 members healthy" in verdict.summary
    (f,) = by_code(findings, "member-unreachable")
    assert f.subject == "etcd3" and "refused" in f.seen
    assert f.action == StartMembers(("etcd3",))


def test_tls_failure_names_the_cert_at_fault() -> None:
    r = healthy()
    r.members[0] = member("etcd1", False, error_class="tls", error="x509: expired",
                          tls_fault="/pki/etcd/server.crt")
    findings, verdict = diagnose(r, NOW)
    (f,) = by_code(findings, "member-unreachable")
    assert "(tls)" in f.seen and "certificate at fault: /pki/etcd/server.crt" in f.evidence
    assert f.action is not None and f.action.name == "renew-cert"
    # it runs: the step is to fix its certificate, not to "start" it
    assert any(s.startswith("Once the certificates are fixed, check that etcd1 answers")
               for s in verdict.next_steps)
    assert not any(s.startswith("Start etcd") for s in verdict.next_steps)


def test_not_yet_valid_cert_and_skew_put_the_clock_first() -> None:
    r = healthy()
    r.certificates[1] = cert("etcd2", not_before=NOW + 7200, problems=["not-yet-valid"])
    r.clocks[1] = ClockInfo("etcd2", NOW - 7200, -7200.0)
    findings, verdict = diagnose(r, NOW)
    assert verdict.level is Severity.CRITICAL
    assert "not valid yet" in verdict.summary and "clock" in verdict.summary
    (skew,) = by_code(findings, "clock-skew")
    assert "7200.0 s behind" in skew.seen
    assert verdict.next_steps[0].startswith("Fix the clock on etcd2")


def test_expiring_cert_warns() -> None:
    r = healthy()
    r.certificates[0] = cert("etcd1", not_after=NOW + 10 * DAY)
    findings, verdict = diagnose(r, NOW)
    assert verdict.level is Severity.WARNING
    assert "expires in 10 days" in by_code(findings, "cert-expiring")[0].seen


def test_other_cert_problems_are_critical_and_ca_has_no_renew_action() -> None:
    r = healthy()
    r.certificates = [cert("etcd1", problems=["san", "eku"]),
                      cert("etcd1", "etcd-ca", problems=["expired"], not_after=NOW - DAY)]
    findings, _ = diagnose(r, NOW)
    assert {"cert-san", "cert-eku", "cert-expired"} <= set(codes(findings))
    (ca,) = by_code(findings, "cert-expired")
    assert ca.action is None and "expired 24 h ago" in ca.seen


def test_nospace_alarm() -> None:
    r = healthy()
    for m in r.members:
        m.alarms = ["NOSPACE"]
    findings, verdict = diagnose(r, NOW)
    (f,) = by_code(findings, "alarm-nospace")
    assert f.severity is Severity.CRITICAL and f.action is not None
    assert f.action.name == "disarm-alarm"
    assert any("defragment" in s for s in verdict.next_steps)


def test_metric_thresholds() -> None:
    r = healthy()
    r.metrics = [MetricsInfo("etcd1", wal_fsync_p99=0.7), MetricsInfo("etcd2", wal_fsync_p99=1.5,
                 backend_commit_p99=0.3), MetricsInfo("etcd3", db_size=0.97 * 2**31, quota=2**31)]
    findings, _ = diagnose(r, NOW)
    fsync = {f.subject: f.severity for f in by_code(findings, "metric-wal-fsync")}
    assert fsync == {"etcd1": Severity.WARNING, "etcd2": Severity.CRITICAL}
    assert by_code(findings, "metric-backend-commit")[0].subject == "etcd2"
    (quota,) = by_code(findings, "metric-db-quota")
    assert quota.severity is Severity.CRITICAL and "97%" in quota.seen


def test_log_signatures_counted_with_newest_example() -> None:
    r = healthy()
    r.logs = [LogLine("etcd1", "apiserver", f"t{i}", f"dial tcp 127.0.10.1:2379: connect: "
                      f"connection refused #{i}", "etcd-refused", Severity.CRITICAL)
              for i in range(3)]
    findings, verdict = diagnose(r, NOW)
    (f,) = by_code(findings, "log-signature")
    assert f.subject == "etcd-refused" and f.seen.startswith("3 log line(s)")
    assert "#2" in f.evidence[0] and "etcd is down" in f.seen
    assert f.severity is Severity.INFO and verdict.level is Severity.OK  # history only


def test_no_backups_and_all_invalid() -> None:
    r = healthy()
    r.snapshots = []
    assert "no-backups" in codes(diagnose(r, NOW)[0])
    r.snapshots = [backup("etcd1", 1, 60, valid=False)]
    findings, verdict = diagnose(r, NOW)
    assert "backups-all-invalid" in codes(findings)
    assert verdict.level is Severity.WARNING
    assert verdict.next_steps == ["Take a snapshot now (snapshot-save)."]


def test_snapshots_probe_failure_is_not_no_backups() -> None:
    r = healthy()
    r.snapshots, r.probe_errors = [], {"snapshots": "no result within 10s"}
    findings, _ = diagnose(r, NOW)
    assert "no-backups" not in codes(findings)
    (f,) = by_code(findings, "probe-failed")
    assert f.seen == "probe snapshots failed: no result within 10s"


def test_members_probe_failure_makes_quorum_unknown_not_lost() -> None:
    r = healthy()
    r.members, r.probe_errors = [], {"members": "ProbeUnavailable: x"}
    findings, verdict = diagnose(r, NOW)
    assert "quorum-lost" not in codes(findings)
    assert verdict.summary.startswith("Quorum unknown")


def test_snap_ahead_of_consistent_index_means_member_lost() -> None:
    r = seed()
    r.wal = [wal("etcd1", snap_index=1200, consistent_index=900), wal("etcd2"), wal("etcd3")]
    findings, verdict = diagnose(r, NOW)
    (f,) = by_code(findings, "snap-ahead-of-db")
    assert f.subject == "etcd1" and "1200" in f.seen and "900" in f.seen
    assert any("lost member etcd1" in s for s in verdict.next_steps)


def test_two_lost_members_without_quorum_means_restore_everyone() -> None:
    r = seed()
    r.wal[0] = wal("etcd1", "corrupt", detail="walpb: crc mismatch")
    findings, verdict = diagnose(r, NOW)
    assert verdict.recommended == "restore-member-db"
    assert any(s.startswith("Stop etcd everywhere") and "from etcd1's db" in s
               for s in verdict.next_steps)
    assert not any(s.startswith("Start etcd") for s in verdict.next_steps)
    (q,) = by_code(findings, "quorum-lost")
    assert q.action is not None and q.action.name == "restore"
    assert q.action == Restore(SourceRef("etcd1", f"{_dd('etcd1')}/member/snap/db", "member-db",
                                         "etcd1"))


def test_running_member_torn_tail_is_not_a_fault() -> None:
    r = healthy()
    r.wal[0] = wal("etcd1", "torn-tail")
    findings, verdict = diagnose(r, NOW)
    assert verdict.level is Severity.OK
    assert "wal-torn-tail" not in codes(findings)


def test_nodes_without_access_are_named() -> None:
    r = healthy()
    r.nodes_without_access = ["master2"]
    (f,) = by_code(diagnose(r, NOW)[0], "node-no-access")
    assert f.subject == "master2" and f.severity is Severity.INFO


def test_findings_are_worst_first() -> None:
    findings, _ = diagnose(seed(), NOW)
    sev = [f.severity for f in findings]
    assert sev == sorted(sev, reverse=True)


def test_process_evidence_and_control_plane_down() -> None:
    r = healthy()
    r.members[2] = down("etcd3")
    r.processes = [ProcessInfo("etcd3", "etcd", None, False, member="etcd3"),
                   ProcessInfo("etcd1", "kube-apiserver", None, False)]
    findings, verdict = diagnose(r, NOW)
    (f,) = by_code(findings, "member-unreachable")
    assert "no etcd process for etcd3 on etcd3" in f.evidence
    (cp,) = by_code(findings, "process-not-running")
    assert cp.subject == "kube-apiserver@etcd1" and cp.severity is Severity.INFO
    assert cp.action == RestartService("etcd1", "kube-apiserver")


def test_peer_rtt_and_failed_proposals() -> None:
    r = healthy()
    r.metrics = [MetricsInfo("etcd1", peer_rtt_p99=0.3, proposals_failed=12)]
    findings, verdict = diagnose(r, NOW)
    assert by_code(findings, "metric-peer-rtt")[0].severity is Severity.WARNING
    assert by_code(findings, "metric-proposals-failed")[0].severity is Severity.INFO
    assert verdict.level is Severity.WARNING


def test_member_db_invalid_while_running_is_not_conclusive() -> None:
    r = healthy()
    r.member_dbs[0] = db("etcd1", 0, valid=False)
    findings, verdict = diagnose(r, NOW)
    assert verdict.level is Severity.OK
    assert by_code(findings, "member-db-unverified")[0].subject == "etcd1"
    r.members[0] = down("etcd1")
    findings, _ = diagnose(r, NOW)
    (f,) = by_code(findings, "member-db-corrupt")
    assert f.severity is Severity.CRITICAL  # its data cannot come back: member lost
    assert "etcd1" in f.seen and "invalid database" in f.evidence
    assert "member remove" in f.remedy  # quorum holds (2/3): replace it, no restore


def test_healthy_member_that_rejected_our_client_cert_is_a_warning() -> None:
    r = healthy()
    bad = "/lab/nodes/etcd1/etc/kubernetes/pki/etcd/healthcheck-client.crt"
    r.members[0].tls_fault = bad
    r.members[0].error = "remote error: tls: bad certificate"
    findings, verdict = diagnose(r, NOW)
    (f,) = by_code(findings, "client-cert-rejected")
    assert f.subject == bad and f.severity is Severity.WARNING
    assert f.action is not None and f.action.name == "renew-cert"
    assert verdict.level is Severity.WARNING


def test_backup_still_being_verified_is_not_called_invalid() -> None:
    r = healthy()
    for s in r.snapshots:
        if s.kind == "backup":
            s.valid, s.pending, s.error = False, True, None
    findings, _ = diagnose(r, NOW)
    assert by_code(findings, "backups-being-verified")
    assert not by_code(findings, "backups-all-invalid")


def test_backup_whose_check_failed_is_unknown_not_invalid() -> None:
    """A verifier that died (a killed worker, OOM) knows nothing about the file."""
    r = healthy()
    for s in r.snapshots:
        if s.kind == "backup":
            s.valid, s.fact = False, "unknown"
            s.error = f"{s.node}: {s.path}: could not be verified (BrokenProcessPool: …)"
    findings, _ = diagnose(r, NOW)
    (f,) = by_code(findings, "backups-unverified")
    assert "not known to be bad" in f.seen and "BrokenProcessPool" in f.evidence[0]
    assert not by_code(findings, "backups-all-invalid")
    assert not by_code(findings, "backup-newest-invalid")


def test_untrusted_host_key_is_one_finding_not_an_echo_per_file() -> None:
    from blackstart.checks.probe_results import NodeAccess

    r = healthy()
    via = "ssh root@127.0.10.2:2222"
    err = f"{via}: host key not trusted by known_hosts (Host key is not trusted)"
    r.access = [NodeAccess("etcd1", "ssh root@127.0.10.1:2222", True),
                NodeAccess("etcd2", via, False, "hostkey", err)]
    r.certificates.append(cert("etcd2", "etcd-peer", error=f"etcd2: {err}",
                               not_before=None, not_after=None))
    findings, verdict = diagnose(r, NOW)
    (head,) = by_code(findings, "node-hostkey")
    assert head.subject == "etcd2" and "known_hosts" in head.remedy
    assert "never accepts a host key" in head.remedy
    assert not by_code(findings, "cert-unreadable")  # folded into the node finding
    assert any("1 other check" in e for e in head.evidence)
    assert verdict.level is Severity.WARNING and "etcd2" in verdict.summary


def test_healthy_cluster_recommends_no_restore() -> None:
    findings, _ = diagnose(healthy(), NOW)
    assert not by_code(findings, "restore-source")


def test_members_down_and_unreadable_give_start_and_fix_access_never_a_restore() -> None:
    """Issue 12, the kubeadm-root case: every member down; master02/03 cannot be read.
    Down is not lost, unknown is not corrupt: no member-db-corrupt, no restore advised."""
    r = seed()
    r.certificates = [cert(n) for n in NAMES]
    r.wal = [wal("etcd1"),
             wal("etcd2", "unreadable", detail="no access to node etcd2 (ssh: timeout)"),
             wal("etcd3", "unreadable", detail="no access to node etcd3 (ssh: timeout)")]
    r.member_dbs = [db("etcd1", 5200),
                    SnapshotInfo(f"{_dd('etcd2')}/member/snap/db", "etcd2", "member-db",
                                 error="no access", member="etcd2", fact="unknown"),
                    SnapshotInfo(f"{_dd('etcd3')}/member/snap/db", "etcd3", "member-db",
                                 error="no access", member="etcd3", fact="unknown")]
    findings, verdict = diagnose(r, NOW)
    assert "member-db-corrupt" not in codes(findings)
    top = verdict.recommended_strategy()
    assert top is not None and top.name == "start" and not top.rewrites_data
    assert verdict.recommended_source() is None
    assert all(s.blocked for s in verdict.strategies if s.rewrites_data)
    steps = " ".join(verdict.next_steps)
    assert "Start etcd on etcd1, etcd2, etcd3" in steps and "not known" in steps
    # and with etcd2/etcd3's nodes out of reach, the step is to fix access, not a restore
    r.access = [NodeAccess(n, f"ssh root@{n}:22", False, "timeout", "timed out")
                for n in ("etcd2", "etcd3")]
    findings, verdict = diagnose(r, NOW)
    assert verdict.recommended is None and verdict.recommended_source() is None
    steps = " ".join(verdict.next_steps)
    assert "Start etcd on etcd1" in steps and "fix access to etcd2" in steps
    assert "restore every member" not in steps.lower()
    assert by_code(findings, "restore-source") == []


def test_data_unknown_on_a_node_that_answers_says_read_again_not_fix_access() -> None:
    """Seen in the TUI inside a loaded master (the seed outage): master01's own WAL listing
    timed out and the verdict said 'fix access to master01', the machine the operator is
    on. A node that answers gets 'read again'; one out of reach still gets 'fix access'."""
    r = seed()
    r.wal[0] = wal("etcd1", "unreadable", detail="list /var/lib/etcd/member/snap: no answer")
    r.member_dbs[0] = SnapshotInfo(f"{_dd('etcd1')}/member/snap/db", "etcd1", "member-db",
                                   error="no answer within 5s", member="etcd1", fact="unknown")
    r.access = [NodeAccess("etcd1", "local", True)]
    _, verdict = diagnose(r, NOW)
    steps = " ".join(verdict.next_steps)
    assert "read etcd1's files again" in steps and "fix access to etcd1" not in steps, steps
    r.access = [NodeAccess("etcd1", "ssh root@etcd1:22", False, "timeout", "timed out")]
    _, verdict = diagnose(r, NOW)
    assert "fix access to etcd1" in " ".join(verdict.next_steps), verdict.next_steps
