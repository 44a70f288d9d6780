"""The results every probe returns, one record type per kind of fact.

Mutable dataclasses filled by `checks.probes` (members, certificates, snapshots and
member dbs, backups and drills, WAL, logs, processes, access, clocks, metrics) and by the
restore-source ranking; also `Recovery`, a finished recovery plan that runbook's journals
hand in. Diagnosis reads them; `checks.recording` writes and reads them as JSON. Data
only: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from blackstart.checks.severity import Severity


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
    # ± seconds the reading may be off: half the round trip of the read it came from (a
    # loaded node or link widens it; a skew inside it is no evidence of a wrong clock)
    uncertainty: float = 0.0


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
