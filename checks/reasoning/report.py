"""The one place a Report is put together: probe results in, conclusions filled in.

Both the CLI (`blackstart check`, via checks.probes.engine) and the TUI call
`assemble_report`; quorum, the best restore source, the findings and the verdict are
computed here, once, and views only render them. Pure: no I/O, the clock is an argument.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from blackstart.checks.conclusions import Finding, Quorum, Report, Verdict
from blackstart.checks.model import Cluster
from blackstart.checks.probes.registry import spec_named
from blackstart.checks.reasoning.diagnosis import diagnose
from blackstart.checks.reasoning.sources import rank_sources
from blackstart.checks.severity import Severity


def assemble_report(
    cluster: Cluster, results: Mapping[str, Sequence[Any]], now: float,
    errors: Mapping[str, str] | None = None,
) -> Report:
    """A diagnosed Report from {probe name: results} and {probe name: why it failed}.

    A probe may be in both (it failed this time; its last results still stand)."""
    report = Report(cluster=cluster.name, taken_at=now, verdict=Verdict(Severity.OK, ""))
    for name, items in results.items():
        setattr(report, spec_named(name).field, list(items))
    report.probe_errors = dict(errors or {})
    report.expected_members = [m.name for m in cluster.members]
    report.nodes_without_access = [n.name for n in cluster.nodes if not n.has_access]
    report.restore_sources = rank_sources(
        report.snapshots, report.member_dbs, report.wal, report.members, now)
    report.quorum = Quorum.of(report.members, report.expected_members)
    report.findings, report.verdict = _diagnosed(report, now)
    report.best_source = report.verdict.recommended_source()
    return report


def _diagnosed(report: Report, now: float) -> tuple[list[Finding], Verdict]:
    """diagnose(); a bug in it becomes a visible finding, never a crash of the cockpit."""
    try:
        findings, verdict = diagnose(report, now)
    except Exception as exc:  # noqa: BLE001 - shown to the operator instead of crashing
        seen = f"diagnosis failed: {type(exc).__name__}: {exc}"
        finding = Finding(Severity.WARNING, "diagnosis-error", "blackstart", seen)
        return [finding], Verdict(Severity.WARNING, f"{seen}; {report.quorum.text()}.",
                                  ["Read the panels: the probe results are shown as they are."])
    return list(findings), verdict
