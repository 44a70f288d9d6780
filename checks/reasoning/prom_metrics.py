"""A Report as Prometheus metrics (node_exporter textfile-collector format), built with
prometheus_client so the exposition format is the library's, not ours. Pure: builds a
registry; writing it is runbook.textfile's job.

Alerting happens in Prometheus (docs/alerts.md): these are the numbers the rules need.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from blackstart.checks.conclusions import Report
from blackstart.checks.reasoning.backup_findings import last_drill
from blackstart.checks.reasoning.facts import quorum_of


def registry_for(report: Report, now: float) -> CollectorRegistry:
    reg = CollectorRegistry()
    _certs(reg, report, now)
    _backups(reg, report, now)
    _drills(reg, report, now)
    _members(reg, report)
    Gauge("blackstart_check_timestamp_seconds", "When this check ran (unix time).",
          ["cluster"], registry=reg).labels(report.cluster).set(report.taken_at)
    return reg


def exposition(report: Report, now: float) -> bytes:
    out: bytes = generate_latest(registry_for(report, now))
    return out


def _certs(reg: CollectorRegistry, report: Report, now: float) -> None:
    g = Gauge("blackstart_cert_expiry_seconds", "Seconds until the certificate expires "
              "(negative: expired).", ["cluster", "node", "role", "path"], registry=reg)
    for c in report.certificates:
        if c.not_after is not None:
            g.labels(report.cluster, c.node, c.role, c.path).set(c.not_after - now)


def _backups(reg: CollectorRegistry, report: Report, now: float) -> None:
    labels = ["cluster", "location", "domain", "kind"]
    age = Gauge("blackstart_backup_newest_verified_age_seconds", "Age of the newest "
                "verified copy in the location (absent: none verified).", labels,
                registry=reg)
    count = Gauge("blackstart_backup_copies", "Copies in the location by state.",
                  [*labels, "state"], registry=reg)
    up = Gauge("blackstart_backup_location_up", "1 if the location was listed live.",
               labels, registry=reg)
    for s in report.backups:
        lv = (report.cluster, s.name, s.domain, s.kind)
        up.labels(*lv).set(0 if s.error else 1)
        for state in ("verified", "unverified", "broken"):
            count.labels(*lv, state).set(sum(1 for c in s.copies if c.state == state))
        newest = s.newest_verified()
        if newest is not None:
            age.labels(*lv).set(max(now - newest.mtime, 0.0))


def _drills(reg: CollectorRegistry, report: Report, now: float) -> None:
    labels = ["cluster", "location"]
    ok = Gauge("blackstart_drill_last_success", "1 if the last restore drill passed.",
               labels, registry=reg)
    age = Gauge("blackstart_drill_last_age_seconds", "Seconds since the last drill.",
                labels, registry=reg)
    dur = Gauge("blackstart_drill_last_duration_seconds", "How long the last drill took.",
                labels, registry=reg)
    for s in report.backups:
        d = last_drill(report.drills, s.name)
        if d is not None:
            ok.labels(report.cluster, s.name).set(1 if d.ok else 0)
            age.labels(report.cluster, s.name).set(max(now - d.when, 0.0))
            dur.labels(report.cluster, s.name).set(d.duration)


def _members(reg: CollectorRegistry, report: Report) -> None:
    fsync = Gauge("blackstart_wal_fsync_p99_seconds", "p99 of etcd_disk_wal_fsync_duration_"
                  "seconds per member (etcd's own histogram, over its lifetime).",
                  ["cluster", "member"], registry=reg)
    for m in report.metrics:
        if m.wal_fsync_p99 is not None:
            fsync.labels(report.cluster, m.member).set(m.wal_fsync_p99)
    q = quorum_of(report)
    healthy = Gauge("blackstart_members_healthy", "Members answering a linearizable read.",
                    ["cluster"], registry=reg)
    needed = Gauge("blackstart_quorum_needed", "Members a quorum needs.", ["cluster"],
                   registry=reg)
    held = Gauge("blackstart_quorum_held", "1 quorum holds, 0 lost, -1 unknown.", ["cluster"],
                 registry=reg)
    healthy.labels(report.cluster).set(len(q.healthy))
    needed.labels(report.cluster).set(q.needed)
    held.labels(report.cluster).set(1 if q.held else (0 if q.known else -1))
