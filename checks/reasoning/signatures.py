"""The table of known log lines of etcd, kube-apiserver and kubelet during an outage.

Each entry is a class of lines an SRE recognises: what it means, which side of the system
it is about (`side`), and what to do. Sources: ETCD_FACTS §3 (both tables) and the real
lines of tests/data/logs/corpus.toml (public issues and docs, with provenance), which
`bench/log_classes.py` and tests/checks/test_log_corpus.py score this table against.

`checks.formats.loglines.classify` returns the FIRST entry that matches, so order matters:
harmless noise first (its wording overlaps real failures: "Error while dialing … operation
was canceled"), then specific causes (certificates, corruption, membership, the peer link)
before the generic symptoms (refused, deadline exceeded) that the same line often also
carries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from blackstart.checks.model import Severity

APISERVER = "kube-apiserver"
ETCD = "etcd"
KUBELET = "kubelet"
BLACKSTART = "blackstart"  # markers blackstart writes itself (e.g. an unreadable source)

# `side`: what the line is about, so the remedy lands on the right thing.
CLIENT = "client"  # the connecting side: kube-apiserver / etcdctl, its client cert and config
SERVER = "server"  # etcd's client port (2379): the process, its server certificate
PEER = "peer"  # the member-to-member link (2380): peer process, peer certs, network
MEMBER = "member"  # one member's own data dir (WAL, snap, db) or its own load
CLUSTER = "cluster"  # membership and quorum as a whole
NODE = "node"  # the host: disk, clock, kubelet
NOWHERE = "none"  # markers about blackstart's own reading
SIDES = (CLIENT, SERVER, PEER, MEMBER, CLUSTER, NODE, NOWHERE)

MEMBER_LOST = (
    "Member is lost. If quorum holds: member remove, wipe its data dir, member add, start "
    "with --initial-cluster-state=existing. If quorum is gone: restore all members from the "
    "best snapshot (or the best member's member/snap/db with --skip-hash-check and a "
    "revision bump)."
)
CHECK_MEMBERS = "Check the members: refused, TLS or no quorum; see the lines before this one."


@dataclass(frozen=True)
class Signature:
    id: str
    pattern: str | re.Pattern[str]  # a plain substring, or a compiled regex
    component: str  # the log it shows up in: kube-apiserver | etcd | kubelet | blackstart
    severity: Severity
    diagnosis: str
    remedy: str
    action: str | None = None  # a runbook action name (checks.model.Action.name)
    # For a regex pattern: literals of which every match contains at least one. They feed
    # the fast pre-filter in checks.formats.loglines; a plain substring is its own literal.
    keys: tuple[str, ...] = ()
    side: str = SERVER

    def matches(self, text: str) -> bool:
        if isinstance(self.pattern, str):
            return self.pattern in text
        return self.pattern.search(text) is not None

    @property
    def literals(self) -> tuple[str, ...]:
        return (self.pattern,) if isinstance(self.pattern, str) else self.keys

    @property
    def benign(self) -> bool:
        """Harmless when seen: the panel shows it dimmed, never as a problem."""
        return self.severity <= Severity.INFO


C, W, INF = Severity.CRITICAL, Severity.WARNING, Severity.INFO


def _rx(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{a})" for a in alternatives))


_MARKERS: tuple[Signature, ...] = (
    Signature("log-unreadable", "blackstart: cannot read ", BLACKSTART, W,
         "blackstart could not read this log source.",
         "Check the path/unit in blackstart.toml and blackstart's access to the node.",
         side=NOWHERE),
)

_BENIGN: tuple[Signature, ...] = (
    Signature("benign-canceled", _rx(
        r"operation was canceled", r"handshake failed: context canceled",
        r"Failed to dial \S+: context canceled", r"failed to receive watch request from gRPC",
        r"transportMonitor returning", r"failed to write status: connection error: desc = "
        r"\"transport is closing\"", r"rejected connection[^\n]*(?:error \"EOF\"|"
        r"\"error\":\"EOF\")"),
         APISERVER, INF,
         "A client gave up or hung up on purpose (a canceled dial or watch, an EOF before "
         "the TLS handshake): gRPC noise of a healthy cluster (etcd#13203, talos#11797).",
         "None. Look elsewhere unless the same client also logs refused, TLS or deadline "
         "errors.", side=CLIENT,
         keys=("operation was canceled", "handshake failed: context canceled",
               "Failed to dial ", "failed to receive watch request",
               "transportMonitor returning", "transport is closing", "EOF")),
)

_CERTS: tuple[Signature, ...] = (
    Signature("tls-key-mismatch", "private key does not match public key", ETCD, C,
         "A certificate and its key file do not belong together.",
         "Put back the matching key, or renew the certificate with a new key.", "renew-cert"),
    Signature("tls-file-missing", _rx(
        r"failed to load key pair", r"failed to read ca file",
        r"open \S+\.(?:crt|key|pem): no such file or directory"), APISERVER, C,
         "A certificate, key or CA file the client is configured with is missing.",
         "Put the file back (or renew it: kubeadm certs renew apiserver-etcd-client) at the "
         "path the flags name.", "renew-cert", side=CLIENT,
         keys=("failed to load key pair", "failed to read ca file", "no such file")),
    Signature("tls-scheme-mismatch", _rx(
        r"first record does not look like a TLS handshake",
        r"server gave HTTP response to HTTPS client"), ETCD, C,
         "One side speaks plain HTTP to a TLS port (or the reverse): an http:// URL where "
         "https:// is served.",
         "Make the client and peer URLs use the scheme the listener serves (https with "
         "--cert-file, http without).", side=CLIENT,
         keys=("first record does not look like a TLS handshake",
               "server gave HTTP response to HTTPS client")),
    Signature("etcd-peer-rejected", "rejected connection on peer endpoint", ETCD, C,
         "etcd refused a peer TLS connection: CA mismatch, expired peer cert or wrong SANs.",
         "Check the peer certificates of every member against etcd/ca.crt; issue per-node "
         "peer certs.", "renew-cert", side=PEER),
    Signature("etcd-cert-rejected-by-remote", re.compile(
        r"rejected connection[^\n]*remote error: tls"), ETCD, C,
         "The connecting side refused the certificate this etcd presented (`remote error`): "
         "it trusts another CA, or the server cert lacks the name it dialled.",
         "Check etcd's server.crt (or peer.crt) against the CA the clients trust and its "
         "SANs; reissue it from the cluster's etcd CA.", "renew-cert",
         keys=("remote error: tls",)),
    Signature("etcd-client-cert-rejected", re.compile(
        r"rejected connection[^\n]*(?:failed to verify client|didn't provide a certificate|"
        r"incompatible key usage|unknown certificate authority|certificate has expired)"),
         ETCD, C,
         "etcd refused a client's certificate: none sent, expired, from another CA, or "
         "without clientAuth.",
         "Renew the client certificate from the etcd CA (kubeadm certs renew "
         "apiserver-etcd-client) and point the client at it.", "renew-cert", side=CLIENT,
         keys=("failed to verify client", "didn't provide a certificate",
               "incompatible key usage", "unknown certificate authority",
               "certificate has expired")),
    Signature("tls-expired", "certificate has expired", APISERVER, C,
         "A certificate on this connection is expired or not yet valid. Seen by a client it "
         "is the server's (etcd's server.crt when the apiserver logs it, k8s#122639), or "
         "the node clock is wrong after the power loss.",
         "Check the clock first, then NotBefore/NotAfter of every etcd certificate; renew "
         "the one at fault.", "renew-cert"),
    Signature("tls-remote-expired", "remote error: tls: expired certificate", APISERVER, C,
         "The other side rejected this side's client certificate as expired (or the clocks "
         "disagree).",
         "Check the clock first, then renew the client certificate (apiserver-etcd-client, "
         "or the member's peer cert).", "renew-cert", side=CLIENT),
    Signature("tls-bad-certificate", "remote error: tls: bad certificate", APISERVER, C,
         "etcd rejected the client certificate: expired, signed by another CA, or missing "
         "clientAuth.",
         "Renew apiserver-etcd-client from the etcd CA (kubeadm certs renew "
         "apiserver-etcd-client).", "renew-cert", side=CLIENT),
    Signature("tls-unknown-authority", "certificate signed by unknown authority", APISERVER, C,
         "CA mismatch: the server's certificate was signed by a CA the client does not "
         "trust (a cert from another cluster, or a re-generated CA).",
         "Issue the certificate from the cluster's etcd CA; make every node use the same "
         "etcd/ca.crt.", "renew-cert"),
    Signature("tls-wrong-host", re.compile(r"certificate is (?:valid for .+, not \S+|not valid "
                                           r"for any names)"), APISERVER, C,
         "The server certificate does not name the host dialled: a per-node cert copied to "
         "another node, or SANs missing the advertise IP (etcd#15740).",
         "Issue a per-node certificate with the correct SANs (node name, localhost, "
         "advertise IP, 127.0.0.1, ::1).", "renew-cert", keys=("certificate is ",)),
    Signature("etcd-san-mismatch", "does not match any of DNSNames", ETCD, C,
         "A peer's certificate does not cover the name or IP it connects from/to: a per-node "
         "cert copied to another node (etcd#15740).",
         "Issue a per-node certificate with the correct SANs.", "renew-cert", side=PEER),
)

_CORRUPTION: tuple[Signature, ...] = (
    Signature("etcd-wal-unrepairable", _rx(
        r"failed to read WAL, cannot be repaired", r"read wal error"), ETCD, C,
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
    Signature("etcd-wal-repaired", _rx(r"repaired WAL", r"wal: repairing ",
                                       r"\"msg\":\"repair(?:ing|ed)\""), ETCD, INF,
         "etcd cut a torn last WAL record after a crash and carried on (etcd 3.4 writes "
         "`repaired WAL error (unexpected EOF)`): expected after a power loss.",
         "None, if the member then starts; only the unacknowledged last write is gone.",
         side=MEMBER, keys=("repaired WAL", "wal: repairing ", "\"msg\":\"repair")),
    Signature("etcd-snap-missing", _rx(
        r"failed to find database snapshot file", r"snap: snapshot file doesn't exist",
        r"database snapshot file path error", r"recovering backend from snapshot error",
        r"failed to recover v3 backend from snapshot"), ETCD, C,
         "The newest .snap index is past the db's consistent_index and no .snap.db exists "
         "(etcd#11949, #12237).", MEMBER_LOST, "restore", side=MEMBER,
         keys=("failed to find database snapshot file", "snapshot file doesn't exist",
               "database snapshot file path error", "recovering backend from snapshot",
               "failed to recover v3 backend")),
    Signature("etcd-db-missing", re.compile(r"database file \(.*\) of (?:the )?backend is "
                                            r"missing"),
         ETCD, C, "The WAL exists but member/snap/db is gone.", MEMBER_LOST, "restore",
         side=MEMBER, keys=("backend is missing",)),
    Signature("bbolt-freepages", "freepages: failed to get all reachable pages", ETCD, C,
         "The bbolt database is corrupt (etcd#11949: members after a total power-off).",
         MEMBER_LOST, "restore", side=MEMBER),
    Signature("bbolt-invalid", "invalid database", ETCD, C, "The bbolt database is corrupt.",
         MEMBER_LOST, "restore", side=MEMBER),
    Signature("bbolt-checksum", "checksum error", ETCD, C, "The bbolt database is corrupt.",
         MEMBER_LOST, "restore", side=MEMBER),
    Signature("raft-tocommit-out-of-range", _rx(
        r"tocommit\(\d+\) is out of range \[lastIndex\(\d+\)\]",
        r"state\.commit \d+ is out of range"), ETCD, C,
         "The local raft log is shorter than the commit index the leader recorded (lost or "
         "torn tail, or an old data dir).", MEMBER_LOST, "restore", side=MEMBER,
         keys=("tocommit(", "state.commit ")),
)

_STORAGE: tuple[Signature, ...] = (
    Signature("etcd-nospace", _rx(r"database space exceeded", r"etcdserver: no space",
                                  r"alarm:NOSPACE", r"\"alarm\":\"NOSPACE\""), APISERVER, C,
         "NOSPACE alarm: the etcd database reached its quota (default 2 GiB); writes fail.",
         "Compact, defragment every member, then `etcdctl alarm disarm`.", "defrag",
         side=CLUSTER, keys=("database space exceeded", "etcdserver: no space", "NOSPACE")),
    Signature("disk-full", "no space left on device", ETCD, C,
         "The node's disk is full: etcd cannot write its WAL or db.",
         "Free space on the data dir's filesystem (old logs, images), never by deleting WAL "
         "or snap files; then restart etcd.", side=NODE),
)

_MEMBERSHIP: tuple[Signature, ...] = (
    Signature("etcd-member-count-unequal", "member count is unequal", ETCD, C,
         "The member was started with an --initial-cluster that does not match the current "
         "membership.",
         "Make --initial-cluster match `etcdctl member list` exactly.", side=MEMBER),
    Signature("etcd-mismatch-member", "rejected Raft message to mismatch member", ETCD, C,
         "This data dir comes from another restore (a different token or peer URLs gives a "
         "different member ID).",
         "Restore every member identically from the same snapshot, token and URLs.",
         "restore", side=MEMBER),
    Signature("etcd-member-removed", _rx(
        r"the member has been permanently removed from the cluster",
        r"data-dir used by this member must be removed",
        r"rejected stream from remote peer because it was removed",
        r"since it was removed"),
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
    Signature("etcd-publish-failed", _rx(
        r"failed to publish local member to cluster through raft", r"publish error:"),
         ETCD, C, "This member is up but has no quorum.",
         "Start the other members; check port 2380 and the peer certificates.",
         side=CLUSTER, keys=("failed to publish local member", "publish error:")),
    Signature("etcd-clock-drift", _rx(r"prober found high clock drift",
                                      r"clock difference against peer"), ETCD, W,
         "The clocks of two members differ by more than 1 s.", "Fix NTP on every node.",
         side=NODE, keys=("prober found high clock drift", "clock difference against peer")),
)

_PEER_PORT = r":\d*2380\b"
_PEER: tuple[Signature, ...] = (
    Signature("etcd-peer-refused", _rx(
        _PEER_PORT + r"[^\n]*connection refused",
        r"(?:peer|on stream|prober|/version)[^\n]*connection refused"), ETCD, C,
         "A peer's port (2380) refuses connections: that member's etcd is down.",
         "Start etcd on that member; see its own log for why it stopped.", "restart",
         side=PEER, keys=("connection refused",)),
    Signature("etcd-peer-inactive", _rx(
        r"peer became inactive", r"lost (?:the )?TCP streaming connection",
        r"the connection to peer \S+ is unhealthy", r"the connection with \S+ became inactive",
        r"peer \S+ became inactive", r"health check for peer \S+ could not connect",
        r"prober detected unhealthy status", r"failed to (?:dial|read|write) \S+ on stream",
        r"failed to reach the peer ?URL",
        _PEER_PORT + r": (?:i/o timeout|connect: no route to host|connect: network is "
                     r"unreachable)"), ETCD, W,
         "A peer does not answer on 2380 (down, network, firewall, or peer TLS).",
         "Check that the peer's node is up and reachable on port 2380 (firewall, routes), "
         "then its peer certificates and NTP.", side=PEER,
         keys=("peer became inactive", "TCP streaming connection", "the connection to peer ",
               "became inactive", "health check for peer ", "prober detected unhealthy",
               " on stream", "failed to reach the peer", "2380: ")),
)

_QUORUM: tuple[Signature, ...] = (
    Signature("etcd-no-leader", _rx(r"etcdserver: (?:no leader|leader changed)",
                                    r"has no leader", r"quorum is not active"), APISERVER, C,
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

_LOAD: tuple[Signature, ...] = (
    Signature("etcd-slow-disk", _rx(r"slow fdatasync", r"sync duration of \S+, expected"),
         ETCD, W,
         "The disk is slow: a WAL fsync took over 1 s (p99 should be < 10 ms).",
         "Move the data dir to a dedicated SSD; find what else writes to that disk.",
         side=NODE, keys=("slow fdatasync", "sync duration of ")),
    Signature("etcd-overloaded", _rx(
        r"took too long", r"server is likely overloaded",
        r"failed to send out heartbeat on time", r"avoid queries with large range",
        r"timed out waiting for read index response"), ETCD, W,
         "etcd is overloaded: requests or heartbeats take too long (slow disk, CPU "
         "starvation, or expensive range queries).",
         "Check WAL fsync and backend commit latency, CPU steal and large range requests.",
         side=MEMBER, keys=("took too long", "likely overloaded", "heartbeat on time",
                            "avoid queries with large range",
                            "waiting for read index response")),
)

_CLIENT_PORT = r":(?:\d*2379|4001)\b"
_CLIENT: tuple[Signature, ...] = (
    Signature("etcd-compacted", "required revision has been compacted", APISERVER, INF,
         "Expected after a restore with --mark-compacted: watches break and clients relist.",
         "None; clients relist by themselves.", side=CLIENT),
    Signature("etcd-refused", _rx(
        r"dial tcp \S*" + _CLIENT_PORT + r"[^\n]*?connection refused",
        r"(?:addrConn|Error while dialing|transport: dial)[^\n]*connection refused"),
         APISERVER, C,
         "etcd is down or crash-looping on that address (nothing listens on the client "
         "port).", "Check the etcd container/unit logs on that node; look up their lines in "
         "this table.", "restart", keys=("connection refused",)),
    Signature("etcd-unreachable", _rx(
        r"dial tcp \S*" + _CLIENT_PORT + r": (?:i/o timeout|connect: no route to host|"
        r"connect: network is unreachable)",
        r"(?:addrConn|Error while dialing)[^\n]*(?:i/o timeout|no route to host|network is "
        r"unreachable)", r"are all unreachable", r"exceeded header timeout",
        _CLIENT_PORT + r": read: connection timed out"), APISERVER, C,
         "The etcd address does not answer at all: the node is down, or a firewall or the "
         "network drops the packets.",
         "Check that the node is up and reachable on the client port (2379).",
         keys=("i/o timeout", "no route to host", "network is unreachable",
               "are all unreachable", "exceeded header timeout", "connection timed out")),
    Signature("etcd-unavailable", _rx(
        r"etcd cluster is unavailable or misconfigured", r"All the given peers are not "
        r"reachable", r"cluster is unavailable", r"failed to list members"), APISERVER, C,
         "No etcd endpoint the client knows answers (down, wrong URLs, or wrong scheme).",
         "Check the client's endpoint list (--etcd-servers) against the members' "
         "advertise-client-urls, then that etcd runs there.",
         keys=("cluster is unavailable", "All the given peers are not reachable",
               "failed to list members")),
    Signature("etcd-request-timeout", "etcdserver: request timed out", APISERVER, W,
         "A proposal was not committed in time: unstable quorum or slow fsync.",
         "Check the leader and the disk metrics (WAL fsync p99 < 10 ms).", side=CLUSTER),
    Signature("etcd-unhealthy", "etcd3 client is not responding", APISERVER, C,
         "The apiserver's etcd health check gets no answer.", CHECK_MEMBERS),
    Signature("etcd-health-error", _rx(r"error getting data from etcd",
                                       r"healthz check etcd failed", r"\[-\]etcd failed",
                                       r"etcd check failed"), APISERVER, C,
         "The apiserver's /healthz etcd check failed.", CHECK_MEMBERS,
         keys=("error getting data from etcd", "healthz check etcd failed", "[-]etcd failed",
               "etcd check failed")),
    Signature("static-pod-crashloop", re.compile(
        r"CrashLoopBackOff[^\n]*(?:etcd|kube-apiserver)"), KUBELET, W,
         "kubelet keeps restarting a control-plane static pod: the container exits at once.",
         "Read that container's own log (crictl logs, /var/log/pods/…); its last lines say "
         "why.", side=NODE, keys=("CrashLoopBackOff",)),
    Signature("grpc-dial-failed", _rx(r"addrConn\.createTransport failed to connect",
                                      r"Error while dialing"), APISERVER, W,
         "The gRPC client cannot open a connection to etcd.",
         "Check that etcd listens on its client URL and that the certificates match.",
         keys=("addrConn.createTransport failed to connect", "Error while dialing")),
    Signature("etcd-deadline", "context deadline exceeded", APISERVER, W,
         "TCP connects but etcd does not answer in time: no quorum, a TLS failure or a "
         "stalled disk.", "Check quorum, the certificates and the clock."),
)

SIGNATURES: tuple[Signature, ...] = (_MARKERS + _BENIGN + _CERTS + _CORRUPTION + _STORAGE
                                     + _MEMBERSHIP + _PEER + _QUORUM + _LOAD + _CLIENT)

BY_ID: dict[str, Signature] = {s.id: s for s in SIGNATURES}


def signature(sig_id: str) -> Signature | None:
    """The table entry for an id stored in LogLine.signature."""
    return BY_ID.get(sig_id)
