"""Diagnosis rules about certificates and clocks: each certificate problem the x509 check
found (expired, not yet valid, chain, key, SAN, usage, unreadable, expiring soon) with the
renewal to run, and node clocks that are off (a clock reset by a power cut makes valid
certificates look expired).
"""

from __future__ import annotations

from blackstart.checks.conclusions import Finding
from blackstart.checks.probe_results import CertInfo
from blackstart.checks.reasoning.rule_facts import INFO, C, DiagnosisFacts, W
from blackstart.checks.reasoning.sources import ago, human_duration
from blackstart.checks.requests import Renew

CLOCK_SKEW_WARN = 1.0  # etcd's own "high clock drift" threshold


EXPIRY_WARN_DAYS = 30.0


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


def rule_certs(f: DiagnosisFacts) -> list[Finding]:
    return [x for c in f.report.certificates for x in _cert_findings(c, f.now)]


def _within(uncertainty: float) -> str:
    return f" (± {uncertainty:.1f} s)" if uncertainty >= 0.05 else ""


def rule_clocks(f: DiagnosisFacts) -> list[Finding]:
    out = []
    for c in f.report.clocks:
        if c.error:
            out.append(Finding(INFO, "clock-unreadable", c.node, f"Clock of {c.node}: {c.error}"))
        elif c.skew is not None and abs(c.skew) - c.uncertainty > CLOCK_SKEW_WARN:
            out.append(Finding(W, "clock-skew", c.node,
                               f"{c.node}'s clock is {abs(c.skew):.1f} s "
                               f"{'ahead' if c.skew > 0 else 'behind'}"
                               f"{_within(c.uncertainty)}.",
                               remedy="Fix NTP on that node. A clock reset by a power cut "
                                      "makes valid certificates look expired or not yet valid."))
    return out
