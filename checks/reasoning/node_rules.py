"""Diagnosis rules about getting into the nodes: nodes blackstart has no way into, nodes
whose SSH login fails (host key, auth, timeout, unreachable) with what to do, and the
folding of the echoes that one SSH failure leaves in every other probe's findings.
"""

from __future__ import annotations

from blackstart.checks.conclusions import Finding, Report
from blackstart.checks.reasoning.rule_facts import INFO, DiagnosisFacts, W


def rule_access(f: DiagnosisFacts) -> list[Finding]:
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


def rule_node_access(f: DiagnosisFacts) -> list[Finding]:
    return [Finding(W, f"node-{a.kind or 'error'}", a.node,
                    f"blackstart cannot get into node {a.node}: {a.error or a.via}.",
                    ["Its files were not checked and no action can run there."],
                    _ACCESS_REMEDY.get(a.kind or "", "Check SSH access to it."))
            for a in f.report.access if not a.ok]


def fold_access_echoes(report: Report, findings: list[Finding]) -> list[Finding]:
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
