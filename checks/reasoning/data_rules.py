"""Diagnosis rules about a member's data on disk: its WAL (intact, torn tail that etcd
repairs, corrupt and the member lost, missing), a raft snapshot ahead of the db, and its
own bbolt database (unverified while running, missing, corrupt); a lost member's remedy
depends on whether quorum holds.
"""

from __future__ import annotations

from blackstart.checks.conclusions import Finding
from blackstart.checks.probe_results import WalState
from blackstart.checks.reasoning.facts import member_dbs, snap_ahead
from blackstart.checks.reasoning.rule_facts import INFO, C, DiagnosisFacts, W, top_restore
from blackstart.checks.reasoning.sources import wal_for_db
from blackstart.checks.requests import ReplaceMember, StartMembers


def _lost_remedy(f: DiagnosisFacts, member: str) -> str:
    restore = top_restore(f)
    if f.quorum.held or restore is None:
        return (f"Member {member} is lost: once quorum holds, `etcdctl member remove` it, move "
                "its data dir aside, `member add` it and start it with "
                "--initial-cluster-state=existing (`blackstart member replace "
                f"{member}`).")
    return (f"Member {member} is lost and quorum cannot come back without it: "
            f"{f.top.title if f.top else 'restore every member'}.")


def _wal_finding(f: DiagnosisFacts, w: WalState, healthy: bool) -> Finding:
    where = f"{w.member}'s WAL ({w.path} on {w.node})"
    if w.state == "ok":
        last = f", last index {w.last_index}" if w.last_index is not None else ""
        return Finding(INFO, "wal-ok", w.member, f"{where}: intact, {w.records} records{last}.")
    if w.state == "torn-tail":
        if healthy:  # a running member's last record may be mid-write: not a fault
            return Finding(INFO, "wal-ok", w.member, f"{where}: intact; the last record is being "
                           "written by the running member.", [w.detail] if w.detail else [])
        return Finding(W, "wal-torn-tail", w.member,
                       f"{where}: torn tail; etcd repairs it on start.",
                       [w.detail] if w.detail else [],
                       "Start etcd: it truncates the torn record (keeping a .broken copy).",
                       StartMembers((w.member,)))
    if w.state == "corrupt":
        return Finding(W if healthy else C, "wal-corrupt", w.member,
                       f"{where}: corrupt; member {w.member} is lost.",
                       [w.detail] if w.detail else [], _lost_remedy(f, w.member),
                       ReplaceMember(w.member) if f.quorum.held else top_restore(f))
    return Finding(INFO if healthy else W, f"wal-{w.state}", w.member, f"{where}: {w.state}.",
                   [w.detail] if w.detail else [], "Check the member's data_dir in the inventory.")


def rule_wal(f: DiagnosisFacts) -> list[Finding]:
    healthy = set(f.quorum.healthy)
    out = [_wal_finding(f, w, w.member in healthy) for w in f.report.wal]
    dbs = member_dbs(f.report)
    for w in f.report.wal:
        ci = snap_ahead(w, dbs, f.report.wal)
        if ci is not None and w.member not in healthy:
            out.append(Finding(C, "snap-ahead-of-db", w.member,
                               f"{w.member}: newest .snap index {w.snap_index} is past the db's "
                               f"consistent_index {ci}; etcd will fail with \"failed to find "
                               "database snapshot file\".", remedy=_lost_remedy(f, w.member)))
    return out


def rule_member_dbs(f: DiagnosisFacts) -> list[Finding]:
    out = []
    for d in member_dbs(f.report):
        w = wal_for_db(d, f.report.wal)
        who = d.member or (w.member if w is not None else d.node)
        if d.valid:
            continue
        if who in f.quorum.healthy:
            # read while etcd was writing it: a torn read, not proof of damage
            out.append(Finding(INFO, "member-db-unverified", who,
                               f"{who}'s database {d.path} did not verify while {who} was "
                               "running; a copy read during writes is not conclusive.",
                               [d.error] if d.error else []))
            continue
        if d.state == "unknown":
            continue  # not read: the node-access / probe finding says why
        if d.state == "missing":
            out.append(Finding(C if who in f.lost else W, "member-db-missing", who,
                               f"{who}'s database {d.path} is missing on {d.node}.",
                               [d.error] if d.error else [], _lost_remedy(f, who)))
            continue
        out.append(Finding(C if who in f.lost else W, "member-db-corrupt", who,
                           f"{who}'s database {d.path} is not a valid bbolt file.",
                           [d.error] if d.error else [], _lost_remedy(f, who)))
    return out
