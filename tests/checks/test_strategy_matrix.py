"""The scenario matrix (issue 12): per-member states for 3 members (exhaustive) and 5
members (hypothesis), each turned into a report, diagnosed, and held to the safety
properties against ground truth computed here from the scenario, not from the code:

1. never a data-dir-rewriting recommendation where a loss-free way exists (enough members
   whose data is intact for a quorum);
2. never a restore (any rewrite) recommended while a member's facts are unknown;
3. a recommended restore (or forced new cluster) claims exactly the loss computed from
   the members' revisions; a new cluster is forced only from a member whose data is intact;
4. no strategy at all on a healthy cluster; the quorum finding starts only intact members.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from blackstart.checks.conclusions import Report, Strategy, Verdict
from blackstart.checks.probe_results import (
    CertInfo,
    ClockInfo,
    MemberState,
    NodeAccess,
    SnapshotInfo,
    WalState,
)
from blackstart.checks.reasoning.diagnosis import diagnose
from blackstart.checks.reasoning.sources import rank_sources
from blackstart.checks.requests import ForceNewCluster, StartMembers
from blackstart.checks.severity import Severity

NOW = 1_800_000_000.0
BACKUP_REV = 1000

# state -> (data intact?, facts known?, process up?)
STATES: dict[str, tuple[bool, bool, bool]] = {
    "running": (True, True, True),
    "stopped": (True, True, False),
    "power-cut": (True, True, False),
    "server-cert-expired": (True, True, False),
    "peer-cert-expired": (True, True, False),
    "client-cert-expired": (True, True, True),
    "server-cert-not-yet-valid": (True, True, False),
    "wal-torn": (True, True, False),
    "wal-corrupt": (False, True, False),
    "db-missing": (False, True, False),
    "unreachable": (True, False, False),  # its data may be fine: it is not known
    "host-key-changed": (True, False, False),
    "disk-full": (True, True, False),
    "nospace": (True, True, True),
    "clock-skewed": (True, True, True),
}


def _dd(n: str) -> str:
    return f"/var/lib/etcd-{n}"  # distinct per node only for readability; nodes differ


def _member(name: str, state: str, quorum_up: bool, rev: int) -> MemberState:
    up = STATES[state][2]
    m = MemberState(name, f"https://127.0.77.{name[-1]}:2379")
    if up and quorum_up and state != "client-cert-expired":
        m.healthy, m.revision, m.version = True, rev, "3.5.12"
        m.alarms = ["NOSPACE"] if state == "nospace" else []
    elif state == "client-cert-expired":
        m.error_class, m.error = "tls", "remote error: tls: bad certificate"
        m.tls_fault = f"/etc/kubernetes/pki/etcd/healthcheck-client.crt@{name}"
    elif up:
        m.error_class, m.error = "timeout", "context deadline exceeded"
    elif state in ("unreachable", "host-key-changed"):
        m.error_class, m.error = "timeout", "dial timeout"
    else:
        m.error_class, m.error = "refused", "connection refused"
    return m


def _wal(name: str, state: str, rev: int) -> WalState:
    w = WalState(name, name, f"{_dd(name)}/member/wal", "ok", records=100, last_index=rev)
    if state in ("power-cut", "wal-torn"):
        w.state = "torn-tail"
    elif state == "wal-corrupt":
        w.state, w.detail = "corrupt", "walpb: crc mismatch"
    elif state in ("unreachable", "host-key-changed"):
        w.state, w.detail = "unreadable", f"no access to node {name}"
    return w


def _db(name: str, state: str, rev: int) -> SnapshotInfo:
    path = f"{_dd(name)}/member/snap/db"
    if state == "db-missing":
        return SnapshotInfo(path, name, "member-db", error="no such file", member=name,
                            fact="missing")
    if state in ("unreachable", "host-key-changed"):
        return SnapshotInfo(path, name, "member-db", error="no access", member=name,
                            fact="unknown")
    return SnapshotInfo(path, name, "member-db", valid=True, revision=rev, consistent_index=rev,
                        mtime=NOW - 60, member=name)


def _certs(name: str, state: str) -> list[CertInfo]:
    role = {"server-cert-expired": "etcd-server", "server-cert-not-yet-valid": "etcd-server",
            "peer-cert-expired": "etcd-peer"}.get(state)
    if role is None:
        return []
    problem = "not-yet-valid" if "not-yet" in state else "expired"
    return [CertInfo(f"/etc/kubernetes/pki/etcd/{role[5:]}.crt", name, role, member=name,
                     not_before=NOW - 400 * 86400, not_after=NOW - 86400, problems=[problem])]


def scenario(states: Sequence[str], revs: Sequence[int]) -> Report:
    names = [f"etcd{i + 1}" for i in range(len(states))]
    quorum = len(names) // 2 + 1
    up = sum(1 for s in states if STATES[s][2] and s != "client-cert-expired")
    r = Report("lab", NOW, Verdict(Severity.OK, ""), expected_members=names)
    for n, s, rev in zip(names, states, revs, strict=True):
        r.members.append(_member(n, s, up >= quorum, rev))
        r.wal.append(_wal(n, s, rev))
        r.member_dbs.append(_db(n, s, rev))
        r.certificates += _certs(n, s)
        if s in ("unreachable", "host-key-changed"):
            kind = "hostkey" if s == "host-key-changed" else "unreachable"
            r.access.append(NodeAccess(n, f"ssh root@{n}:22", False, kind, "no way in"))
        if s == "clock-skewed":
            r.clocks.append(ClockInfo(n, NOW + 30, 30.0))
    r.snapshots = [SnapshotInfo(f"/backup/etcd/snap-{BACKUP_REV}.db", names[0], valid=True,
                                revision=BACKUP_REV, size=2_000_032, mtime=NOW - 5 * 3600,
                                sha256_ok=True, total_keys=400)]
    r.restore_sources = rank_sources(r.snapshots, r.member_dbs, r.wal, r.members, NOW)
    return r


def _source_revision(top: Strategy, verdict: Verdict, revs: Sequence[int], *,
                     intact: list[str], ctx: str) -> int:
    """The revision the recommended rewrite keeps: the forced member's (a forced new
    cluster keeps that member's own data, which must be intact), else the restore's."""
    names = [f"etcd{i + 1}" for i in range(len(revs))]
    if top.name == "force-new-cluster":
        (req,) = top.requests
        assert isinstance(req, ForceNewCluster) and req.member in intact, ctx
        return revs[names.index(req.member)]
    src = verdict.recommended_source()
    assert src is not None, ctx
    return BACKUP_REV if src.kind == "backup" else revs[names.index(src.member or "")]


def check(states: Sequence[str], revs: Sequence[int]) -> str:
    """Diagnose the scenario, assert every property; returns the recommended strategy."""
    report = scenario(states, revs)
    findings, verdict = diagnose(report, NOW)
    names = [f"etcd{i + 1}" for i in range(len(states))]
    quorum = len(names) // 2 + 1
    intact = [n for n, s in zip(names, states, strict=True) if STATES[s][0] and STATES[s][1]]
    unknown = [n for n, s in zip(names, states, strict=True) if not STATES[s][1]]
    top = verdict.recommended_strategy()
    ctx = f"{states} revs={revs} -> {[(s.name, s.blocked) for s in verdict.strategies]}"
    if all(s == "running" for s in states):
        assert verdict.strategies == [] and top is None, ctx
    held = sum(1 for m in report.members if m.healthy) >= quorum
    if len(intact) >= quorum:  # a loss-free way exists: nothing rewriting is recommended
        assert top is None or (not top.rewrites_data and top.loss_revisions == 0), ctx
        if not held:  # and with quorum gone, that way is the recommendation
            assert top is not None, ctx
    if unknown:
        assert top is None or not top.rewrites_data, ctx
    if top is not None and top.rewrites_data:
        # ground truth: the newest revision any member or backup holds, minus the source's
        newest = max([BACKUP_REV, *(rv for s, rv in zip(states, revs, strict=True)
                                    if s != "db-missing")])
        src_rev = _source_revision(top, verdict, revs, intact=intact, ctx=ctx)
        assert top.loss_revisions == newest - src_rev, ctx
        assert len(intact) < quorum, ctx
    lost = {n for n, s in zip(names, states, strict=True) if not STATES[s][0]}
    for f in findings:
        if f.code == "quorum-lost" and isinstance(f.action, StartMembers):
            assert not lost & set(f.action.members), ctx
    return top.name if top else "-"


def test_three_members_exhaustive() -> None:
    seen: dict[str, int] = {}
    combos = list(itertools.product(STATES, repeat=3))
    for states in combos:
        name = check(states, (5000, 5040, 5020))
        seen[name] = seen.get(name, 0) + 1
    print(f"\n3 members: {len(combos)} scenarios, recommended: {seen}")
    assert len(combos) == len(STATES) ** 3
    assert {"start", "replace", "force-new-cluster", "restore-member-db"} <= set(seen)


def test_seed_outage_in_the_matrix_is_start_and_replace() -> None:
    assert check(("server-cert-expired", "wal-corrupt", "power-cut"), (5211, 5100, 5150)) \
        == "replace"


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(sorted(STATES)), min_size=5, max_size=5),
       st.lists(st.integers(min_value=BACKUP_REV, max_value=BACKUP_REV + 5000), min_size=5,
                max_size=5))
def test_five_members_sampled(states: list[str], revs: list[int]) -> None:
    check(states, revs)
