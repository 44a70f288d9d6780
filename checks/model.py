"""The cluster model and the results every probe returns.

Plain, typed dataclasses. Everything here is data: no I/O, no Textual, no etcd client.
The inventory builds a `Cluster`; probes return the `*State`/`*Info` records below;
diagnosis turns them into `Finding`s and one `Verdict`, all gathered in a `Report`.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any

from blackstart.checks.requests import Request, Restore, SourceRef, request_json


class Severity(enum.IntEnum):
    """Ordered so that max() over findings gives the verdict level."""

    OK = 0
    INFO = 1
    WARNING = 2
    CRITICAL = 3

    @property
    def label(self) -> str:
        return self.name.lower()


def majority(members: int) -> int:
    """How many of `members` configured etcd members raft needs to agree (quorum): the one
    place this is written."""
    return members // 2 + 1


# --------------------------------------------------------------------------- inventory


@dataclass(frozen=True)
class SSHTarget:
    host: str
    port: int = 22
    user: str = "root"
    key_file: str | None = None
    known_hosts: str | None = None  # None: the user's ~/.ssh/known_hosts


@dataclass(frozen=True)
class Node:
    """A machine. `ssh` is None for the machine blackstart runs on."""

    name: str
    ssh: SSHTarget | None = None
    backup_dirs: tuple[str, ...] = ()
    etcdctl: str = "etcdctl"
    etcdutl: str = "etcdutl"
    # False when the node is known (e.g. from --initial-cluster) but blackstart has no way
    # in (not this machine, no ssh configured): its files are not probed, and a finding says so.
    has_access: bool = True

    @property
    def is_local(self) -> bool:
        return self.ssh is None


@dataclass(frozen=True)
class TLSFiles:
    """A certificate, its key and the CA that should have signed it."""

    cert: str
    key: str
    ca: str


@dataclass(frozen=True)
class Member:
    name: str
    node: str  # Node.name
    client_url: str
    peer_url: str
    data_dir: str
    metrics_url: str | None = None
    server: TLSFiles | None = None
    peer: TLSFiles | None = None
    manifest: str | None = None  # kubeadm static pod manifest, if any
    unit: str | None = None  # systemd unit, if any


@dataclass(frozen=True)
class CertSpec:
    """A certificate file to check. `role` is kubeadm's name for it."""

    node: str
    role: str  # etcd-ca | etcd-server | etcd-peer | etcd-healthcheck-client | apiserver-etcd-client
    path: str
    key: str | None = None
    ca: str | None = None
    member: str | None = None  # the member whose URLs the SANs must cover


@dataclass(frozen=True)
class LogSource:
    node: str
    kind: str  # cri | journald | file
    path: str | None = None  # cri/file: a file or a glob
    unit: str | None = None  # journald
    component: str = "kube-apiserver"


@dataclass(frozen=True)
class Service:
    """How to stop and start one component on one node."""

    node: str
    name: str  # etcd | kube-apiserver | kube-controller-manager | kube-scheduler
    kind: str  # command | systemd | static-pod
    start: tuple[str, ...] = ()
    stop: tuple[str, ...] = ()
    unit: str | None = None
    manifest: str | None = None
    member: str | None = None  # for etcd: which member this is


@dataclass(frozen=True)
class Retention:
    keep: int = 14
    hot_days: int = 7
    cold_days: int = 30


@dataclass(frozen=True)
class BackupLocation:
    """Where snapshot copies live: a dir on a node, or an S3 bucket/prefix. `domain` is
    the failure domain (node:NAME | site:NAME | offsite | offline): copies in one domain
    die together. S3 credentials come from the AWS chain or `profile`, never from here."""

    name: str
    kind: str  # dir | s3
    domain: str
    node: str | None = None  # dir
    path: str | None = None  # dir
    endpoint: str | None = None  # s3; None: AWS's own
    bucket: str | None = None
    prefix: str = ""
    region: str | None = None
    profile: str | None = None
    retention: Retention = Retention()
    implicit: bool = False  # made from a node's backup_dirs (kubeadm discovery, old tomls)


@dataclass(frozen=True)
class BackupPolicy:
    rpo_seconds: float = 3600.0  # newest verified copy older than this is a finding
    drill_max_age_seconds: float = 7 * 86400.0  # last drill of a location older: a finding


