"""Turn a report's probe results into findings and one verdict. Pure: no I/O, no clock.

Each `_rule_*` function reads one part of the report and returns its findings; the
verdict takes the worst of them (INFO never raises the level above ok), names the main
problem in one sentence and orders the next steps the way an outage is actually
recovered: clock → certificates → quorum (restart or restore) → control plane → verify.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from blackstart.checks.conclusions import Finding, Quorum, Report, Strategy, Verdict
from blackstart.checks.probe_results import (
    CertInfo,
    LogLine,
    MemberState,
    RestoreSource,
    SnapshotInfo,
    WalState,
)
from blackstart.checks.reasoning.backup_findings import backup_findings
from blackstart.checks.reasoning.facts import (
    LOST,
    MemberFact,
    lost_members,
    member_dbs,
    member_facts,
    node_of,
    quorum_of,
    snap_ahead,
)
from blackstart.checks.reasoning.fresh_backup import CODE as FRESH_BACKUP
from blackstart.checks.reasoning.fresh_backup import fresh_backup_findings
from blackstart.checks.reasoning.signatures import signature
from blackstart.checks.reasoning.sources import (
    ago,
    human_duration,
    rank_sources,
    wal_for_db,
)
from blackstart.checks.reasoning.strategies import recommend, strategies
from blackstart.checks.requests import (
    Defrag,
    Disarm,
    Renew,
    ReplaceMember,
    Request,
    RestartService,
    Restore,
    SnapshotSave,
    SourceRef,
    StartMembers,
)
from blackstart.checks.severity import Severity
from blackstart.checks.versions import known_bad_version

__all__ = ["Quorum", "diagnose", "lost_members", "probe_failed", "quorum_of"]

C, W, INFO, OK = Severity.CRITICAL, Severity.WARNING, Severity.INFO, Severity.OK

CLOCK_SKEW_WARN = 1.0  # etcd's own "high clock drift" threshold
EXPIRY_WARN_DAYS = 30.0
BACKUP_STALE_SECONDS = 24 * 3600.0

# Which finding names the main problem when several share the worst level.
_PRIORITY = (
    "quorum-lost", "quorum-unknown", "wal-corrupt", "snap-ahead-of-db", "member-db-corrupt",
    "cert-not-yet-valid", "cert-expired", "alarm-nospace", "alarm-corrupt", "cert-chain",
    "cert-key", "cert-eku", "cert-san", "quorum-degraded", "member-unreachable", "clock-skew",
)


@dataclass(frozen=True)
class _Facts:
    """What several rules need: computed once per diagnosis."""

    report: Report
    now: float
    quorum: Quorum
    lost: dict[str, str]  # member -> why it is lost (its data cannot come back by restart)
    sources: list[RestoreSource]
    members: dict[str, MemberFact]
    strategies: list[Strategy]
    top: Strategy | None  # the recommended strategy, if any


_member_dbs = member_dbs
_snap_ahead = snap_ahead


# --------------------------------------------------------------------------- rules


def probe_failed(name: str, error: str) -> Finding:
    """The finding for a probe that raised or ran out of time (the engine's error result)."""
    return Finding(W, "probe-failed", name, f"probe {name} failed: {error}",
                   remedy="The report is missing what this probe would have shown.")


def _rule_probes(f: _Facts) -> list[Finding]:
    return [probe_failed(name, err) for name, err in sorted(f.report.probe_errors.items())]


def _top_restore(f: _Facts) -> Restore | None:
    """The restore request of the recommended strategy, when a restore is recommended."""
    for r in f.top.requests if f.top else ():
        if isinstance(r, Restore):
            return r
    return None


def _quorum_action(f: _Facts) -> Request | None:
    """Exactly what the quorum finding's remedy names: the members to start, or the
    recommended restore; a plan with more than one kind of step is `Recover`."""
    restore = _top_restore(f)
    if restore is not None:
        return restore
    start = next((r for r in f.top.requests if isinstance(r, StartMembers)), None) \
        if f.top else None
    return start


def _rule_quorum(f: _Facts) -> list[Finding]:
    q = f.quorum
    if not q.known:
        return [Finding(W, "quorum-unknown", "cluster", "Quorum unknown: no member was probed.",
                        remedy="Check the inventory and the members probe.")]
    if not q.held:
        return [Finding(C, "quorum-lost", "cluster", f"Quorum lost: {q.text()}.",
                        evidence=[f"healthy: {', '.join(q.healthy) or 'none'}"],
                        remedy=" ".join(_quorum_plan(f)),
                        action=_quorum_action(f))]
    if len(q.healthy) < q.total:
        return [Finding(W, "quorum-degraded", "cluster",
                        f"Quorum holds but is degraded: {q.text()}; one more failure "
                        "may lose it." if len(q.healthy) == q.needed else
                        f"Quorum holds but is degraded: {q.text()}.",
                        remedy="Bring the unhealthy members back (below).")]
    return [Finding(OK, "quorum-ok", "cluster", f"Quorum holds: {q.text()}.")]


_ERROR_REMEDY = {
    "refused": "Nothing listens on its client port: etcd is down there. Start it, then "
               "read its log if it stops again.",
    "timeout": "It accepts connections but does not answer: no quorum, a TLS failure or a "
               "stalled disk. Check quorum, certificates and the clock.",
    "tls": "The TLS handshake failed: check the certificate named and the clock; renew it.",
    "dns": "Its client URL does not resolve: fix the name or use an IP in the inventory.",
}


def _fault_cert(f: _Facts, m: MemberState) -> Renew | None:
    """The certificate at fault, on the node it is on (same paths on every node: a path
    alone names no file)."""
    if not m.tls_fault:
        return None
    node = node_of(f.report, m.name)
    c = next((c for c in f.report.certificates if c.path == m.tls_fault
              and (c.member == m.name or c.node == node)), None)
    if c is not None:
        return Renew(c.node, c.path, member=c.member)
    return Renew(node, m.tls_fault, member=m.name) if node else None


def _member_action(f: _Facts, m: MemberState) -> Request | None:
    if m.error_class == "tls":
        return _fault_cert(f, m)
    fact = f.members.get(m.name)
    if fact is not None and fact.status == LOST:
        return ReplaceMember(m.name) if f.quorum.held else None
    if m.error_class == "refused":
        return StartMembers((m.name,))
    return None


def _etcd_process(f: _Facts, member: str) -> str | None:
    """What the processes probe saw of this member's etcd, as evidence."""
    for p in f.report.processes:
        if p.name == "etcd" and p.member == member and p.error is None:
            return (f"etcd process running on {p.node} (pid {p.pid})" if p.running
                    else f"no etcd process for {member} on {p.node}")
    return None


def _rule_members(f: _Facts) -> list[Finding]:
    sev = W if f.quorum.held else C
    out = []
    for m in f.report.members:
        if m.healthy:
            out.extend(_rejected_client_cert(f, m))
            continue
        why = m.error_class or "unhealthy"
        ev = [e for e in (m.error, f"certificate at fault: {m.tls_fault}" if m.tls_fault
                          else None, _etcd_process(f, m.name)) if e]
        out.append(Finding(sev, "member-unreachable", m.name,
                           f"{m.name} at {m.endpoint} is unreachable ({why}).", ev,
                           _ERROR_REMEDY.get(why, "Check its process and its log."),
                           _member_action(f, m)))
    return out


def _rejected_client_cert(f: _Facts, m: MemberState) -> list[Finding]:
    """A healthy member that only answered once asked with its own server certificate:
    the client certificate (blackstart's, often the apiserver's too) is what is broken."""
    if not m.tls_fault:
        return []
    return [Finding(W, "client-cert-rejected", m.tls_fault,
                    f"{m.name} rejected the client certificate {m.tls_fault}; its health was "
                    "read with the member's own server certificate.",
                    [m.error] if m.error else [],
                    "Renew the client certificate from the etcd CA (it is probably expired or "
                    "from another CA).",
                    _fault_cert(f, m))]


def _cert_who(c: CertInfo) -> str:
    return f"{c.role} certificate {c.path} ({c.member or c.node})"


def _cert_seen(c: CertInfo, problem: str, now: float) -> str:
    who = _cert_who(c)
    if problem == "expired" and c.not_after is not None:
        return f"{who} expired {ago(now - c.not_after)}."
    if problem == "not-yet-valid" and c.not_before is not None:
        return (f"{who} is not valid yet: it starts {ago(now - c.not_before)}. "
                "The clock is probably wrong.")
    if problem == "expiring" and c.not_after is not None:
        return f"{who} expires in {human_duration(c.not_after - now)}."
    return f"{who}: {c.explain.get(problem) or problem + ' problem.'}"


_CERT_REMEDY = {
    "expired": "Renew it from the etcd CA, keeping subject, SANs and usages.",
    "not-yet-valid": "Check the node clock first (a power cut can reset it); renew only if "
                     "the clock is right.",
    "chain": "It is not signed by the CA given: reissue it from the cluster's etcd CA.",
    "key-mismatch": "The key file does not match the certificate: restore the matching key "
                    "or renew.",
    "ca-flag": "A leaf certificate carries CA:TRUE, or the CA file is not a CA: reissue it.",
    "expiring": "Renew it before it expires.",
    "san": "Its SANs do not cover the member's URLs: reissue a per-node certificate.",
    "eku": "Its extended key usage is wrong (etcd server certs need serverAuth+clientAuth).",
    "unreadable": "Check that the file exists and is readable on that node.",
}


def _cert_findings(c: CertInfo, now: float) -> list[Finding]:
    out = []
    act = None if c.role == "etcd-ca" else Renew(c.node, c.path, member=c.member)
    for p in c.problems:
        sev = W if p in ("unreadable", "expiring") else C
        ev = [e for e in (c.explain.get(p), c.error) if e]
        out.append(Finding(sev, f"cert-{p}", c.path, _cert_seen(c, p, now), ev,
                           _CERT_REMEDY.get(p, "Reissue it."), act))
    if c.error and not c.problems:
        out.append(Finding(W, "cert-unreadable", c.path, f"{_cert_who(c)}: {c.error}",
                           remedy=_CERT_REMEDY["unreadable"]))
    if (not out and "expiring" not in c.problems and c.not_after is not None
            and c.not_after - now < EXPIRY_WARN_DAYS * 86400):
        out.append(Finding(W, "cert-expiring", c.path,
                           f"{_cert_who(c)} expires in {human_duration(c.not_after - now)}.",
                           remedy="Renew it before it expires.", action=act))
    return out


def _rule_certs(f: _Facts) -> list[Finding]:
    return [x for c in f.report.certificates for x in _cert_findings(c, f.now)]


def _rule_clocks(f: _Facts) -> list[Finding]:
    out = []
    for c in f.report.clocks:
        if c.error:
            out.append(Finding(INFO, "clock-unreadable", c.node, f"Clock of {c.node}: {c.error}"))
        elif c.skew is not None and abs(c.skew) > CLOCK_SKEW_WARN:
            out.append(Finding(W, "clock-skew", c.node,
                               f"{c.node}'s clock is {abs(c.skew):.1f} s "
                               f"{'ahead' if c.skew > 0 else 'behind'}.",
                               remedy="Fix NTP on that node. A clock reset by a power cut "
                                      "makes valid certificates look expired or not yet valid."))
    return out


def _lost_remedy(f: _Facts, member: str) -> str:
    restore = _top_restore(f)
    if f.quorum.held or restore is None:
        return (f"Member {member} is lost: once quorum holds, `etcdctl member remove` it, move "
                "its data dir aside, `member add` it and start it with "
                "--initial-cluster-state=existing (`blackstart member replace "
                f"{member}`).")
    return (f"Member {member} is lost and quorum cannot come back without it: "
            f"{f.top.title if f.top else 'restore every member'}.")


def _wal_finding(f: _Facts, w: WalState, healthy: bool) -> Finding:
    where = f"{w.member}'s WAL ({w.path} on {w.node})"
    if w.state == "ok":
        last = f", last index {w.last_index}" if w.last_index is not None else ""
        return Finding(INFO, "wal-ok", w.member, f"{where}: intact, {w.records} records{last}.")
    if w.state == "torn-tail":
        if healthy:  # a running member's last record may be mid-write: not a fault
            return Finding(INFO, "wal-ok", w.member, f"{where}: intact; the last record is being "
                           "written by the running member.", [w.detail] if w.detail else [])
        return Finding(W, "wal-torn-tail", w.member,
                       f"{where}: torn tail; etcd repairs it on start.",
                       [w.detail] if w.detail else [],
                       "Start etcd: it truncates the torn record (keeping a .broken copy).",
                       StartMembers((w.member,)))
    if w.state == "corrupt":
        return Finding(W if healthy else C, "wal-corrupt", w.member,
                       f"{where}: corrupt; member {w.member} is lost.",
                       [w.detail] if w.detail else [], _lost_remedy(f, w.member),
                       ReplaceMember(w.member) if f.quorum.held else _top_restore(f))
    return Finding(INFO if healthy else W, f"wal-{w.state}", w.member, f"{where}: {w.state}.",
                   [w.detail] if w.detail else [], "Check the member's data_dir in the inventory.")


def _rule_wal(f: _Facts) -> list[Finding]:
    healthy = set(f.quorum.healthy)
    out = [_wal_finding(f, w, w.member in healthy) for w in f.report.wal]
    dbs = _member_dbs(f.report)
    for w in f.report.wal:
        ci = _snap_ahead(w, dbs, f.report.wal)
        if ci is not None and w.member not in healthy:
            out.append(Finding(C, "snap-ahead-of-db", w.member,
                               f"{w.member}: newest .snap index {w.snap_index} is past the db's "
                               f"consistent_index {ci}; etcd will fail with \"failed to find "
                               "database snapshot file\".", remedy=_lost_remedy(f, w.member)))
    return out


def _rule_member_dbs(f: _Facts) -> list[Finding]:
    out = []
    for d in _member_dbs(f.report):
        w = wal_for_db(d, f.report.wal)
        who = d.member or (w.member if w is not None else d.node)
        if d.valid:
            continue
        if who in f.quorum.healthy:
            # read while etcd was writing it: a torn read, not proof of damage
            out.append(Finding(INFO, "member-db-unverified", who,
                               f"{who}'s database {d.path} did not verify while {who} was "
                               "running; a copy read during writes is not conclusive.",
                               [d.error] if d.error else []))
            continue
        if d.state == "unknown":
            continue  # not read: the node-access / probe finding says why
        if d.state == "missing":
            out.append(Finding(C if who in f.lost else W, "member-db-missing", who,
                               f"{who}'s database {d.path} is missing on {d.node}.",
                               [d.error] if d.error else [], _lost_remedy(f, who)))
            continue
        out.append(Finding(C if who in f.lost else W, "member-db-corrupt", who,
                           f"{who}'s database {d.path} is not a valid bbolt file.",
                           [d.error] if d.error else [], _lost_remedy(f, who)))
    return out


def _rule_alarms(f: _Facts) -> list[Finding]:
    seen: dict[str, list[str]] = {}
    for m in f.report.members:
        for a in m.alarms:
            seen.setdefault(a.upper(), []).append(m.name)
    out = []
    for alarm, who in sorted(seen.items()):
        if alarm == "NOSPACE":
            out.append(Finding(C, "alarm-nospace", ", ".join(who),
                               "NOSPACE alarm: the database reached its quota; writes fail.",
                               evidence=[f"raised on {', '.join(who)}"],
                               remedy="Compact, defragment every member, then disarm the alarm.",
                               action=Disarm("NOSPACE")))
        else:
            out.append(Finding(C, f"alarm-{alarm.lower()}", ", ".join(who),
                               f"{alarm} alarm raised on {', '.join(who)}.",
                               remedy="A CORRUPT alarm means members disagree: compare hashkv."))
    return out


def _metric_findings(m_name: str, fsync: float | None, commit: float | None,
                     ratio: float | None, has_leader: bool | None) -> list[Finding]:
    out = []
    if fsync is not None and fsync > 0.5:
        out.append(Finding(C if fsync > 1 else W, "metric-wal-fsync", m_name,
                           f"{m_name}: WAL fsync p99 is {fsync * 1000:.0f} ms (good < 10 ms).",
                           remedy="The disk is too slow for etcd: use a dedicated SSD."))
    if commit is not None and commit > 0.25:
        out.append(Finding(W, "metric-backend-commit", m_name,
                           f"{m_name}: backend commit p99 is {commit * 1000:.0f} ms "
                           "(good < 25 ms).", remedy="The disk is too slow for etcd."))
    if ratio is not None and ratio > 0.8:
        out.append(Finding(C if ratio > 0.95 else W, "metric-db-quota", m_name,
                           f"{m_name}: database is {ratio:.0%} of its quota.",
                           remedy="Compact and defragment before the NOSPACE alarm.",
                           action=Defrag((m_name,))))
    if has_leader is False:
        out.append(Finding(C, "metric-no-leader", m_name, f"{m_name} reports no leader.",
                           remedy="Start the missing members; check port 2380."))
    return out


def _rule_metrics(f: _Facts) -> list[Finding]:
    out = []
    for m in f.report.metrics:
        if m.error:
            continue  # an unreachable member is already a finding of its own
        ratio = m.db_size / m.quota if m.db_size is not None and m.quota else None
        out += _metric_findings(m.member, m.wal_fsync_p99, m.backend_commit_p99, ratio,
                                m.has_leader)
        if m.peer_rtt_p99 is not None and m.peer_rtt_p99 > 0.15:
            out.append(Finding(W, "metric-peer-rtt", m.member,
                               f"{m.member}: peer round trip p99 is {m.peer_rtt_p99 * 1000:.0f} "
                               "ms (warn > 150 ms).", remedy="Check the network between members."))
        if m.proposals_failed is not None and m.proposals_failed > 5:
            out.append(Finding(INFO, "metric-proposals-failed", m.member,
                               f"{m.member} has seen {m.proposals_failed:.0f} failed proposals "
                               "since it started (elections or quorum loss)."))
        if m.leader_changes is not None and m.leader_changes >= 4:
            out.append(Finding(INFO, "metric-leader-changes", m.member,
                               f"{m.member} has seen {m.leader_changes:.0f} leader changes "
                               "since it started."))
    return out


def _rule_versions(f: _Facts) -> list[Finding]:
    bad = sorted({f"{m.name} runs {m.version}" for m in f.report.members
                  if known_bad_version(m.version)})
    if not bad:
        return []
    return [Finding(INFO, "etcd-version-known-bad", "cluster",
                    "etcd 3.5.0-3.5.2 can leave members with inconsistent data after a crash "
                    "(fixed in 3.5.3).", bad,
                    "Compare `etcdctl endpoint hashkv` across members; upgrade to >= 3.5.3.")]


def _rule_logs(f: _Facts) -> list[Finding]:
    groups: dict[str, list[int]] = {}
    for i, line in enumerate(f.report.logs):
        if line.signature:
            groups.setdefault(line.signature, []).append(i)
    return [_log_finding(f, sig, [f.report.logs[i] for i in idx]) for sig, idx in groups.items()]


def _log_finding(f: _Facts, sig_id: str, lines: list[LogLine]) -> Finding:
    sig = signature(sig_id)
    newest = lines[-1]  # probes return lines oldest first
    worst = max((ln.severity for ln in lines), default=INFO)
    # Past lines are history: while quorum holds they only inform; the probes say what is
    # broken now, so a log line never makes the verdict worse than WARNING.
    sev = INFO if f.quorum.held else min(max(worst, INFO), W)
    diag = sig.diagnosis if sig else sig_id
    return Finding(sev, "log-signature", sig_id,
                   f"{len(lines)} log line(s) match {sig_id}: {diag}",
                   [f"newest ({newest.node} {newest.ts or ''}): {newest.text[:300]}"],
                   sig.remedy if sig else "",
                   None)  # a log line names no target: its remedy is advice, not an action


def _rule_snapshots(f: _Facts) -> list[Finding]:
    if "snapshots" in f.report.probe_errors:
        return []  # unknown is not "none": the probe failure is its own finding
    backups = sorted((s for s in f.report.snapshots if s.kind == "backup"),
                     key=lambda s: s.mtime, reverse=True)
    if not backups:
        return [Finding(W, "no-backups", "backups", "No backup snapshot was found.",
                        remedy="Take a snapshot now and schedule them.",
                        action=SnapshotSave() if f.quorum.held else None)]
    valid = [s for s in backups if s.valid]
    checking = [s for s in backups if s.pending]
    unread = [s for s in backups if s.state == "unknown" and not s.pending]
    out = []
    if checking:
        out.append(Finding(INFO, "backups-being-verified", "backups",
                           f"{len(checking)} backup snapshot(s) are still being verified.",
                           [s.path for s in checking[:5]], "They are shown on the next refresh."))
    if unread:
        out.append(Finding(W, "backups-unverified", "backups",
                           f"{len(unread)} backup snapshot(s) could not be verified (not known "
                           "to be bad).", [f"{s.path}: {s.error}" for s in unread[:5]],
                           "Fix what stopped the check (named above); a refresh tries again."))
    # a check still running or one that failed is "not known yet", never "invalid"
    backups = [s for s in backups if s.state != "unknown"]
    if not backups:
        return out
    if not valid:
        out.append(Finding(W, "backups-all-invalid", "backups",
                           f"All {len(backups)} backup snapshot(s) are invalid.",
                           [f"{s.path}: {s.error}" for s in backups[:5]],
                           "Take a new snapshot once quorum holds.",
                           SnapshotSave() if f.quorum.held else None))
        return out
    if not backups[0].valid:
        b = backups[0]
        out.append(Finding(W, "backup-newest-invalid", b.path,
                           f"The newest backup {b.path} on {b.node} is invalid: {b.error}.",
                           remedy="Do not restore from it; the newest valid one is named below."))
    # "newest" is the most data, not the latest file: copies of one round differ in revision
    out.append(_newest_valid(f, max(valid, key=lambda s: (s.revision or 0, s.mtime))))
    return out


def _newest_valid(f: _Facts, s: SnapshotInfo) -> Finding:
    age = f.now - s.mtime
    keys = f", {s.total_keys:,} keys" if s.total_keys is not None else ""
    rev = f"revision {s.revision:,}" if s.revision is not None else "revision unknown"
    stale = age > BACKUP_STALE_SECONDS
    return Finding(W if stale else INFO, "backup-stale" if stale else "backup-newest-valid", s.path,
                   f"Newest valid backup: {s.path} on {s.node}, {human_duration(age)} old, "
                   f"{rev}{keys}.",
                   remedy="Take a fresh snapshot." if stale else "",
                   action=SnapshotSave() if stale and f.quorum.held else None)


def _source_label(s: RestoreSource) -> str:
    if s.kind == "member-db":
        return f"{s.member or s.node}'s own database {s.path}"
    return f"backup {s.path} on {s.node}"


def _rule_sources(f: _Facts) -> list[Finding]:
    valid = [s for s in f.sources if s.valid]
    if not valid:
        if not f.sources:
            return []  # "no backups found" is the snapshots rule's finding
        unknown = [s for s in f.sources if s.reason == "still being verified"
                   or s.reason.startswith("not verified")]
        what = ("no restore source is verified yet" if unknown and len(unknown) == len(f.sources)
                else "no intact restore source: every backup and member database that "
                     "could be read failed verification")
        return [Finding(W, "no-restore-source", "cluster", what[0].upper() + what[1:] + ".")]
    restore = _top_restore(f)
    src = next((s for s in valid if restore is not None and isinstance(restore.source, SourceRef)
                and (s.node, s.path) == (restore.source.node, restore.source.path)), None)
    if src is None:
        return []  # no restore is recommended: nothing is starred, nothing is offered
    rev = f"revision {src.revision:,}" if src.revision is not None else "revision unknown"
    ev = [src.reason] + ([f"would lose {src.window}"] if src.window else [])
    return [Finding(INFO, "restore-source", src.path,
                    f"Recommended restore source: {_source_label(src)} ({rev}).", ev,
                    "Restore every member from it: no way without data loss is left.",
                    restore)]


def _rule_processes(f: _Facts) -> list[Finding]:
    """Control-plane components that are not running. INFO: the quorum and member findings
    carry the verdict; this tells the operator what else is down."""
    out = []
    for p in f.report.processes:
        if p.error:
            out.append(Finding(INFO, "processes-unknown", p.node, p.error))
        elif not p.running and p.name != "etcd":
            out.append(Finding(INFO, "process-not-running", f"{p.name}@{p.node}",
                               f"{p.name} is not running on {p.node}.",
                               remedy="Start it once etcd has quorum.",
                               action=RestartService(p.node, p.name)))
    return out


def _rule_access(f: _Facts) -> list[Finding]:
    return [Finding(INFO, "node-no-access", n,
                    f"No access to node {n}: its files (certs, WAL, backups) were not checked.",
                    remedy="Add ssh = {host, user, key} for it in blackstart.toml.")
            for n in f.report.nodes_without_access]


_ACCESS_REMEDY = {
    "hostkey": "Its SSH host key is unknown or has changed. Verify the fingerprint out of band "
               "(on the node's console: `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`) "
               "and only then put it in the known_hosts file the inventory names. blackstart "
               "never accepts a host key by itself: a changed key can be a reinstalled node "
               "or someone in the middle.",
    "auth": "The login was refused: check the user and key for this node in blackstart.toml.",
    "timeout": "No answer from its SSH port: check the network path and that sshd runs.",
    "unreachable": "Its SSH port cannot be reached: check the address, the network and sshd.",
}


def _rule_node_access(f: _Facts) -> list[Finding]:
    return [Finding(W, f"node-{a.kind or 'error'}", a.node,
                    f"blackstart cannot get into node {a.node}: {a.error or a.via}.",
                    ["Its files were not checked and no action can run there."],
                    _ACCESS_REMEDY.get(a.kind or "", "Check SSH access to it."))
            for a in f.report.access if not a.ok]


def _fold_access_echoes(report: Report, findings: list[Finding]) -> list[Finding]:
    """Every probe that touched a node we could not get into failed with the same SSH
    error; keep the one node-access finding and fold those echoes into its evidence."""
    out = list(findings)
    for a in (a for a in report.access if not a.ok and a.via.startswith("ssh ")):
        head = next((x for x in out if x.code.startswith("node-") and x.subject == a.node),
                    None)
        echoes = [x for x in out if x is not head and x.severity <= W
                  and any(a.via + ":" in t for t in (x.seen, *x.evidence))]
        if head is None or not echoes:
            continue
        out = [x for x in out if not any(x is e for e in echoes)]
        head.evidence.append(f"{len(echoes)} other check(s) on {a.node} could not run "
                             "for the same reason")
    return out


_RULES: tuple[Callable[[_Facts], list[Finding]], ...] = (
    _rule_probes, _rule_quorum, _rule_members, _rule_certs, _rule_clocks, _rule_wal,
    _rule_member_dbs, _rule_alarms, _rule_metrics, _rule_versions, _rule_logs,
    _rule_snapshots, _rule_sources, _rule_processes, _rule_access, _rule_node_access,
    lambda f: backup_findings(f.report, f.now),
    lambda f: fresh_backup_findings(f.report, f.now, f.quorum.held),
)


# --------------------------------------------------------------------------- verdict


def _restartable(f: _Facts) -> list[str]:
    names = f.report.expected_members or [m.name for m in f.report.members]
    return [n for n in names if n not in f.quorum.healthy and n not in f.lost]


def _needs_restore(f: _Facts) -> bool:
    """A restore is what the verdict recommends (no way without loss is left)."""
    return _top_restore(f) is not None


def _comeback_steps(f: _Facts, restartable: list[str]) -> list[str]:
    """Members whose data is intact: start the stopped ones; the ones that run but fail TLS
    come back once their certificate (or clock) is fixed."""
    cls = {m.name: m.error_class for m in f.report.members}
    tls = [n for n in restartable if cls.get(n) == "tls"]
    down = [n for n in restartable if n not in tls]
    back = f"{len(f.quorum.healthy) + len(restartable)}/{f.quorum.total}"
    steps = []
    if down:
        their = "their" if len(down) > 1 else "its"
        steps.append(f"Start etcd on {', '.join(down)}: nothing shows {their} data is lost "
                     f"(etcd repairs a torn WAL tail itself), so quorum {back} can come back.")
    if tls:
        verb = "answer" if len(tls) > 1 else "answers"
        steps.append(f"Once the certificates are fixed, check that {', '.join(tls)} {verb} "
                     f"again (restart etcd there if not): quorum {back} can come back.")
    return steps


def _quorum_plan(f: _Facts) -> list[str]:
    """The recommended strategy's steps; without one, how to get the facts it needs."""
    if f.top is not None:
        steps = [x[0].upper() + x[1:] + "." for x in f.top.steps]
        steps[-1] = f"{steps[-1][:-1]} — the whole way {f.top.loss_text()}."
        return steps
    blocked = [f"{s.title}: {s.blocked}" for s in f.strategies if s.blocked]
    unknown = [m for m in f.members.values() if m.status == "unknown"]
    intact = [m.name for m in f.members.values() if m.status == "intact"]
    down = {m.name for m in f.report.members if m.error_class == "refused"}
    start = [n for n in intact if n in down]
    waiting = [n for n in intact if n not in down]
    steps = [f"Start etcd on {', '.join(start)}: nothing shows its data is lost."] \
        if start else []
    if waiting:
        steps.append(f"Keep etcd running on {', '.join(waiting)} (its data is intact; it "
                     "waits for a quorum).")
    steps += [f"Get the facts first: fix access to {node_of(f.report, m.name) or m.name} — "
              f"{m.name}'s data is unknown ({m.why}); no restore is advised on unknowns."
              for m in unknown]
    if blocked and not unknown:
        steps.append(f"Not recommended yet: {blocked[0]}.")
    if not f.strategies and not unknown and not f.quorum.held:
        steps.append("No intact member and no valid restore source was found: find a valid "
                     "backup before going on.")
    return steps


def _clock_steps(findings: Sequence[Finding]) -> list[str]:
    skewed = sorted({x.subject for x in findings if x.code == "clock-skew"})
    nyv = [x for x in findings if x.code == "cert-not-yet-valid"]
    if not skewed and not nyv:
        return []
    if skewed:
        return [f"Fix the clock on {', '.join(skewed)} first (NTP); a wrong clock makes valid "
                "certificates look expired or not yet valid."]
    return ["Check the clock on every node first (no skew was measured between them, but a "
            "clock reset by a power cut makes valid certificates look not yet valid)."]


def _cert_steps(findings: Sequence[Finding]) -> list[str]:
    expired = [x.subject for x in findings if x.code in ("cert-expired", "cert-expiring")
               and x.severity >= C]
    other = [x.subject for x in findings if x.code in ("cert-chain", "cert-key", "cert-san",
                                                      "cert-eku")]
    early = [x.subject for x in findings if x.code == "cert-not-yet-valid"]
    steps = []
    if expired:
        steps.append(f"Renew the expired certificate(s): {', '.join(dict.fromkeys(expired))}.")
    if early:
        steps.append("If the clock was right, reissue the not-yet-valid certificate(s): "
                     f"{', '.join(dict.fromkeys(early))}.")
    if other:
        steps.append(f"Reissue the wrong certificate(s): {', '.join(dict.fromkeys(other))}.")
    return steps


def _next_steps(f: _Facts, findings: Sequence[Finding]) -> list[str]:
    # a recommended way out that renews certificates says so itself, by file: once
    renews = f.top is not None and any(isinstance(r, Renew) for r in f.top.requests)
    steps = _clock_steps(findings) + ([] if renews else _cert_steps(findings))
    if any(x.code == "alarm-nospace" for x in findings):
        steps.append("Compact, defragment every member, then disarm the NOSPACE alarm.")
    quorum_steps = _quorum_plan(f) if len(f.quorum.healthy) < f.quorum.total else []
    steps += quorum_steps
    if quorum_steps and not f.quorum.held:
        steps.append("Restart the control plane: kube-apiserver, then kube-controller-manager, "
                     "kube-scheduler and the kubelet (they hold stale data).")
    if steps:
        steps.append("Verify: `etcdctl endpoint health --cluster`, then `blackstart check` "
                     "until it says ok.")
    elif any(x.code == FRESH_BACKUP for x in findings):
        steps.append("Take a fresh backup now (snapshot-save): every backup predates the "
                     "recovery, and restoring one would undo it.")
    elif any(x.code in ("no-backups", "backup-stale", "backups-all-invalid") for x in findings):
        steps.append("Take a snapshot now (snapshot-save).")
    return steps or _fallback_steps(findings)


def _fallback_steps(findings: Sequence[Finding]) -> list[str]:
    """No recovery plan is needed: each warning's own remedy, once, worst first."""
    remedies = [f"{x.subject}: {x.remedy}" for x in findings
                if x.severity >= W and x.remedy]
    return list(dict.fromkeys(remedies)) or ["No action needed."]


def _level(findings: Iterable[Finding]) -> Severity:
    worst = max((x.severity for x in findings), default=OK)
    return OK if worst <= INFO else worst


def _main(findings: Sequence[Finding], level: Severity) -> Finding:
    top = [x for x in findings if x.severity == level]
    rank = {code: i for i, code in enumerate(_PRIORITY)}
    return min(top, key=lambda x: rank.get(x.code, len(rank)))


def _summary(f: _Facts, findings: Sequence[Finding], level: Severity) -> str:
    if level == OK:
        return f"Healthy: {f.quorum.text()}." if f.quorum.known else "No problem found."
    main = _main(findings, level)
    more = sum(1 for x in findings if x.severity == level) - 1
    tail = f" (+{more} more {level.label} finding{'s' if more > 1 else ''})" if more else ""
    return f"{main.seen.rstrip('.')}{tail}."


def diagnose(report: Report, now: float) -> tuple[list[Finding], Verdict]:
    """Findings, worst first, and the verdict for a report. Pure: same input, same output."""
    sources = report.restore_sources or rank_sources(
        report.snapshots, report.member_dbs, report.wal, report.members, now)
    ranked = strategies(report, sources)
    top = recommend(ranked)
    facts = _Facts(report, now, quorum_of(report), lost_members(report), sources,
                   member_facts(report), ranked, top)
    findings = _fold_access_echoes(report, [x for rule in _RULES for x in rule(facts)])
    findings.sort(key=lambda x: -x.severity)  # stable: rule order within a level
    level = _level(findings)
    return findings, Verdict(level, _summary(facts, findings, level), _next_steps(facts, findings),
                             ranked, top.name if top else None)
