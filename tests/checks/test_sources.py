"""rank_sources: newest intact revision first, invalid never recommended, honest gaps."""

from __future__ import annotations

from blackstart.checks.probe_results import MemberState, SnapshotInfo, WalState
from blackstart.checks.reasoning.sources import ago, human_duration, rank_sources, recommended

NOW = 1_800_000_000.0


def backup(rev: int | None, mtime: float, valid: bool = True, node: str = "etcd1",
           name: str | None = None) -> SnapshotInfo:
    return SnapshotInfo(path=f"/b/{node}/{name or rev}.db", node=node, valid=valid,
                        revision=rev, mtime=mtime, error=None if valid else "sha256 mismatch")


def mdb(node: str, rev: int | None, ci: int = 100, valid: bool = True,
        mtime: float = NOW - 60) -> SnapshotInfo:
    return SnapshotInfo(path=f"/d/{node}/member/snap/db", node=node, kind="member-db",
                        valid=valid, revision=rev, consistent_index=ci, mtime=mtime,
                        error=None if valid else "invalid database")


def wal(node: str, last: int | None, state: str = "ok") -> WalState:
    return WalState(member=node, node=node, path=f"/d/{node}/member/wal", state=state,
                    last_index=last)


def test_member_db_newer_than_backup_is_recommended_with_reason() -> None:
    snaps = [backup(1000, NOW - 5 * 3600)]
    dbs = [mdb("etcd1", 5211), mdb("etcd2", 5100)]
    ranked = rank_sources(snaps, dbs, [wal("etcd1", 100), wal("etcd2", 100)], [], NOW)
    assert [(s.kind, s.node) for s in ranked] == [
        ("member-db", "etcd1"), ("member-db", "etcd2"), ("backup", "etcd1")]
    top = ranked[0]
    assert top.recommended and top.member == "etcd1"
    assert top.reason == "etcd1's own database is 4,211 revisions newer than the newest backup."
    assert [s.behind_revisions for s in ranked] == [0, 111, 4211]
    assert sum(s.recommended for s in ranked) == 1


def test_invalid_sources_are_listed_last_and_never_recommended() -> None:
    snaps = [backup(None, NOW - 10, valid=False, name="newest"), backup(900, NOW - 3600)]
    dbs = [mdb("etcd1", None, valid=False)]
    ranked = rank_sources(snaps, dbs, [], [], NOW)
    assert [s.valid for s in ranked] == [True, False, False]
    assert ranked[0].recommended and ranked[0].revision == 900
    assert all(not s.recommended for s in ranked[1:])
    assert ranked[1].reason.startswith("invalid:")


def test_nothing_valid_means_no_recommendation() -> None:
    ranked = rank_sources([backup(None, NOW, valid=False)], [], [], [], NOW)
    assert len(ranked) == 1 and recommended(ranked) is None


def test_equal_revision_prefers_the_hash_verified_backup() -> None:
    ranked = rank_sources([backup(700, NOW - 60)], [mdb("etcd1", 700)], [], [], NOW)
    assert ranked[0].kind == "backup" and ranked[0].recommended


def test_behind_counts_live_members_revisions() -> None:
    live = [MemberState("etcd1", "https://127.0.10.1:2379", healthy=True, revision=1500)]
    ranked = rank_sources([backup(1000, NOW - 60)], [], [], live, NOW)
    assert ranked[0].behind_revisions == 500
    assert "500 revisions behind the newest seen" in ranked[0].reason


def test_wal_entries_past_the_db_count_as_newer_data() -> None:
    # etcd2's db is at revision 5000 (consistent_index 100), but its WAL reaches index 400:
    # ~300 more writes than the db holds, which a restore from the db alone would lose.
    ranked = rank_sources([], [mdb("etcd2", 5000)], [wal("etcd2", 400)], [], NOW)
    top = ranked[0]
    assert top.behind_revisions == 300
    assert top.window == "the last 300 raft entries in its WAL (not yet in the db)"


def test_backup_window_from_newest_db_write() -> None:
    snaps = [backup(1000, NOW - 5 * 3600)]
    dbs = [mdb("etcd1", None, valid=False, mtime=NOW - 60)]
    ranked = rank_sources(snaps, dbs, [], [], NOW)
    assert ranked[0].window == "about 5 h of writes"


def test_same_db_listed_twice_is_one_source() -> None:
    d = mdb("etcd1", 10)
    assert len(rank_sources([d], [d], [], [], NOW)) == 1


def test_human_durations() -> None:
    assert human_duration(30) == "30 s"
    assert human_duration(600) == "10 min"
    assert human_duration(5 * 3600) == "5 h"
    assert human_duration(3 * 86400) == "3 days"
    assert ago(3 * 86400) == "3 days ago" and ago(-7200) == "in 2 h"


def test_recent_backup_behind_newer_data_does_not_claim_nothing_lost() -> None:
    ranked = rank_sources([backup(100, NOW - 20)], [mdb("etcd1", 300, mtime=NOW - 10)],
                          [], [], NOW)
    (b,) = [s for s in ranked if s.kind == "backup"]
    assert b.behind_revisions == 200 and b.window == "under a minute of writes"


def test_member_db_beside_a_corrupt_wal_never_claims_nothing_lost() -> None:
    from blackstart.checks.probe_results import SnapshotInfo, WalState
    from blackstart.checks.reasoning.sources import rank_sources

    db = SnapshotInfo(path="/d/etcd2/member/snap/db", node="etcd2", kind="member-db",
                      valid=True, revision=458, consistent_index=500, mtime=1.0)
    wal = WalState(member="etcd2", node="etcd2", path="/d/etcd2/member/wal", state="corrupt",
                   last_index=520)
    (src,) = rank_sources([], [db], [wal], [])
    assert src.window is not None and "corrupt" in src.window
    assert "nothing known" not in src.window and "20" in src.window
