"""Turns the latest result of every probe into one `Report` (pure; no Textual, no I/O).

Results are sorted into the report by their type, not by the probe's name, so the app
does not depend on how `blackstart.checks.probes.engine.PROBES` names its probes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from blackstart.checks.model import (
    CertInfo,
    ClockInfo,
    Cluster,
    Finding,
    LogLine,
    MemberState,
    MetricsInfo,
    NodeAccess,
    ProcessInfo,
    Report,
    RestoreSource,
    Severity,
    SnapshotInfo,
    Verdict,
    WalState,
    majority,
)

Diagnose = Callable[[Report, float], tuple[list[Finding], Verdict]]

FIELD_BY_TYPE: dict[type, str] = {
    MemberState: "members",
    CertInfo: "certificates",
    SnapshotInfo: "snapshots",
    WalState: "wal",
    LogLine: "logs",
    ProcessInfo: "processes",
    ClockInfo: "clocks",
    MetricsInfo: "metrics",
    NodeAccess: "access",
    RestoreSource: "restore_sources",
}

# Which panel a probe feeds, guessed from its name, so a failed probe's error lands in
# the right panel even before it ever returned a result (order matters: "member_dbs"
# feeds Snapshots, not Members).
PANEL_HINTS: tuple[tuple[str, str], ...] = (
    ("db", "snapshots"), ("snap", "snapshots"), ("source", "snapshots"),
    ("cert", "certificates"), ("log", "logs"), ("member", "members"),
)


def panel_for_probe(name: str) -> str:
    for hint, panel in PANEL_HINTS:
        if hint in name.lower():
            return panel
    return "findings"


def build_report(
    cluster: Cluster, results: Mapping[str, Sequence[Any]], now: float,
    errors: Mapping[str, str] | None = None,
) -> Report:
    """Like checks.probes.engine.assemble_report, minus diagnosis, but keyed by result type."""
    report = Report(cluster=cluster.name, taken_at=now, verdict=Verdict(Severity.INFO, ""))
    for items in results.values():
        for item in items:
            _file(report, item)
    report.probe_errors = dict(errors or {})
    report.expected_members = [m.name for m in cluster.members]
    report.nodes_without_access = [n.name for n in cluster.nodes if not n.has_access]
    if not report.restore_sources:
        report.restore_sources = _rank(report, now)
    return report


def _file(report: Report, item: Any) -> None:
    if isinstance(item, SnapshotInfo) and item.kind == "member-db":
        report.member_dbs.append(item)
        return
    name = FIELD_BY_TYPE.get(type(item))
    if name is not None:
        getattr(report, name).append(item)


def _rank(report: Report, now: float) -> list[RestoreSource]:
    try:
        from blackstart.checks.reasoning.sources import rank_sources
    except ImportError:
        return []
    return list(rank_sources(report.snapshots, report.member_dbs, report.wal,
                             report.members, now))


def default_diagnose() -> Diagnose:
    """checks.reasoning.diagnosis.diagnose if present, else a quorum-only fallback."""
    try:
        from blackstart.checks.reasoning.diagnosis import diagnose
    except ImportError:
        return fallback_diagnose
    return diagnose


def fallback_diagnose(report: Report, now: float) -> tuple[list[Finding], Verdict]:
    """Quorum arithmetic only: used when blackstart.checks.reasoning.diagnosis is not available."""
    total = len(report.members)
    healthy = sum(1 for m in report.members if m.healthy)
    need = majority(total)
    if total == 0:
        return [], Verdict(Severity.INFO, "Checking the cluster…", [])
    if healthy >= need:
        return [], Verdict(Severity.OK, f"Quorum OK: {healthy}/{total} members healthy.", [])
    text = f"Quorum lost: {healthy}/{total} members healthy, quorum needs {need}."
    return [], Verdict(Severity.CRITICAL, text, ["Bring members back, or restore from a snapshot."])


def diagnose_safely(diagnose: Diagnose, report: Report, now: float) -> Report:
    """Fill findings and verdict; a diagnosis bug becomes a visible finding, not a crash."""
    try:
        findings, verdict = diagnose(report, now)
    except Exception as exc:  # noqa: BLE001 - shown to the operator instead of crashing the UI
        findings, verdict = fallback_diagnose(report, now)
        findings = [*findings, Finding(Severity.WARNING, "diagnosis-error", "blackstart",
                                       f"diagnosis failed: {type(exc).__name__}: {exc}")]
    report.findings, report.verdict = list(findings), verdict
    return report


def healthy_count(members: Iterable[MemberState]) -> int:
    return sum(1 for m in members if m.healthy)


def best_source(report: Report) -> RestoreSource | SnapshotInfo | None:
    """The recommended restore source, else the newest valid backup snapshot."""
    for src in report.restore_sources:
        if src.recommended:
            return src
    valid = [s for s in report.snapshots if s.valid and s.kind == "backup"]
    return max(valid, key=lambda s: (s.revision or 0, s.mtime), default=None)
