"""The forced new cluster without I/O: when it is recommended, when it is refused (a db
consistent index ahead of the WAL, etcd#22686; a member whose facts are unknown), what it
loses, the order of its steps on kubeadm static pods, and the manifest flag edit."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from blackstart.checks.conclusions import Report, Verdict
from blackstart.checks.model import Cluster, Member, Node, Service
from blackstart.checks.probe_results import MemberState, NodeAccess, SnapshotInfo, WalState
from blackstart.checks.reasoning.sources import rank_sources
from blackstart.checks.reasoning.strategies import recommend, strategies
from blackstart.checks.requests import ForceNewCluster
from blackstart.checks.severity import Severity
from blackstart.runbook.force_new import force_new_steps, plan_force_new
from blackstart.runbook.member_ops import set_force_flag
from blackstart.runbook.plan import StepIds
from blackstart.runbook.preflight import PlanRefused
from blackstart.runbook.recover import choose

NOW = 1_800_000_000.0
NAMES = ("etcd1", "etcd2", "etcd3")


def _report(wal_last: int = 5000, ci: int = 5000, corrupt: tuple[str, ...] = ("etcd1", "etcd2"),
            unreachable: str = "", commit: int = 10**9) -> Report:
    """A power cut; `corrupt` members' WALs corrupt; etcd3 intact at revision 5000."""
    r = Report("lab", NOW, Verdict(Severity.OK, ""), expected_members=list(NAMES))
    for n in NAMES:
        r.members.append(MemberState(n, f"https://127.0.77.{n[-1]}:2379", error_class="refused",
                                     error="connection refused"))
        dd = f"/var/lib/etcd-{n}"
        last = wal_last if n == "etcd3" else 4990
        w = WalState(n, n, f"{dd}/member/wal", "torn-tail", records=100, last_index=last,
                     commit=min(last, commit))
        if n in corrupt:
            w.state, w.detail = "corrupt", "walpb: crc mismatch"
        if n == unreachable:
            w.state, w.detail = "unreadable", f"no access to node {n}"
            r.access.append(NodeAccess(n, f"ssh root@{n}:22", False, "unreachable", "no way in"))
        r.wal.append(w)
        rev = 5000 if n == "etcd3" else 4990
        r.member_dbs.append(SnapshotInfo(f"{dd}/member/snap/db", n, "member-db", valid=True,
                                         revision=rev, consistent_index=ci if n == "etcd3"
                                         else 4990, mtime=NOW - 60, member=n))
    r.snapshots = [SnapshotInfo("/backup/etcd/snap-1000.db", "etcd1", valid=True, revision=1000,
                                size=2_000_032, mtime=NOW - 5 * 3600, sha256_ok=True)]
    r.restore_sources = rank_sources(r.snapshots, r.member_dbs, r.wal, r.members, NOW)
    return r


def _with_verdict(r: Report) -> Report:
    ranked = strategies(r, r.restore_sources)
    top = recommend(ranked)
    r.verdict = Verdict(Severity.CRITICAL, "quorum lost", strategies=ranked,
                        recommended=top.name if top else None)
    return r


def test_recommended_over_the_member_db_restore_at_equal_loss() -> None:
    ranked = strategies(_report(), _report().restore_sources)
    assert [s.name for s in ranked[:2]] == ["force-new-cluster", "restore-member-db"]
    force, restore = ranked[0], ranked[1]
    assert force.loss_revisions == restore.loss_revisions == 0
    assert force.requests == (ForceNewCluster("etcd3"),) and not force.blocked
    assert recommend(ranked) is force
    assert "force a new cluster from etcd3 — loses nothing" == force.title


def test_it_keeps_what_the_wal_holds_committed_past_the_db() -> None:
    """etcd3's db is 30 entries behind its own WAL, all committed: a restore from that db
    loses them, the forced start applies them. Of entries not known committed it keeps
    none (etcd discards them), so then it claims the db's loss."""
    r = _report(wal_last=5030, ci=5000)
    by = {s.name: s for s in strategies(r, r.restore_sources)}
    assert by["force-new-cluster"].loss_revisions == 0
    assert by["restore-member-db"].loss_revisions == 30
    r = _report(wal_last=5030, ci=5000, commit=5010)
    by = {s.name: s for s in strategies(r, r.restore_sources)}
    assert by["force-new-cluster"].loss_revisions == 20


def test_refused_when_the_db_consistent_index_is_ahead_of_the_wal() -> None:
    r = _with_verdict(_report(wal_last=4000, ci=5000))
    force = next(s for s in r.verdict.strategies if s.name == "force-new-cluster")
    assert "consistent index 5000 is ahead of its WAL (4000)" in force.blocked
    assert "etcd#22686" in force.blocked and r.verdict.recommended != "force-new-cluster"
    with pytest.raises(PlanRefused, match="etcd#22686"):
        choose(r, "force-new-cluster")  # not even by explicit choice


def test_not_recommended_while_a_member_is_unknown() -> None:
    """etcd2 cannot be read: it may even be running, and a live old member makes the
    forced one panic."""
    r = _with_verdict(_report(corrupt=("etcd1",), unreachable="etcd2"))
    force = next(s for s in r.verdict.strategies if s.name == "force-new-cluster")
    assert "facts unknown for etcd2" in force.blocked
    assert r.verdict.recommended is None


