"""What diagnosis concludes, and the `Report` that carries it to every view.

`Finding`s (one fact that matters, its evidence and remedy, the typed request that fixes
it), the `Strategy`s out of an outage ranked by what they lose, the one `Verdict`, and
the `Quorum` worked out once. The `Report` gathers them with the probe results so that
the CLI, the TUI and the JSON output render one assembled thing
(`checks.reasoning.report.assemble_report` fills it; nothing here computes findings).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from blackstart.checks.model import majority
from blackstart.checks.probe_results import (
    BackupLocationState,
    CertInfo,
    ClockInfo,
    DrillRecord,
    LogLine,
    MemberState,
    MetricsInfo,
    NodeAccess,
    ProcessInfo,
    Recovery,
    RestoreSource,
    SnapshotInfo,
    WalState,
)
from blackstart.checks.requests import Request, Restore, SourceRef, request_json
from blackstart.checks.severity import Severity


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
