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
from dataclasses import dataclass, field

from blackstart.checks.severity import Severity

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
class AllOf:
    """Each group has one of its substrings somewhere in the line (in any order): the
    cheap form of `A.*B`, which Python's regex engine answers by backtracking."""

    groups: tuple[tuple[str, ...], ...]

    def search(self, text: str) -> bool:
        for group in self.groups:
            for s in group:
                if s in text:
                    break
            else:
                return False
        return True


Alt = str | re.Pattern[str] | AllOf


@dataclass(frozen=True)
class Signature:
    id: str
    # A plain substring, a compiled regex, an AllOf, or a tuple of these (any of them).
    pattern: Alt | tuple[Alt, ...]
    component: str  # the log it shows up in: kube-apiserver | etcd | kubelet | blackstart
    severity: Severity
    diagnosis: str
    remedy: str
    action: str | None = None  # a runbook action name (checks.model.Action.name)
    # For regex alternatives: literals of which each of their matches contains one. With
    # the substrings (and each AllOf's first group) they feed the word index of
    # checks.formats.loglines, which decides which entries a line is tested against.
    keys: tuple[str, ...] = ()
    side: str = SERVER
    # The alternatives split once: substrings are tested first (one C call each).
    _plain: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _other: tuple[re.Pattern[str] | AllOf, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        alts = self.alternatives
        object.__setattr__(self, "_plain", tuple(a for a in alts if isinstance(a, str)))
        object.__setattr__(self, "_other", tuple(a for a in alts if not isinstance(a, str)))

    @property
    def alternatives(self) -> tuple[Alt, ...]:
        return self.pattern if isinstance(self.pattern, tuple) else (self.pattern,)

    def matches(self, text: str) -> bool:
        for lit in self._plain:
            if lit in text:
                return True
        for alt in self._other:
            if isinstance(alt, AllOf):
                if alt.search(text):
                    return True
            elif alt.search(text) is not None:
                return True
        return False

    @property
    def literals(self) -> tuple[str, ...]:
        out: list[str] = []
        for alt in self.alternatives:
            if isinstance(alt, str):
                out.append(alt)
            elif isinstance(alt, AllOf):
                out.extend(alt.groups[0])
        return (*out, *self.keys)

    @property
    def benign(self) -> bool:
        """Harmless when seen: the panel shows it dimmed, never as a problem."""
        return self.severity <= Severity.INFO


C, W, INF = Severity.CRITICAL, Severity.WARNING, Severity.INFO


def _all(*groups: str | tuple[str, ...]) -> AllOf:
    return AllOf(tuple((g,) if isinstance(g, str) else g for g in groups))


_MARKERS: tuple[Signature, ...] = (
    Signature("log-unreadable", "blackstart: cannot read ", BLACKSTART, W,
         "blackstart could not read this log source.",
         "Check the path/unit in blackstart.toml and blackstart's access to the node.",
         side=NOWHERE),
)

_BENIGN: tuple[Signature, ...] = (
    Signature("benign-canceled", (
        "operation was canceled", "handshake failed: context canceled",
        re.compile(r"Failed to dial \S+: context canceled"),
        "failed to receive watch request from gRPC", "transportMonitor returning",
        'failed to write status: connection error: desc = "transport is closing"',
        _all(('error "EOF"', '"error":"EOF"'), "rejected connection")),
         APISERVER, INF,
         "A client gave up or hung up on purpose (a canceled dial or watch, an EOF before "
         "the TLS handshake): gRPC noise of a healthy cluster (etcd#13203, talos#11797).",
         "None. Look elsewhere unless the same client also logs refused, TLS or deadline "
         "errors.", side=CLIENT,
         keys=("Failed to dial ",)),
)

_CERTS: tuple[Signature, ...] = (
    Signature("tls-key-mismatch", "private key does not match public key", ETCD, C,
         "A certificate and its key file do not belong together.",
         "Put back the matching key, or renew the certificate with a new key.", "renew-cert"),
    Signature("tls-file-missing", (
        "failed to load key pair", "failed to read ca file",
        _all("no such file or directory", (".crt:", ".key:", ".pem:"))), APISERVER, C,
         "A certificate, key or CA file the client is configured with is missing.",
         "Put the file back (or renew it: kubeadm certs renew apiserver-etcd-client) at the "
         "path the flags name.", "renew-cert", side=CLIENT),
    Signature("tls-scheme-mismatch", (
        "first record does not look like a TLS handshake",
        "server gave HTTP response to HTTPS client"), ETCD, C,
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
    Signature("etcd-cert-rejected-by-remote", _all("remote error: tls", "rejected connection"),
         ETCD, C,
         "The connecting side refused the certificate this etcd presented (`remote error`): "
         "it trusts another CA, or the server cert lacks the name it dialled.",
         "Check etcd's server.crt (or peer.crt) against the CA the clients trust and its "
         "SANs; reissue it from the cluster's etcd CA.", "renew-cert",
         keys=("remote error: tls",)),
    Signature("etcd-client-cert-rejected", _all(
        ("failed to verify client", "didn't provide a certificate", "incompatible key usage",
         "unknown certificate authority", "certificate has expired"), "rejected connection"),
         ETCD, C,
         "etcd refused a client's certificate: none sent, expired, from another CA, or "
         "without clientAuth.",
         "Renew the client certificate from the etcd CA (kubeadm certs renew "
         "apiserver-etcd-client) and point the client at it.", "renew-cert", side=CLIENT),
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
    Signature("tls-wrong-host", (_all("certificate is valid for", ", not "),
                                 "certificate is not valid for any names"), APISERVER, C,
         "The server certificate does not name the host dialled: a per-node cert copied to "
         "another node, or SANs missing the advertise IP (etcd#15740).",
         "Issue a per-node certificate with the correct SANs (node name, localhost, "
         "advertise IP, 127.0.0.1, ::1).", "renew-cert"),
    Signature("etcd-san-mismatch", "does not match any of DNSNames", ETCD, C,
         "A peer's certificate does not cover the name or IP it connects from/to: a per-node "
         "cert copied to another node (etcd#15740).",
         "Issue a per-node certificate with the correct SANs.", "renew-cert", side=PEER),
)

_CORRUPTION: tuple[Signature, ...] = (
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
    Signature("etcd-db-missing", _all("backend is missing", "database file ("),
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

_STORAGE: tuple[Signature, ...] = (
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

_TIMEOUTS = ("i/o timeout", "no route to host", "network is unreachable")
_PEER: tuple[Signature, ...] = (
    Signature("etcd-peer-refused", _all(
        "connection refused", ("2380", "peer", "on stream", "prober", "/version")), ETCD, C,
         "A peer's port (2380) refuses connections: that member's etcd is down.",
         "Start etcd on that member; see its own log for why it stopped.", "restart",
         side=PEER),
    Signature("etcd-peer-inactive", (
        "peer became inactive", "lost TCP streaming connection",
        "lost the TCP streaming connection", "prober detected unhealthy status",
        "failed to reach the peer", _all("became inactive", ("peer", "the connection with ")),
        _all("is unhealthy", "the connection to peer "),
        _all("health check for peer ", "could not connect"),
        _all(" on stream", ("failed to dial ", "failed to read ", "failed to write ")),
        _all(_TIMEOUTS, "2380")), ETCD, W,
         "A peer does not answer on 2380 (down, network, firewall, or peer TLS).",
         "Check that the peer's node is up and reachable on port 2380 (firewall, routes), "
         "then its peer certificates and NTP.", side=PEER,
         ),
)

_QUORUM: tuple[Signature, ...] = (
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

_LOAD: tuple[Signature, ...] = (
    Signature("etcd-slow-disk", ("slow fdatasync", _all("sync duration of ", ", expected")),
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

_ETCD_CLIENT = ("2379", ":4001", "addrConn", "Error while dialing", "transport: dial")
_CLIENT: tuple[Signature, ...] = (
    Signature("etcd-compacted", "required revision has been compacted", APISERVER, INF,
         "Expected after a restore with --mark-compacted: watches break and clients relist.",
         "None; clients relist by themselves.", side=CLIENT),
    Signature("etcd-refused", _all("connection refused", _ETCD_CLIENT), APISERVER, C,
         "etcd is down or crash-looping on that address (nothing listens on the client "
         "port).", "Check the etcd container/unit logs on that node; look up their lines in "
         "this table.", "restart"),
    Signature("etcd-unreachable", (
        _all(_TIMEOUTS, _ETCD_CLIENT), "are all unreachable", "exceeded header timeout",
        _all("read: connection timed out", "2379")), APISERVER, C,
         "The etcd address does not answer at all: the node is down, or a firewall or the "
         "network drops the packets.",
         "Check that the node is up and reachable on the client port (2379)."),
    Signature("etcd-unavailable", (
        "etcd cluster is unavailable or misconfigured", "All the given peers are not "
        "reachable", "cluster is unavailable", "failed to list members"), APISERVER, C,
         "No etcd endpoint the client knows answers (down, wrong URLs, or wrong scheme).",
         "Check the client's endpoint list (--etcd-servers) against the members' "
         "advertise-client-urls, then that etcd runs there."),
    Signature("etcd-request-timeout", "etcdserver: request timed out", APISERVER, W,
         "A proposal was not committed in time: unstable quorum or slow fsync.",
         "Check the leader and the disk metrics (WAL fsync p99 < 10 ms).", side=CLUSTER),
    Signature("etcd-unhealthy", "etcd3 client is not responding", APISERVER, C,
         "The apiserver's etcd health check gets no answer.", CHECK_MEMBERS),
    Signature("etcd-health-error", ("error getting data from etcd",
                                    "healthz check etcd failed", "[-]etcd failed",
                                    "etcd check failed"), APISERVER, C,
         "The apiserver's /healthz etcd check failed.", CHECK_MEMBERS),
    Signature("static-pod-crashloop", _all("CrashLoopBackOff", ("etcd", "kube-apiserver")),
         KUBELET, W,
         "kubelet keeps restarting a control-plane static pod: the container exits at once.",
         "Read that container's own log (crictl logs, /var/log/pods/…); its last lines say "
         "why.", side=NODE),
    Signature("grpc-dial-failed", ("addrConn.createTransport failed to connect",
                                   "Error while dialing"), APISERVER, W,
         "The gRPC client cannot open a connection to etcd.",
         "Check that etcd listens on its client URL and that the certificates match."),
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
