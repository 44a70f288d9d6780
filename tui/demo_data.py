"""Recorded model data shaped like the lab's real results: for snapshot tests and the
`screenshots` command. Fixed clock, fixed everything; no I/O."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from blackstart.checks.model import (
    CertInfo,
    Cluster,
    Finding,
    LogLine,
    Member,
    MemberState,
    Node,
    Report,
    RestoreSource,
    Severity,
    SnapshotInfo,
    TLSFiles,
    Verdict,
)
from blackstart.checks.probes.context import ProbeContext
from blackstart.checks.requests import BestSource, Renew, Restore, StartMembers

NOW = 1_795_000_000.0  # a fixed "now" (2026-11-18 UTC) for ages and days left
DAY = 86400.0
LAB = "/srv/lab"
PKI = "etc/kubernetes/pki/etcd"


def lab_cluster(root: str = LAB) -> Cluster:
    names = ("etcd1", "etcd2", "etcd3")
    nodes = tuple(Node(n, backup_dirs=(f"{root}/nodes/{n}/backup/etcd",)) for n in names)
    members = tuple(Member(
        n, n, f"https://127.0.0.{i}:2379", f"https://127.0.0.{i}:2380",
        f"{root}/nodes/{n}/var/lib/etcd",
        server=TLSFiles(_pki(root, n, "server.crt"), _pki(root, n, "server.key"),
                        _pki(root, n, "ca.crt")),
    ) for i, n in enumerate(names, 1))
    return Cluster("lab", nodes, members, state_dir=f"{root}/state",
                   source=f"{root}/blackstart.toml")


def _pki(root: str, node: str, name: str) -> str:
    return f"{root}/nodes/{node}/{PKI}/{name}"


def healthy_members() -> list[MemberState]:
    return [MemberState(f"etcd{i}", f"https://127.0.0.{i}:2379", healthy=True,
                        member_id=f"{i:x}" * 8, leader=i == 1, leader_id="11111111",
                        raft_term=4, raft_index=1842 + i, revision=1530, db_size=2_531_328,
                        db_size_in_use=1_204_224, version="3.5.1") for i in (1, 2, 3)]


def outage_members() -> list[MemberState]:
    return [
        MemberState("etcd1", "https://127.0.0.1:2379", error_class="tls",
                    error="x509: certificate has expired or is not yet valid",
                    tls_fault=_pki(LAB, "etcd1", "server.crt")),
        MemberState("etcd2", "https://127.0.0.2:2379", error_class="refused",
                    error="dial tcp 127.0.0.2:2379: connect: connection refused"),
        MemberState("etcd3", "https://127.0.0.3:2379", healthy=True, member_id="33333333",
                    raft_term=7, raft_index=2210, revision=1702, db_size=2_732_032,
                    version="3.5.1", alarms=[]),
    ]


def certs(expired: bool) -> list[CertInfo]:
    out = []
    for n in ("etcd1", "etcd2", "etcd3"):
        for role, name in (("etcd-server", "server.crt"), ("etcd-peer", "peer.crt")):
            bad = expired and n == "etcd1" and role == "etcd-server"
            out.append(CertInfo(_pki(LAB, n, name), n, role, member=n,
                                not_after=NOW + (-3 * DAY if bad else 364 * DAY),
                                days_left=-3.2 if bad else 364.6,
                                problems=["expired"] if bad else []))
    out.append(CertInfo(_pki(LAB, "etcd1", "ca.crt"), "etcd1", "etcd-ca", days_left=3649.6))
    return out


def snapshots(truncated: bool) -> list[SnapshotInfo]:
    base = f"{LAB}/nodes/etcd1/backup/etcd"
    out = [SnapshotInfo(f"{base}/snapshot-2026111{d}T0000Z.db", "etcd1", valid=True,
                        revision=1000 + 100 * d, total_keys=410 + d, size=2_400_000 + d * 1000,
                        mtime=NOW - (8 - d) * DAY - 3600, sha256_ok=True) for d in (5, 6, 7)]
    if truncated:
        out[-1].valid, out[-1].error, out[-1].revision = False, "truncated: no sha256 trailer", None
    return out


def outage_sources() -> list[RestoreSource]:
    base = f"{LAB}/nodes/etcd1/backup/etcd"
    return [
        RestoreSource("member-db", "etcd3", f"{LAB}/nodes/etcd3/var/lib/etcd/member/snap/db",
                      True, 1702, behind_revisions=0, recommended=True, member="etcd3",
                      reason="newest consistent copy"),
        RestoreSource("backup", "etcd1", f"{base}/snapshot-20261116T0000Z.db", True, 1600,
                      behind_revisions=102, reason="newest valid backup"),
    ]


def log_lines(outage: bool) -> list[LogLine]:
    ok = [LogLine("etcd1", "kube-apiserver", f"2026-11-18T00:5{i}:00Z",
                  f"I1118 00:5{i}:00.000 1 controller.go:132] OpenAPI AggregationController: "
                  "Processing item [k8s.io/v1beta1]") for i in range(3)]
    if not outage:
        return ok
    bad = [
        LogLine("etcd1", "kube-apiserver", "2026-11-18T01:02:03Z",
                'W1118 01:02:03.100 1 logging.go:59] [core] grpc: addrConn.createTransport failed '
                'to connect to {127.0.0.2:2379}: "dial tcp 127.0.0.2:2379: connect: connection '
                'refused"', "etcd-refused", Severity.CRITICAL),
        LogLine("etcd1", "kube-apiserver", "2026-11-18T01:02:04Z",
                "E1118 01:02:04.200 1 status.go:71] apiserver received an error: "
                "x509: certificate has expired or is not yet valid", "tls-expired",
                Severity.CRITICAL),
        LogLine("etcd1", "kube-apiserver", "2026-11-18T01:02:05Z",
                "E1118 01:02:05.300 1 storage.go:44] storage backend: etcd3 client is not "
                "responding", "etcd-unresponsive", Severity.CRITICAL),
    ]
    return ok + bad


def outage_findings() -> tuple[list[Finding], Verdict]:
    findings = [
        Finding(Severity.CRITICAL, "quorum-lost", "cluster lab",
                "1/3 members healthy; quorum needs 2.",
                remedy="Restore the cluster from the recommended source.",
                action=Restore(BestSource())),
        Finding(Severity.CRITICAL, "cert-expired", "etcd1 server.crt",
                "etcd1's server certificate expired 3 days ago.",
                remedy="Renew it from the etcd CA.", action=Renew(
                    "etcd1", _pki(LAB, "etcd1", "server.crt"), member="etcd1")),
        Finding(Severity.CRITICAL, "member-down", "etcd2", "etcd2 refuses connections.",
                remedy="Restart etcd on etcd2.",
                action=StartMembers(("etcd2",))),
        Finding(Severity.WARNING, "snapshot-invalid", "snapshot-20261117T0000Z.db",
                "The newest backup is truncated (no sha256 trailer)."),
    ]
    return findings, Verdict(Severity.CRITICAL,
                             "Quorum lost: 1/3 members healthy, quorum needs 2.",
                             ["Renew etcd1's expired server certificate",
                              "then restore from etcd3's member db"])


def healthy_findings() -> tuple[list[Finding], Verdict]:
    return [], Verdict(Severity.OK, "Healthy: 3/3 members, leader etcd1, quorum OK.",
                       ["Nothing to do. Take a snapshot before maintenance."])


ProbeFn = Callable[[ProbeContext], Awaitable[list[Any]]]


def _fixed(items: list[Any]) -> ProbeFn:
    async def probe(ctx: ProbeContext) -> list[Any]:
        return list(items)
    return probe


def probes(outage: bool) -> dict[str, ProbeFn]:
    return {
        "members": _fixed(outage_members() if outage else healthy_members()),
        "certificates": _fixed(certs(expired=outage)),
        "logs": _fixed(log_lines(outage)),
        "snapshots": _fixed(snapshots(truncated=outage)),
        "restore_sources": _fixed(outage_sources() if outage else []),
    }


def diagnose_fn(outage: bool) -> Callable[[Report, float], tuple[list[Finding], Verdict]]:
    def diagnose(report: Report, now: float) -> tuple[list[Finding], Verdict]:
        return outage_findings() if outage else healthy_findings()
    return diagnose


def clock() -> float:
    return NOW


def recorded_planner(action: str, cluster: Cluster, report: Report | None,
                     **args: Any) -> Any:
    """A fixed runbook Plan per action (real `blackstart.runbook.plan.Plan`, recorded steps)."""
    from blackstart.runbook.plan import Plan, Step
    from blackstart.tui.plans import PlanView

    if action != "restore":
        plan = Plan(f"{action}-20261118T0000Z", action, f"{action} ({cluster.name})",
                    cluster.name, ", ".join(f"{k}={v}" for k, v in args.items()), False,
                    [Step("s1", "etcd2", "restart etcd", "run", ("systemctl", "restart", "etcd"))])
    else:
        plan = _restore_plan(cluster)
    return PlanView(action, plan.title, plan.target, plan.destructive,
                    plan.preview_lines(), list(plan.warnings), plan)


def _restore_plan(cluster: Cluster) -> Any:
    from blackstart.runbook.plan import Plan, Step

    db = f"{LAB}/state/restore/restore-20261118T0000Z/db"
    steps = []
    for m in cluster.members:
        steps += [
            Step(f"{m.name}-stop", m.node, f"stop etcd on {m.name}", "run",
                 ("systemctl", "stop", "etcd")),
            Step(f"{m.name}-aside", m.node, "move the data dir aside", "rename",
                 detail=f"mv {m.data_dir} -> {m.data_dir}.20261118T000000Z",
                 undo="move it back"),
            Step(f"{m.name}-restore", m.node, f"restore {m.name}", "run",
                 ("etcdutl", "snapshot", "restore", db, "--name", m.name,
                  "--data-dir", m.data_dir)),
        ]
    return Plan("restore-20261118T0000Z", "restore", "Restore cluster lab from etcd3's member db",
                cluster.name, f"{LAB}/nodes/etcd3/var/lib/etcd/member/snap/db on etcd3 "
                "(revision 1702)", True, steps,
                ["etcd1 and etcd2 lose nothing known; backups would lose 102 revisions."])
