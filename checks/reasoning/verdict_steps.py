"""The verdict's words: which finding names the main problem (`_PRIORITY`), the one-line
summary, the level, and the next steps in recovery order (clock, certificates, NOSPACE,
the recommended strategy's steps for quorum, the control plane, verify), or each
warning's own remedy when no recovery is needed. `quorum_plan` is also the quorum
finding's remedy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from blackstart.checks.conclusions import Finding, Report
from blackstart.checks.reasoning.facts import node_of
from blackstart.checks.reasoning.fresh_backup import CODE as FRESH_BACKUP
from blackstart.checks.reasoning.rule_facts import INFO, OK, C, DiagnosisFacts, W
from blackstart.checks.requests import Renew
from blackstart.checks.severity import Severity

# Which finding names the main problem when several share the worst level.
_PRIORITY = (
    "quorum-lost", "quorum-unknown", "wal-corrupt", "snap-ahead-of-db", "member-db-corrupt",
    "cert-not-yet-valid", "cert-expired", "alarm-nospace", "alarm-corrupt", "cert-chain",
    "cert-key", "cert-eku", "cert-san", "quorum-degraded", "member-unreachable", "clock-skew",
)


def quorum_plan(f: DiagnosisFacts) -> list[str]:
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
    steps += [_unknown_step(f.report, m.name, m.why) for m in unknown]
    if blocked and not unknown:
        steps.append(f"Not recommended yet: {blocked[0]}.")
    if not f.strategies and not unknown and not f.quorum.held:
        steps.append("No intact member and no valid restore source was found: find a valid "
                     "backup before going on.")
    return steps


def _unknown_step(report: Report, member: str, why: str) -> str:
    """Get the facts first: by fixing access when the node is out of reach, else by reading
    again (a node that answers but timed out once is not an access problem)."""
    node = node_of(report, member) or member
    reached = {a.node for a in report.access if a.ok}
    fix = f"read {node}'s files again (the node answers; the read failed)" if node in reached \
        else f"fix access to {node}"
    return (f"Get the facts first: {fix} — {member}'s data is unknown ({why}); no restore "
            "is advised on unknowns.")


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


def next_steps(f: DiagnosisFacts, findings: Sequence[Finding]) -> list[str]:
    # a recommended way out that renews certificates says so itself, by file: once
    renews = f.top is not None and any(isinstance(r, Renew) for r in f.top.requests)
    steps = _clock_steps(findings) + ([] if renews else _cert_steps(findings))
    if any(x.code == "alarm-nospace" for x in findings):
        steps.append("Compact, defragment every member, then disarm the NOSPACE alarm.")
    quorum_steps = quorum_plan(f) if len(f.quorum.healthy) < f.quorum.total else []
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


def verdict_level(findings: Iterable[Finding]) -> Severity:
    worst = max((x.severity for x in findings), default=OK)
    return OK if worst <= INFO else worst


def _main(findings: Sequence[Finding], level: Severity) -> Finding:
    top = [x for x in findings if x.severity == level]
    rank = {code: i for i, code in enumerate(_PRIORITY)}
    return min(top, key=lambda x: rank.get(x.code, len(rank)))


def verdict_summary(f: DiagnosisFacts, findings: Sequence[Finding], level: Severity) -> str:
    if level == OK:
        return f"Healthy: {f.quorum.text()}." if f.quorum.known else "No problem found."
    main = _main(findings, level)
    more = sum(1 for x in findings if x.severity == level) - 1
    tail = f" (+{more} more {level.label} finding{'s' if more > 1 else ''})" if more else ""
    return f"{main.seen.rstrip('.')}{tail}."