def _kubeadm_cluster() -> Cluster:
    ms = tuple(Member(n, f"master0{n[-1]}", f"https://127.0.77.{n[-1]}:2379",
                      f"https://127.0.77.{n[-1]}:2380", "/var/lib/etcd",
                      manifest="/etc/kubernetes/manifests/etcd.yaml") for n in NAMES)
    svcs = tuple(Service(m.node, "etcd", "static-pod", manifest=m.manifest, member=m.name)
                 for m in ms)
    return Cluster("prod", tuple(Node(m.node) for m in ms), ms, services=svcs)


def test_steps_stop_everyone_first_and_add_members_one_at_a_time() -> None:
    steps = force_new_steps(_kubeadm_cluster(), "etcd3", StepIds(), "TS")
    ids = [s.id for s in steps]
    parks = [i for i, s in enumerate(steps) if s.id.split("-", 1)[1] == "park-etcd"]
    stopped = [i for i, s in enumerate(steps) if s.args.get("kind") == "stopped"]
    flag_on = next(i for i, s in enumerate(steps) if s.args.get("on") is True)
    flag_off = next(i for i, s in enumerate(steps) if s.args.get("on") is False)
    adds = [i for i, s in enumerate(steps) if s.args.get("call") == "member-add"]
    assert len(parks) >= 3 and max(stopped[:3]) < flag_on < flag_off < adds[0]
    # the forced member's flags are edited where its parked manifest waits
    assert steps[flag_on].args["manifest"] == "/etc/kubernetes/blackstart-parked/etcd.yaml"
    assert steps[flag_on].node == "master03" and steps[flag_on].undo_op == "restore-file"
    # its data dir as it was is kept aside, etcd runs on a copy
    aside = next(s for s in steps if s.id.endswith("-aside-etcd3"))
    assert ids.index(aside.id) < flag_on
    assert aside.args == {"src": "/var/lib/etcd", "dst": "/var/lib/etcd.before-force-new-TS"}
    assert aside.undo_op == "rename-back"
    # each joiner lists the members it joins, itself last; the next add waits for it
    joins = [s for s in steps if s.args.get("kind") == "join-flags"]
    assert [j.args["initial_cluster"] for j in joins] == [
        "etcd3=https://127.0.77.3:2380,etcd1=https://127.0.77.1:2380",
        "etcd3=https://127.0.77.3:2380,etcd1=https://127.0.77.1:2380,"
        "etcd2=https://127.0.77.2:2380"]
    caught = [i for i, s in enumerate(steps) if s.args.get("kind") == "caught-up"]
    assert adds[0] < caught[0] < adds[1] < caught[1] and steps[-1].args["kind"] == "verify"


def test_flag_added_once_and_removed_leaving_the_rest() -> None:
    doc = {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{
        "name": "etcd", "command": ["etcd", "--name=etcd3", "--data-dir=/var/lib/etcd"]}]}}
    text = yaml.safe_dump(doc, sort_keys=False)
    on = set_force_flag(set_force_flag(text, True), True)
    cmd = yaml.safe_load(on)["spec"]["containers"][0]["command"]
    assert cmd == ["etcd", "--name=etcd3", "--data-dir=/var/lib/etcd", "--force-new-cluster"]
    off = yaml.safe_load(set_force_flag(on, False))
    assert off == doc


def test_a_rollback_starts_only_members_that_were_running() -> None:
    """etcd1 and etcd2 were down when planned (their WAL corrupt: started again they only
    crash); etcd3 was up: undoing its stop starts it again."""
    ms = tuple(Member(n, f"n{n[-1]}", f"https://127.0.77.{n[-1]}:2379",
                      f"https://127.0.77.{n[-1]}:2380", "/var/lib/etcd", manifest="/m.yaml")
               for n in NAMES)
    svcs = tuple(Service(m.node, "etcd", "command", start=("start", m.name),
                         stop=("stop", m.name), member=m.name) for m in ms)
    cl = Cluster("prod", tuple(Node(m.node) for m in ms), ms, services=svcs)
    steps = force_new_steps(cl, "etcd3", StepIds(), "TS", frozenset({"etcd1", "etcd2"}))
    stops = {s.args["member"]: s for s in steps[:6] if s.op == "run"}
    assert stops["etcd1"].undo_op == stops["etcd2"].undo_op == ""
    assert "was not running" in stops["etcd1"].undo
    assert stops["etcd3"].undo_op == "run" and stops["etcd3"].undo_argv == ("start", "etcd3")


async def test_refused_while_a_member_cannot_be_confirmed_stopped(tmp_path: Path) -> None:
    """Even by explicit choice: a member on a node without access may be running, and a
    live old member makes the forced one panic."""
    ms = tuple(Member(n, f"n{n[-1]}", f"https://127.0.77.{n[-1]}:2379",
                      f"https://127.0.77.{n[-1]}:2380", "/var/lib/etcd", manifest="/m.yaml")
               for n in NAMES)
    nodes = (Node("n1"), Node("n2", has_access=False), Node("n3"))
    cl = Cluster("prod", nodes, ms, state_dir=str(tmp_path / "state"))
    with pytest.raises(PlanRefused, match="etcd2 cannot be reached"):
        await plan_force_new(cl, None, member="etcd3")


def test_not_offered_when_a_healthy_and_an_intact_member_make_a_quorum() -> None:
    """etcd2 answers, etcd3 is intact and down, etcd1 lost: start etcd3 and replace etcd1
    loses nothing; forcing a new cluster (stopping etcd2) is not a way out at all."""
    r = _report(corrupt=("etcd1",))
    r.members[1].healthy, r.members[1].error_class, r.members[1].error = True, None, None
    names = [s.name for s in strategies(r, r.restore_sources)]
    assert names[0] == "replace" and "force-new-cluster" not in names
