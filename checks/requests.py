"""What an operator can ask blackstart to do: one frozen dataclass per action.

A request carries every target the plan needs (node, member, path) from the finding or
row that produced it to `runbook.planner.plan_for`; nothing on the way rebuilds it from
strings. `name` is the runbook action it asks for (the audit and journal name it so).
Pure data: no I/O.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class SourceRef:
    """One file on one node: a backup snapshot or a member's own `member/snap/db`."""

    node: str
    path: str
    kind: str = "backup"  # backup | member-db
    member: str | None = None  # for a member db: whose it is

    def label(self) -> str:
        return f"{self.node}:{self.path}"


@dataclass(frozen=True)
class BestSource:
    """The best-ranked valid source of the report (newest intact data)."""


@dataclass(frozen=True)
class Restore:
    name: ClassVar[str] = "restore"
    source: SourceRef | BestSource
    force_reason: str = ""  # needed (and audited) when the cluster still has quorum


@dataclass(frozen=True)
class StartMembers:
    name: ClassVar[str] = "start"
    members: tuple[str, ...]


@dataclass(frozen=True)
class RestartService:
    name: ClassVar[str] = "restart"
    node: str | None  # None: on every node that runs it
    service: str


@dataclass(frozen=True)
class Renew:
    """One certificate file on one node; or, from the CLI, a member's pair / every
    time-invalid one (then node and path are empty)."""

    name: ClassVar[str] = "renew-cert"
    node: str
    path: str
    member: str | None = None
    expired: bool = False


@dataclass(frozen=True)
class ReplaceMember:
    name: ClassVar[str] = "replace-member"
    member: str


@dataclass(frozen=True)
class ForceNewCluster:
    """Start `member` alone with --force-new-cluster, drop the flag, add the others back."""

    name: ClassVar[str] = "force-new-cluster"
    member: str


@dataclass(frozen=True)
class SnapshotSave:
    name: ClassVar[str] = "snapshot-save"
    from_member: str | None = None  # None: a healthy follower
    prune: bool = False
    delete: bool = False
    upload: tuple[str, ...] = ()  # backup locations besides the dirs (() = every one)
    kit: bool = False  # the restore kit beside the snapshot
    kit_keys: str = ""  # recipient:AGE | passphrase-env:VAR | omit (runbook.kit)


ALL_ALARMS = "all"
ALARM_TYPES = ("NOSPACE", "CORRUPT")  # etcdserverpb.AlarmType, NONE aside
# etcdserverpb.AlarmType by number. The etcd3 module's protos predate CORRUPT (2) and its
# AlarmType.Name(2) raises: a corrupt cluster must not break the probe that reports it.
_ALARM_BY_CODE = {0: "NONE", 1: "NOSPACE", 2: "CORRUPT"}


def alarm_name(code: int) -> str:
    """The alarm's name as etcdctl prints it; an unknown code stays visible as a number."""
    return _ALARM_BY_CODE.get(code, f"ALARM_{code}")


def alarm_code(name: str) -> int:
    return next(k for k, v in _ALARM_BY_CODE.items() if v == name)


@dataclass(frozen=True)
class Disarm:
    name: ClassVar[str] = "disarm-alarm"
    alarm: str = ALL_ALARMS  # or one of ALARM_TYPES: only that kind is deactivated


@dataclass(frozen=True)
class Defrag:
    name: ClassVar[str] = "defrag"
    members: tuple[str, ...] = ()  # () = every member, the leader last


@dataclass(frozen=True)
class Recover:
    name: ClassVar[str] = "recover"
    strategy: str  # a checks.reasoning.strategies name


Request = (Restore | StartMembers | RestartService | Renew | ReplaceMember | SnapshotSave
           | Disarm | Defrag | Recover | ForceNewCluster)

REQUEST_TYPES: tuple[type[Any], ...] = (Restore, StartMembers, RestartService, Renew,
                                        ReplaceMember, SnapshotSave, Disarm, Defrag, Recover,
                                        ForceNewCluster)


def request_json(r: Request) -> dict[str, Any]:
    """`{"action": name, ...fields}`: for --json output and the journal."""
    d: dict[str, Any] = {"action": r.name, **asdict(r)}
    if isinstance(r, Restore):
        d["source"] = ({"best": True} if isinstance(r.source, BestSource)
                       else asdict(r.source))
    return d


def describe(r: Request) -> str:
    """One line naming the exact target, for the finding's key hint and the audit."""
    if isinstance(r, Restore):
        src = "the best source" if isinstance(r.source, BestSource) else r.source.label()
        return f"restore every member from {src}"
    if isinstance(r, StartMembers):
        return f"start etcd {', '.join(r.members)}"
    if isinstance(r, RestartService):
        return f"restart {r.service} on {r.node or 'every node'}"
    if isinstance(r, Renew):
        return f"renew {r.path or r.member or 'expired certificates'} on {r.node or '-'}"
    if isinstance(r, ReplaceMember):
        return f"replace member {r.member}"
    if isinstance(r, ForceNewCluster):
        return f"force a new cluster from {r.member}, then add the others back"
    if isinstance(r, SnapshotSave):
        return f"save a snapshot from {r.from_member or 'a healthy member'}"
    if isinstance(r, Disarm):
        return f"disarm alarm {r.alarm}"
    if isinstance(r, Defrag):
        return f"defragment {', '.join(r.members) or 'every member'}"
    return f"recover with strategy {r.strategy}"
