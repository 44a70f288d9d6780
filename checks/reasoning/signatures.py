"""The table of known failure strings in kube-apiserver and etcd logs.

Each entry says what a log line means during an outage and what to do about it. Sources:
ETCD_FACTS §3 (both tables) plus the klog/grpc wording real kube-apiserver logs use around
them. `checks.formats.loglines.classify` returns the FIRST entry that matches, so order matters: the
specific causes (certificates, corruption, refused) come before the generic symptoms
(deadline exceeded, "not responding") that the same line often also contains.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from blackstart.checks.model import Severity

APISERVER = "kube-apiserver"
ETCD = "etcd"
BLACKSTART = "blackstart"  # markers blackstart writes itself (e.g. an unreadable source)

MEMBER_LOST = (
    "Member is lost. If quorum holds: member remove, wipe its data dir, member add, start "
    "with --initial-cluster-state=existing. If quorum is gone: restore all members from the "
    "best snapshot (or the best member's member/snap/db with --skip-hash-check and a "
    "revision bump)."
)


@dataclass(frozen=True)
class Signature:
    id: str
    pattern: str | re.Pattern[str]  # a plain substring, or a compiled regex
    component: str  # kube-apiserver | etcd | blackstart
    severity: Severity
    diagnosis: str
    remedy: str
    action: str | None = None  # a runbook action name (blackstart.checks.model.Action.name)
    # For a regex pattern: literals of which every match contains at least one. They feed
    # the fast pre-filter in checks.formats.loglines; a plain substring pattern is its own literal.
    keys: tuple[str, ...] = ()

    def matches(self, text: str) -> bool:
        if isinstance(self.pattern, str):
            return self.pattern in text
        return self.pattern.search(text) is not None

    @property
    def literals(self) -> tuple[str, ...]:
        return (self.pattern,) if isinstance(self.pattern, str) else self.keys


C, W, INF = Severity.CRITICAL, Severity.WARNING, Severity.INFO


_CERTS: tuple[Signature, ...] = (
    Signature("tls-expired", "certificate has expired or is not yet valid", APISERVER, C,
         "A certificate on this connection is expired or not yet valid: the apiserver-etcd-"
         "client cert or the etcd server cert (the log does not say which), or the node "
         "clock is wrong after the power loss.",
         "Check the clock first, then NotBefore/NotAfter of every etcd certificate; renew "
         "the one at fault.", "renew-cert"),
    Signature("tls-remote-expired", "remote error: tls: expired certificate", APISERVER, C,
         "The other side rejected this side's client certificate as expired (or the clocks "
         "disagree).",
         "Check the clock first, then renew the client certificate (apiserver-etcd-client, "
         "or the member's peer cert).", "renew-cert"),
    Signature("tls-bad-certificate", "remote error: tls: bad certificate", APISERVER, C,
         "The server rejected the client certificate: expired, signed by another CA, or "
         "missing clientAuth.",
         "Renew apiserver-etcd-client from the etcd CA (kubeadm certs renew "
         "apiserver-etcd-client).", "renew-cert"),
    Signature("tls-unknown-authority", "certificate signed by unknown authority", APISERVER, C,
         "CA mismatch: the certificate was signed by a CA the other side does not trust "
         "(a cert from another cluster, or a re-generated CA).",
         "Issue the certificate from the cluster's etcd CA; make every node use the same "
         "etcd/ca.crt.", "renew-cert"),
    Signature("tls-wrong-host", re.compile(r"certificate is (?:valid for .+, not \S+|not valid for "
                                      r"any names)"), APISERVER, C,
         "The server certificate does not name the host dialled: a per-node cert copied to "
         "another node, or SANs missing the advertise IP (etcd#15740).",
         "Issue a per-node certificate with the correct SANs (node name, localhost, "
         "advertise IP, 127.0.0.1, ::1).", "renew-cert", keys=("certificate is ",)),
    Signature("etcd-san-mismatch", "does not match any of DNSNames", ETCD, C,
         "A peer's certificate does not cover the name or IP it connects from/to: a per-node "
         "cert copied to another node (etcd#15740).",
         "Issue a per-node certificate with the correct SANs.", "renew-cert"),
    Signature("etcd-peer-rejected", "rejected connection on peer endpoint", ETCD, C,
         "etcd refused a peer TLS connection: CA mismatch, expired peer cert or wrong SANs.",
         "Check the peer certificates of every member against etcd/ca.crt; issue per-node "
         "peer certs.", "renew-cert"),
    Signature("tls-key-mismatch", "private key does not match public key", ETCD, C,
         "A certificate and its key file do not belong together.",
         "Put back the matching key, or renew the certificate with a new key.", "renew-cert"),
)

_CORRUPTION: tuple[Signature, ...] = (
    Signature("etcd-wal-unrepairable", "failed to read WAL, cannot be repaired", ETCD, C,
         "The WAL is corrupt in the middle (or its torn tail was not recognised as torn).",
         MEMBER_LOST, "restore"),
    Signature("etcd-walpb-crc", "walpb: crc mismatch", ETCD, C,
         "A WAL record's CRC does not match: corruption mid-log (hard reboot).",
         MEMBER_LOST, "restore"),
    Signature("etcd-wal-crc", "wal: crc mismatch", ETCD, C,
         "The WAL segment chain is broken (a segment missing or swapped).",
         MEMBER_LOST, "restore"),
    Signature("etcd-wal-repair-failed", "failed to repair WAL", ETCD, C,
         "etcd found a torn WAL tail but could not repair it.", MEMBER_LOST, "restore"),
    Signature("etcd-snap-missing", "failed to find database snapshot file", ETCD, C,
         "The newest .snap index is past the db's consistent_index and no .snap.db exists.",
         MEMBER_LOST, "restore"),
    Signature("etcd-db-missing", re.compile(r"database file \(.*\) of the backend is missing"),
         ETCD, C, "The WAL exists but member/snap/db is gone.", MEMBER_LOST, "restore",
         keys=("of the backend is missing",)),
    Signature("bbolt-freepages", "freepages: failed to get all reachable pages", ETCD, C,
         "The bbolt database is corrupt (etcd#11949: members after a total power-off).",
         MEMBER_LOST, "restore"),
    Signature("bbolt-invalid", "invalid database", ETCD, C, "The bbolt database is corrupt.",
         MEMBER_LOST, "restore"),
    Signature("bbolt-checksum", "checksum error", ETCD, C, "The bbolt database is corrupt.",
         MEMBER_LOST, "restore"),
    Signature("raft-tocommit-out-of-range",
         re.compile(r"tocommit\(\d+\) is out of range \[lastIndex\(\d+\)\]"), ETCD, C,
         "The local raft log is shorter than the commit index the leader recorded (lost or "
         "torn tail, or an old data dir).", MEMBER_LOST, "restore", keys=("tocommit(",)),
)

_MEMBERSHIP: tuple[Signature, ...] = (
    Signature("etcd-member-count-unequal", "member count is unequal", ETCD, C,
         "The member was started with an --initial-cluster that does not match the current "
         "membership.",
         "Make --initial-cluster match `etcdctl member list` exactly."),
    Signature("etcd-mismatch-member", "rejected Raft message to mismatch member", ETCD, C,
         "This data dir comes from another restore (a different token or peer URLs gives a "
         "different member ID).",
         "Restore every member identically from the same snapshot, token and URLs.",
         "restore"),
    Signature("etcd-member-removed", re.compile(
        r"the member has been permanently removed from the cluster|data-dir used by this "
        r"member must be removed|rejected stream from remote peer because it was removed"),
         ETCD, C, "A removed member is running on its old data.",
         "Move its data dir aside, `etcdctl member add`, start it with "
         "--initial-cluster-state=existing.",
         keys=("the member has been permanently removed", "data-dir used by this member",
               "rejected stream from remote peer because it was removed")),
    Signature("etcd-cluster-id-mismatch", "request cluster ID mismatch", ETCD, C,
         "Restored and unrestored members are mixed, or members use different tokens.",
         "Never mix: restore all members from the same snapshot.", "restore"),
    Signature("etcd-publish-failed", re.compile(
        r"failed to publish local member to cluster through raft|publish error:"), ETCD, C,
         "This member is up but has no quorum.",
         "Start the other members; check port 2380 and the peer certificates.",
         keys=("failed to publish local member", "publish error:")),
    Signature("etcd-clock-drift", "prober found high clock drift", ETCD, W,
         "The clocks of two members differ by more than 1 s.", "Fix NTP on every node."),
    Signature("etcd-peer-inactive", re.compile(
        r"peer became inactive|lost TCP streaming connection with remote peer"), ETCD, W,
         "A peer is unreachable (down, network, or peer TLS).",
         "Start the peer; check the network on port 2380 and NTP.",
         keys=("peer became inactive", "lost TCP streaming connection")),
)

_APISERVER: tuple[Signature, ...] = (
    Signature("etcd-nospace", "mvcc: database space exceeded", APISERVER, C,
         "NOSPACE alarm: the etcd database reached its quota (default 2 GiB); writes fail.",
         "Compact, defragment every member, then `etcdctl alarm disarm`.", "defrag"),
    Signature("etcd-compacted", "required revision has been compacted", APISERVER, INF,
         "Expected after a restore with --mark-compacted: watches break and clients relist.",
         "None; clients relist by themselves."),
    Signature("etcd-peer-refused", re.compile(r"dial tcp \S+:2380: connect: connection refused"),
         ETCD, C, "A peer's port 2380 refuses connections: that member's etcd is down.",
         "Start etcd on that member; see its own log for why it stopped.", "restart",
         keys=("dial tcp ",)),
    Signature("etcd-refused", re.compile(r"dial tcp \S+: connect: connection refused"), APISERVER,
         C, "etcd is down or crash-looping on that address (nothing listens on the port).",
         "Check the etcd container/unit logs on that node; look up their lines in this "
         "table.", "restart", keys=("dial tcp ",)),
    Signature("etcd-unreachable", re.compile(
        r"dial tcp \S+: (?:i/o timeout|connect: no route to host|connect: network is "
        r"unreachable)"), APISERVER, C,
         "The etcd address does not answer at all: the node is down, or a firewall or the "
         "network drops the packets.",
         "Check that the node is up and reachable on the client port (2379).",
         keys=("dial tcp ",)),
    Signature("etcd-no-leader", re.compile(r"etcdserver: (?:no leader|leader changed)"), APISERVER,
         C, "No quorum, or an election is running.",
         "Start the missing members; check port 2380 and the peer certificates.",
         keys=("etcdserver: ",)),
    Signature("etcd-request-timeout", "etcdserver: request timed out", APISERVER, W,
         "A proposal was not committed in time: unstable quorum or slow fsync.",
         "Check the leader and the disk metrics (WAL fsync p99 < 10 ms)."),
    Signature("etcd-unhealthy", "etcd3 client is not responding", APISERVER, C,
         "The apiserver's etcd health check gets no answer.",
         "Check the members: refused, TLS or no quorum; see the lines before this one."),
    Signature("etcd-health-error", "error getting data from etcd", APISERVER, C,
         "The apiserver's /healthz etcd check failed.",
         "Check the members: refused, TLS or no quorum; see the lines before this one."),
    Signature("grpc-dial-failed", re.compile(
        r"addrConn\.createTransport failed to connect|Error while dialing"), APISERVER, W,
         "The gRPC client cannot open a connection to etcd.",
         "Check that etcd listens on its client URL and that the certificates match.",
         keys=("addrConn.createTransport failed to connect", "Error while dialing")),
    Signature("etcd-deadline", "context deadline exceeded", APISERVER, W,
         "TCP connects but etcd does not answer in time: no quorum, a TLS failure or a "
         "stalled disk.", "Check quorum, the certificates and the clock."),
)

_MARKERS: tuple[Signature, ...] = (
    Signature("log-unreadable", "blackstart: cannot read ", BLACKSTART, W,
         "blackstart could not read this log source.",
         "Check the path/unit in blackstart.toml and blackstart's access to the node."),
)

SIGNATURES: tuple[Signature, ...] = _CERTS + _CORRUPTION + _MEMBERSHIP + _APISERVER + _MARKERS

BY_ID: dict[str, Signature] = {s.id: s for s in SIGNATURES}


def signature(sig_id: str) -> Signature | None:
    """The table entry for an id stored in LogLine.signature."""
    return BY_ID.get(sig_id)
