"""Diagnosis rules about how members and the control plane are doing: the metrics
(WAL fsync, backend commit, quota, leader, peer round trip, failed proposals, leader
changes), log lines grouped by signature (history: while quorum holds they only inform),
and control-plane processes that are not running.
"""

from __future__ import annotations

from blackstart.checks.conclusions import Finding
from blackstart.checks.probe_results import LogLine
from blackstart.checks.reasoning.rule_facts import INFO, C, DiagnosisFacts, W
from blackstart.checks.reasoning.signatures import signature
from blackstart.checks.requests import Defrag, RestartService


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


def rule_metrics(f: DiagnosisFacts) -> list[Finding]:
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


def rule_logs(f: DiagnosisFacts) -> list[Finding]:
    groups: dict[str, list[int]] = {}
    for i, line in enumerate(f.report.logs):
        if line.signature:
            groups.setdefault(line.signature, []).append(i)
    return [_log_finding(f, sig, [f.report.logs[i] for i in idx]) for sig, idx in groups.items()]


def _log_finding(f: DiagnosisFacts, sig_id: str, lines: list[LogLine]) -> Finding:
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


def rule_processes(f: DiagnosisFacts) -> list[Finding]:
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
