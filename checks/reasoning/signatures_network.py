"""Log signatures of the connections: the peer link (2380) refused or silent, and the
client side (kube-apiserver, kubelet) finding etcd refused, unreachable, unavailable, slow
or unhealthy on its client port (2379)."""

from __future__ import annotations

from blackstart.checks.reasoning.signature_type import (
    APISERVER,
    CLIENT,
    CLUSTER,
    ETCD,
    INF,
    KUBELET,
    NODE,
    PEER,
    C,
    Signature,
    W,
    all_of,
)

CHECK_MEMBERS = "Check the members: refused, TLS or no quorum; see the lines before this one."

_TIMEOUTS = ("i/o timeout", "no route to host", "network is unreachable")
PEER_SIGNATURES: tuple[Signature, ...] = (
    Signature("etcd-peer-refused", all_of(
        "connection refused", ("2380", "peer", "on stream", "prober", "/version")), ETCD, C,
         "A peer's port (2380) refuses connections: that member's etcd is down.",
         "Start etcd on that member; see its own log for why it stopped.", "restart",
         side=PEER),
    Signature("etcd-peer-inactive", (
        "peer became inactive", "lost TCP streaming connection",
        "lost the TCP streaming connection", "prober detected unhealthy status",
        "failed to reach the peer", all_of("became inactive", ("peer", "the connection with ")),
        all_of("is unhealthy", "the connection to peer "),
        all_of("health check for peer ", "could not connect"),
        all_of(" on stream", ("failed to dial ", "failed to read ", "failed to write ")),
        all_of(_TIMEOUTS, "2380")), ETCD, W,
         "A peer does not answer on 2380 (down, network, firewall, or peer TLS).",
         "Check that the peer's node is up and reachable on port 2380 (firewall, routes), "
         "then its peer certificates and NTP.", side=PEER,
         ),
)

_ETCD_CLIENT = ("2379", ":4001", "addrConn", "Error while dialing", "transport: dial")
CLIENT_SIGNATURES: tuple[Signature, ...] = (
    Signature("etcd-compacted", "required revision has been compacted", APISERVER, INF,
         "Expected after a restore with --mark-compacted: watches break and clients relist.",
         "None; clients relist by themselves.", side=CLIENT),
    Signature("etcd-refused", all_of("connection refused", _ETCD_CLIENT), APISERVER, C,
         "etcd is down or crash-looping on that address (nothing listens on the client "
         "port).", "Check the etcd container/unit logs on that node; look up their lines in "
         "this table.", "restart"),
    Signature("etcd-unreachable", (
        all_of(_TIMEOUTS, _ETCD_CLIENT), "are all unreachable", "exceeded header timeout",
        all_of("read: connection timed out", "2379")), APISERVER, C,
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
    Signature("static-pod-crashloop", all_of("CrashLoopBackOff", ("etcd", "kube-apiserver")),
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
