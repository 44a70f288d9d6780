"""Diagnosis rules about the cluster as a whole: probes that failed, quorum (lost, unknown,
degraded, held) with the request that brings it back, members that do not answer (and
why, with the certificate or member to act on), a client certificate only the member's own
server certificate got past, alarms raised, and etcd versions known to be bad.
"""

from __future__ import annotations

from blackstart.checks.conclusions import Finding
from blackstart.checks.probe_results import MemberState
from blackstart.checks.reasoning.facts import LOST, node_of
from blackstart.checks.reasoning.rule_facts import INFO, OK, C, DiagnosisFacts, W, top_restore
from blackstart.checks.reasoning.verdict_steps import quorum_plan
from blackstart.checks.requests import Disarm, Renew, ReplaceMember, Request, StartMembers
from blackstart.checks.versions import known_bad_version


def probe_failed(name: str, error: str) -> Finding:
    """The finding for a probe that raised or ran out of time (the engine's error result)."""
    return Finding(W, "probe-failed", name, f"probe {name} failed: {error}",
                   remedy="The report is missing what this probe would have shown.")


def rule_probes(f: DiagnosisFacts) -> list[Finding]:
    return [probe_failed(name, err) for name, err in sorted(f.report.probe_errors.items())]


def _quorum_action(f: DiagnosisFacts) -> Request | None:
    """Exactly what the quorum finding's remedy names: the members to start, or the
    recommended restore; a plan with more than one kind of step is `Recover`."""
    restore = top_restore(f)
    if restore is not None:
        return restore
    start = next((r for r in f.top.requests if isinstance(r, StartMembers)), None) \
        if f.top else None
    return start


def rule_quorum(f: DiagnosisFacts) -> list[Finding]:
    q = f.quorum
    if not q.known:
        return [Finding(W, "quorum-unknown", "cluster", "Quorum unknown: no member was probed.",
                        remedy="Check the inventory and the members probe.")]
    if not q.held:
        return [Finding(C, "quorum-lost", "cluster", f"Quorum lost: {q.text()}.",
                        evidence=[f"healthy: {', '.join(q.healthy) or 'none'}"],
                        remedy=" ".join(quorum_plan(f)),
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


def _fault_cert(f: DiagnosisFacts, m: MemberState) -> Renew | None:
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


def _member_action(f: DiagnosisFacts, m: MemberState) -> Request | None:
    if m.error_class == "tls":
        return _fault_cert(f, m)
    fact = f.members.get(m.name)
    if fact is not None and fact.status == LOST:
        return ReplaceMember(m.name) if f.quorum.held else None
    if m.error_class == "refused":
        return StartMembers((m.name,))
    return None


def _etcd_process(f: DiagnosisFacts, member: str) -> str | None:
    """What the processes probe saw of this member's etcd, as evidence."""
    for p in f.report.processes:
        if p.name == "etcd" and p.member == member and p.error is None:
            return (f"etcd process running on {p.node} (pid {p.pid})" if p.running
                    else f"no etcd process for {member} on {p.node}")
    return None


def rule_members(f: DiagnosisFacts) -> list[Finding]:
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


def _rejected_client_cert(f: DiagnosisFacts, m: MemberState) -> list[Finding]:
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


def rule_alarms(f: DiagnosisFacts) -> list[Finding]:
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


def rule_versions(f: DiagnosisFacts) -> list[Finding]:
    bad = sorted({f"{m.name} runs {m.version}" for m in f.report.members
                  if known_bad_version(m.version)})
    if not bad:
        return []
    return [Finding(INFO, "etcd-version-known-bad", "cluster",
                    "etcd 3.5.0-3.5.2 can leave members with inconsistent data after a crash "
                    "(fixed in 3.5.3).", bad,
                    "Compare `etcdctl endpoint hashkv` across members; upgrade to >= 3.5.3.")]
