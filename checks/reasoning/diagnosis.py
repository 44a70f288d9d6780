"""Turn a report's probe results into findings and one verdict. Pure: no I/O, no clock.

`diagnose` is the one entry point. It works out once what several rules need
(`rule_facts.DiagnosisFacts`: quorum, lost members, restore sources, ranked strategies),
runs every rule in `RULES` (each reads one part of the report and returns its findings),
and builds the verdict: the worst level (INFO never raises it above ok), the main problem
in one sentence, and the next steps in the order an outage is actually recovered: clock →
certificates → quorum (restart or restore) → control plane → verify (`verdict_steps`).

The rules live beside it, by subject: `cluster_rules` (probe failures, quorum, members,
alarms, versions), `cert_rules` (certificates, clocks), `data_rules` (WAL and member
databases), `health_rules` (metrics, log signatures, control-plane processes),
`snapshot_rules` (backup snapshots, the recommended restore source), `node_rules` (access
to nodes), and `backup_findings` / `fresh_backup` (backup locations, a backup after a
recovery).
"""

from __future__ import annotations

from collections.abc import Callable

from blackstart.checks.conclusions import Finding, Report, Verdict
from blackstart.checks.reasoning.backup_findings import backup_findings
from blackstart.checks.reasoning.cert_rules import rule_certs, rule_clocks
from blackstart.checks.reasoning.cluster_rules import (
    rule_alarms,
    rule_members,
    rule_probes,
    rule_quorum,
    rule_versions,
)
from blackstart.checks.reasoning.data_rules import rule_member_dbs, rule_wal
from blackstart.checks.reasoning.facts import lost_members, member_facts, quorum_of
from blackstart.checks.reasoning.fresh_backup import fresh_backup_findings
from blackstart.checks.reasoning.health_rules import rule_logs, rule_metrics, rule_processes
from blackstart.checks.reasoning.node_rules import fold_access_echoes, rule_access, rule_node_access
from blackstart.checks.reasoning.rule_facts import DiagnosisFacts
from blackstart.checks.reasoning.snapshot_rules import rule_snapshots, rule_sources
from blackstart.checks.reasoning.sources import rank_sources
from blackstart.checks.reasoning.strategies import recommend, strategies
from blackstart.checks.reasoning.verdict_steps import next_steps, verdict_level, verdict_summary

_RULES: tuple[Callable[[DiagnosisFacts], list[Finding]], ...] = (
    rule_probes, rule_quorum, rule_members, rule_certs, rule_clocks, rule_wal,
    rule_member_dbs, rule_alarms, rule_metrics, rule_versions, rule_logs,
    rule_snapshots, rule_sources, rule_processes, rule_access, rule_node_access,
    lambda f: backup_findings(f.report, f.now),
    lambda f: fresh_backup_findings(f.report, f.now, f.quorum.held),
)


def diagnose(report: Report, now: float) -> tuple[list[Finding], Verdict]:
    """Findings, worst first, and the verdict for a report. Pure: same input, same output."""
    sources = report.restore_sources or rank_sources(
        report.snapshots, report.member_dbs, report.wal, report.members, now)
    ranked = strategies(report, sources)
    top = recommend(ranked)
    facts = DiagnosisFacts(report, now, quorum_of(report), lost_members(report), sources,
                           member_facts(report), ranked, top)
    findings = fold_access_echoes(report, [x for rule in _RULES for x in rule(facts)])
    findings.sort(key=lambda x: -x.severity)  # stable: rule order within a level
    level = verdict_level(findings)
    return findings, Verdict(level, verdict_summary(facts, findings, level),
                             next_steps(facts, findings), ranked, top.name if top else None)
