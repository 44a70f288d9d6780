"""Log signatures of the cluster as a whole: membership (unequal, mismatched, removed or
already-bootstrapped members, two clusters mixed, a member that cannot publish itself),
clock drift, quorum and leadership, and an overloaded or slow-disked member."""

from __future__ import annotations

from blackstart.checks.reasoning.signature_type import (
    APISERVER,
    CLUSTER,
    ETCD,
    MEMBER,
    NODE,
    C,
    Signature,
    W,
    all_of,
)

MEMBERSHIP_SIGNATURES: tuple[Signature, ...] = (
    Signature("etcd-member-count-unequal", "member count is unequal", ETCD, C,
         "The member was started with an --initial-cluster that does not match the current "
         "membership.",
         "Make --initial-cluster match `etcdctl member list` exactly.", side=MEMBER),
    Signature("etcd-mismatch-member", "rejected Raft message to mismatch member", ETCD, C,
         "This data dir comes from another restore (a different token or peer URLs gives a "
         "different member ID).",
         "Restore every member identically from the same snapshot, token and URLs.",
         "restore", side=MEMBER),
    Signature("etcd-member-removed", (
        "the member has been permanently removed from the cluster",
        "data-dir used by this member must be removed",
        "rejected stream from remote peer because it was removed", "since it was removed"),
         ETCD, C, "A removed member is running on its old data (or a removed peer still "
         "dials this one).",
         "Move its data dir aside, `etcdctl member add`, start it with "
         "--initial-cluster-state=existing.", side=MEMBER,
         keys=("the member has been permanently removed", "data-dir used by this member",
               "because it was removed", "since it was removed")),
    Signature("etcd-cluster-id-mismatch", "cluster ID mismatch", ETCD, C,
         "Members of two different clusters talk to each other: restored and unrestored "
         "members mixed, or different tokens.",
         "Never mix: restore all members from the same snapshot.", "restore", side=CLUSTER),
    Signature("etcd-already-bootstrapped", "has already been bootstrapped", ETCD, C,
         "The member was started as a new cluster member (--initial-cluster-state=new or "
         "discovery) but its ID is already registered.",
         "Start it with --initial-cluster-state=existing, or remove and re-add it.",
         side=MEMBER),
    Signature("etcd-publish-failed", (
        "failed to publish local member to cluster through raft", "publish error:"),
         ETCD, C, "This member is up but has no quorum.",
         "Start the other members; check port 2380 and the peer certificates.",
         side=CLUSTER, keys=("failed to publish local member", "publish error:")),
    Signature("etcd-clock-drift", ("prober found high clock drift",
                                   "clock difference against peer"), ETCD, W,
         "The clocks of two members differ by more than 1 s.", "Fix NTP on every node.",
         side=NODE, keys=("prober found high clock drift", "clock difference against peer")),
)

QUORUM_SIGNATURES: tuple[Signature, ...] = (
    Signature("etcd-no-leader", ("etcdserver: no leader", "etcdserver: leader changed",
                                 "has no leader", "quorum is not active"), APISERVER, C,
         "No quorum (the leader stepped down or none is elected), or an election is running.",
         "Start the missing members; check port 2380 and the peer certificates.",
         side=CLUSTER, keys=("etcdserver: no leader", "etcdserver: leader changed",
                            "has no leader", "quorum is not active")),
    Signature("etcd-leader-lost", "lost leader", ETCD, W,
         "This member lost its leader: an election follows (planned after a leadership "
         "transfer, a problem when it repeats).",
         "If it repeats, look for the peer and slow-disk lines around it; check port 2380 "
         "and WAL fsync latency.", side=CLUSTER),
)

LOAD_SIGNATURES: tuple[Signature, ...] = (
    Signature("etcd-slow-disk", ("slow fdatasync", all_of("sync duration of ", ", expected")),
         ETCD, W,
         "The disk is slow: a WAL fsync took over 1 s (p99 should be < 10 ms).",
         "Move the data dir to a dedicated SSD; find what else writes to that disk.",
         side=NODE),
    Signature("etcd-overloaded", (
        "took too long", "server is likely overloaded", "failed to send out heartbeat on time",
        "avoid queries with large range", "timed out waiting for read index response"),
         ETCD, W,
         "etcd is overloaded: requests or heartbeats take too long (slow disk, CPU "
         "starvation, or expensive range queries).",
         "Check WAL fsync and backend commit latency, CPU steal and large range requests.",
         side=MEMBER, keys=("took too long", "likely overloaded", "heartbeat on time",
                            "avoid queries with large range",
                            "waiting for read index response")),
)