@dataclass(frozen=True)
class Cluster:
    name: str
    nodes: tuple[Node, ...]
    members: tuple[Member, ...]
    client: TLSFiles | None = None  # what blackstart uses to talk to etcd
    certificates: tuple[CertSpec, ...] = ()
    logs: tuple[LogSource, ...] = ()
    services: tuple[Service, ...] = ()
    state_dir: str = "/var/lib/blackstart"
    token: str = "etcd-cluster"
    retention: Retention = Retention()
    backups: tuple[BackupLocation, ...] = ()  # [[backups]]; see backup_locations()
    backup_policy: BackupPolicy = BackupPolicy()
    source: str = ""  # where this model came from (file path, "flags", "discovery")
    # observer mode (`--read-only` or `read_only = true`): nothing is written anywhere
    read_only: bool = False

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(f"no node named {name!r} in the inventory")

    def member(self, name: str) -> Member:
        for m in self.members:
            if m.name == name:
                return m
        raise KeyError(f"no member named {name!r} in the inventory")

    def services_named(self, name: str) -> list[Service]:
        return [s for s in self.services if s.name == name]

    def backup_locations(self) -> list[BackupLocation]:
        """[[backups]] plus each node's backup_dirs not already named there (those are
        in the node's own failure domain, under the cluster's retention)."""
        named = {(b.node, b.path) for b in self.backups if b.kind == "dir"}
        out = list(self.backups)
        for n in self.nodes:
            for d in n.backup_dirs:
                if (n.name, d) not in named:
                    out.append(BackupLocation(f"{n.name}:{d}", "dir", f"node:{n.name}",
                                              node=n.name, path=d, retention=self.retention,
                                              implicit=True))
        return out

    def backup_location(self, name: str) -> BackupLocation:
        for b in self.backup_locations():
            if b.name == name:
                return b
        known = ", ".join(b.name for b in self.backup_locations()) or "none"
        raise KeyError(f"no backup location named {name!r} (known: {known})")

    @property
    def quorum(self) -> int:
        return majority(len(self.members))


# --------------------------------------------------------------------------- probe results


@dataclass
class MemberState:
    name: str
    endpoint: str
    healthy: bool = False
    error_class: str | None = None  # refused | timeout | tls | dns | unknown
    error: str | None = None
    tls_fault: str | None = None  # path of the certificate found at fault
    member_id: str | None = None
    leader: bool = False
    leader_id: str | None = None
    raft_term: int | None = None
    raft_index: int | None = None
    revision: int | None = None
    db_size: int | None = None
    db_size_in_use: int | None = None
    version: str | None = None
    alarms: list[str] = field(default_factory=list)


@dataclass
class CertInfo:
    path: str
    node: str
    role: str
    member: str | None = None
    subject: str | None = None
    not_before: float | None = None  # epoch seconds
    not_after: float | None = None
    days_left: float | None = None
    sans: list[str] = field(default_factory=list)
    # expired, not-yet-valid, chain, san, key-mismatch, eku, unreadable
    problems: list[str] = field(default_factory=list)
    error: str | None = None
    # one sentence per problem (keyed by the problem string) saying what was seen and what to do
    explain: dict[str, str] = field(default_factory=dict)
    issuer: str | None = None


@dataclass
class SnapshotInfo:
    path: str
    node: str
    kind: str = "backup"  # backup | member-db
    valid: bool = False
    revision: int | None = None
    total_keys: int | None = None
    size: int = 0
    mtime: float = 0.0
    sha256_ok: bool | None = None  # None: no trailer (raw db copy)
    consistent_index: int | None = None
    error: str | None = None
    # True while a big file's verification is still running (in the background, on local
    # nodes): `valid` is not known yet; a later probe run returns the verdict.
    pending: bool = False
    member: str | None = None  # for a member db: whose it is (the probe knows)
    # what is known of it: "" = judged by `valid` (ok or bad); "missing" = the node was read
    # and the file is not there; "unknown" = it could not be read (no access, timeout)
    fact: str = ""

    @property
    def state(self) -> str:
        """ok | bad | missing | unknown: only "bad" is evidence of damage."""
        if self.fact:
            return self.fact
        if self.pending:
            return "unknown"
        return "ok" if self.valid else "bad"


