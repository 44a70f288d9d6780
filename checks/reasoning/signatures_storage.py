"""Log signatures of a member's data on disk: WAL and snapshot corruption (the member is
lost), a repaired torn WAL tail (expected after a power loss), a missing or corrupt bbolt
db, a raft log shorter than the commit index, the NOSPACE quota and a full disk."""

from __future__ import annotations

import re

from blackstart.checks.reasoning.signature_type import (
    APISERVER,
    CLUSTER,
    ETCD,
    INF,
    MEMBER,
    NODE,
    C,
    Signature,
    all_of,
)

MEMBER_LOST = (
    "Member is lost. If quorum holds: member remove, wipe its data dir, member add, start "
    "with --initial-cluster-state=existing. If quorum is gone: restore all members from the "
    "best snapshot (or the best member's member/snap/db with --skip-hash-check and a "
    "revision bump)."
)

CORRUPTION_SIGNATURES: tuple[Signature, ...] = (
    Signature("etcd-wal-unrepairable", ("failed to read WAL, cannot be repaired",
                                        "read wal error"), ETCD, C,
         "The WAL is corrupt in the middle (or its torn tail was not recognised as torn).",
         MEMBER_LOST, "restore", side=MEMBER,
         keys=("failed to read WAL, cannot be repaired", "read wal error")),
    Signature("etcd-walpb-crc", "walpb: crc mismatch", ETCD, C,
         "A WAL record's CRC does not match: corruption mid-log (hard reboot).",
         MEMBER_LOST, "restore", side=MEMBER),
    Signature("etcd-wal-crc", "wal: crc mismatch", ETCD, C,
         "The WAL segment chain is broken (a segment missing or swapped).",
         MEMBER_LOST, "restore", side=MEMBER),
    Signature("etcd-wal-repair-failed", "failed to repair WAL", ETCD, C,
         "etcd found a torn WAL tail but could not repair it.", MEMBER_LOST, "restore",
         side=MEMBER),
    Signature("etcd-wal-repaired", ("repaired WAL", "wal: repairing ", '"msg":"repairing"',
                                    '"msg":"repaired"'), ETCD, INF,
         "etcd cut a torn last WAL record after a crash and carried on (etcd 3.4 writes "
         "`repaired WAL error (unexpected EOF)`): expected after a power loss.",
         "None, if the member then starts; only the unacknowledged last write is gone.",
         side=MEMBER, keys=("repaired WAL", "wal: repairing ", "\"msg\":\"repairing\"",
                            "\"msg\":\"repaired\"")),
    Signature("etcd-snap-missing", (
        "failed to find database snapshot file", "snap: snapshot file doesn't exist",
        "database snapshot file path error", "recovering backend from snapshot error",
        "failed to recover v3 backend from snapshot"), ETCD, C,
         "The newest .snap index is past the db's consistent_index and no .snap.db exists "
         "(etcd#11949, #12237).", MEMBER_LOST, "restore", side=MEMBER,
         keys=("failed to find database snapshot file", "snapshot file doesn't exist",
               "database snapshot file path error", "recovering backend from snapshot",
               "failed to recover v3 backend")),
    Signature("etcd-db-missing", all_of("backend is missing", "database file ("),
         ETCD, C, "The WAL exists but member/snap/db is gone.", MEMBER_LOST, "restore",
         side=MEMBER, keys=("backend is missing",)),
    Signature("bbolt-freepages", "freepages: failed to get all reachable pages", ETCD, C,
         "The bbolt database is corrupt (etcd#11949: members after a total power-off).",
         MEMBER_LOST, "restore", side=MEMBER),
    Signature("bbolt-invalid", "invalid database", ETCD, C, "The bbolt database is corrupt.",
         MEMBER_LOST, "restore", side=MEMBER),
    Signature("bbolt-checksum", "checksum error", ETCD, C, "The bbolt database is corrupt.",
         MEMBER_LOST, "restore", side=MEMBER),
    Signature("raft-tocommit-out-of-range", (
        re.compile(r"tocommit\(\d+\) is out of range \[lastIndex\(\d+\)\]"),
        re.compile(r"state\.commit \d+ is out of range")), ETCD, C,
         "The local raft log is shorter than the commit index the leader recorded (lost or "
         "torn tail, or an old data dir).", MEMBER_LOST, "restore", side=MEMBER,
         keys=("tocommit(", "state.commit ")),
)

STORAGE_SIGNATURES: tuple[Signature, ...] = (
    Signature("etcd-nospace", ("database space exceeded", "etcdserver: no space",
                               "alarm:NOSPACE", '"alarm":"NOSPACE"'), APISERVER, C,
         "NOSPACE alarm: the etcd database reached its quota (default 2 GiB); writes fail.",
         "Compact, defragment every member, then `etcdctl alarm disarm`.", "defrag",
         side=CLUSTER, keys=("database space exceeded", "etcdserver: no space", "NOSPACE")),
    Signature("disk-full", "no space left on device", ETCD, C,
         "The node's disk is full: etcd cannot write its WAL or db.",
         "Free space on the data dir's filesystem (old logs, images), never by deleting WAL "
         "or snap files; then restart etcd.", side=NODE),
)