@dataclass
class BackupCopy:
    """One snapshot copy in one backup location."""

    location: str
    name: str  # file name / object key below the prefix
    where: str  # node:path or s3://bucket/key
    size: int = 0
    mtime: float = 0.0
    state: str = "unverified"  # verified | unverified | broken
    detail: str = ""  # why that state, in words
    revision: int | None = None
    total_keys: int | None = None
    sha256: str | None = None  # whole-file, when known (S3 metadata, upload)
    kit: list[str] = field(default_factory=list)  # parts of the restore kit beside it
    etag: str | None = None  # S3: the listing's ETag (cache key of the verdict)
    stored_checksum: str | None = None  # S3: ChecksumSHA256 as the store keeps it
    meta: dict[str, str] = field(default_factory=dict)  # S3: x-amz-meta-*


@dataclass
class BackupLocationState:
    """A location and its copies, newest first; `error` when it could not be listed."""

    name: str
    kind: str
    domain: str
    copies: list[BackupCopy] = field(default_factory=list)
    error: str | None = None
    stale: bool = False  # copies come from the cached listing (live one failed/slow)
    listed_at: float | None = None
    rpo_seconds: float = 3600.0
    drill_max_age_seconds: float = 7 * 86400.0
    configured: bool = True  # a [[backups]] entry (False: a node's backup_dirs default)

    def newest_verified(self) -> BackupCopy | None:
        return next((c for c in self.copies if c.state == "verified"), None)


@dataclass(frozen=True)
class Recovery:
    """A recovery plan that ran to the end (from runbook's journals, handed in by the CLI or
    the cockpit): every backup older than it holds the cluster as it was before."""

    action: str  # recover | restore | replace-member
    finished: float
    plan_id: str
    title: str = ""


@dataclass
class DrillRecord:
    """One restore drill, as recorded in the state dir (drills.jsonl)."""

    location: str
    copy: str
    when: float
    ok: bool
    duration: float
    detail: str = ""
    revision: int | None = None
    total_keys: int | None = None


@dataclass
class WalState:
    member: str
    node: str
    path: str
    state: str  # ok | torn-tail | corrupt | missing | unreadable
    detail: str = ""
    last_index: int | None = None
    last_term: int | None = None
    commit: int | None = None
    snap_index: int | None = None
    consistent_index: int | None = None
    records: int = 0


@dataclass
class LogLine:
    node: str
    source: str
    ts: str | None
    text: str
    signature: str | None = None  # key into the signature table
    severity: Severity = Severity.OK
    level: str = ""  # the line's own level (debug … fatal), "" when its format has none


@dataclass
class ProcessInfo:
    node: str
    name: str
    pid: int | None
    running: bool
    cmdline: list[str] = field(default_factory=list)
    started: float | None = None
    listening: list[str] = field(default_factory=list)
    member: str | None = None  # for etcd: the member (its --name)
    error: str | None = None  # e.g. the node could not be looked at (names the node)


@dataclass
class NodeAccess:
    """Whether blackstart could get into a node at all (SSH connect, host key, login)."""

    node: str
    via: str  # "local" or "ssh user@host:port"
    ok: bool
    kind: str | None = None  # hostkey | auth | timeout | unreachable | error (NodeError.kind)
    error: str | None = None


@dataclass
class ClockInfo:
    node: str
    epoch: float | None
    skew: float | None = None  # seconds versus the local clock
    error: str | None = None


@dataclass
class MetricsInfo:
    member: str
    wal_fsync_p99: float | None = None
    backend_commit_p99: float | None = None
    has_leader: bool | None = None
    leader_changes: float | None = None
    db_size: float | None = None
    quota: float | None = None
    error: str | None = None
    db_size_in_use: float | None = None
    proposals_failed: float | None = None
    peer_rtt_p99: float | None = None


@dataclass
class RestoreSource:
    kind: str  # backup | member-db
    node: str
    path: str
    valid: bool
    revision: int | None
    behind_revisions: int | None = None
    window: str | None = None  # human text: how much time it loses, when it can be told
    recommended: bool = False
    reason: str = ""
    member: str | None = None


# --------------------------------------------------------------------------- diagnosis


@dataclass
class Finding:
    severity: Severity
    code: str  # stable id, e.g. "quorum-lost", "cert-expired"
    subject: str  # what it is about: a member, a file, a node
    seen: str  # one sentence: what was seen
    evidence: list[str] = field(default_factory=list)
    remedy: str = ""
    action: Request | None = None  # what fixes it, with every target named (checks.requests)


@dataclass(frozen=True)
class Strategy:
    """One way out of the outage, as a plan of requests, with what it loses.

    Computed by checks.reasoning.strategies; ranked by `loss_revisions` then `risk`."""

    name: str  # start | replace | force-new-cluster | restore-member-db | restore-backup
    title: str  # e.g. "start etcd1+etcd3, replace etcd2 — loses nothing"
    loss_revisions: int | None  # None: unknown
    risk: int  # 0 nothing rewritten ... 3 every data dir rewritten from an older copy
    rewrites_data: bool
    requests: tuple[Request, ...]
    steps: tuple[str, ...]
    loss_time: str | None = None
    blocked: str = ""  # why it cannot run or be recommended now ("" = it can)
    touches: tuple[str, ...] = ()  # the members whose etcd or data dir it changes

    def loss_text(self) -> str:
        if self.loss_revisions is None:
            return "loss unknown"
        if self.loss_revisions == 0:
            return "loses nothing"
        when = f", {self.loss_time}" if self.loss_time else ""
        return f"loses ≈ {self.loss_revisions:,} revisions{when}"


@dataclass
class Verdict:
    level: Severity
    summary: str
    next_steps: list[str] = field(default_factory=list)
    strategies: list[Strategy] = field(default_factory=list)  # best first
    recommended: str | None = None  # the name of the strategy whose steps next_steps are

    def recommended_strategy(self) -> Strategy | None:
        return next((s for s in self.strategies if s.name == self.recommended), None)

    def recommended_source(self) -> SourceRef | None:
        """The restore source the verdict recommends, or None (no restore recommended)."""
        top = self.recommended_strategy()
        for r in top.requests if top else ():
            if isinstance(r, Restore) and isinstance(r.source, SourceRef):
                return r.source
        return None


@dataclass(frozen=True)
class Quorum:
    """Members healthy versus the majority the configured members need."""

    healthy: list[str] = field(default_factory=list)  # names of the healthy members
    total: int = 0  # configured members (the inventory's), not just the ones that answered
    needed: int = 0
    probed: bool = False  # False: the members probe gave nothing, so health is unknown

    @classmethod
    def of(cls, members: list[MemberState], expected: list[str]) -> Quorum:
        total = len(expected or [m.name for m in members])
        return cls([m.name for m in members if m.healthy], total,
                   majority(total) if total else 0, bool(members))

    @property
    def known(self) -> bool:
        return self.total > 0 and self.probed

    @property
    def held(self) -> bool:
        return self.known and len(self.healthy) >= self.needed

    def text(self) -> str:
        return (f"{len(self.healthy)}/{self.total} members healthy, "
                f"quorum needs {self.needed}")


@dataclass
class Report:
    cluster: str
    taken_at: float
    verdict: Verdict
    findings: list[Finding] = field(default_factory=list)
    members: list[MemberState] = field(default_factory=list)
    certificates: list[CertInfo] = field(default_factory=list)
    snapshots: list[SnapshotInfo] = field(default_factory=list)
    wal: list[WalState] = field(default_factory=list)
    logs: list[LogLine] = field(default_factory=list)
    processes: list[ProcessInfo] = field(default_factory=list)
    clocks: list[ClockInfo] = field(default_factory=list)
    metrics: list[MetricsInfo] = field(default_factory=list)
    access: list[NodeAccess] = field(default_factory=list)
    restore_sources: list[RestoreSource] = field(default_factory=list)
    backups: list[BackupLocationState] = field(default_factory=list)
    drills: list[DrillRecord] = field(default_factory=list)
    recoveries: list[Recovery] = field(default_factory=list)  # finished ones, oldest first
    # Filled by blackstart.checks.probes.engine so that diagnose() needs nothing but the report:
    member_dbs: list[SnapshotInfo] = field(default_factory=list)  # each member's member/snap/db
    probe_errors: dict[str, str] = field(default_factory=dict)  # probe name -> why it failed
    expected_members: list[str] = field(default_factory=list)  # inventory's member names
    nodes_without_access: list[str] = field(default_factory=list)
    # Conclusions, computed once by checks.reasoning.report.assemble_report (with the
    # findings and the verdict) so that no view works them out again:
    quorum: Quorum = field(default_factory=Quorum)
    # the source the verdict recommends restoring from (its recommended strategy's Restore);
    # None when no restore is recommended
    best_source: SourceRef | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = _jsonable(asdict(self))
        for f, d in zip(self.findings, out["findings"], strict=True):
            d["action"] = request_json(f.action) if f.action is not None else None
        for s, d in zip(self.verdict.strategies, out["verdict"]["strategies"], strict=True):
            d["requests"] = [request_json(r) for r in s.requests]
        return out


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Severity):
        return obj.label
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    return obj
