"""Log signatures of TLS and certificates: key mismatch, missing files, wrong scheme,
rejected peer and client certificates, expired, unknown CA and wrong host names, seen from
etcd's side and from its clients'."""

from __future__ import annotations

from blackstart.checks.reasoning.signature_type import (
    APISERVER,
    CLIENT,
    ETCD,
    PEER,
    C,
    Signature,
    all_of,
)

CERT_SIGNATURES: tuple[Signature, ...] = (
    Signature("tls-key-mismatch", "private key does not match public key", ETCD, C,
         "A certificate and its key file do not belong together.",
         "Put back the matching key, or renew the certificate with a new key.", "renew-cert"),
    Signature("tls-file-missing", (
        "failed to load key pair", "failed to read ca file",
        all_of("no such file or directory", (".crt:", ".key:", ".pem:"))), APISERVER, C,
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
    Signature("etcd-cert-rejected-by-remote", all_of("remote error: tls", "rejected connection"),
         ETCD, C,
         "The connecting side refused the certificate this etcd presented (`remote error`): "
         "it trusts another CA, or the server cert lacks the name it dialled.",
         "Check etcd's server.crt (or peer.crt) against the CA the clients trust and its "
         "SANs; reissue it from the cluster's etcd CA.", "renew-cert",
         keys=("remote error: tls",)),
    Signature("etcd-client-cert-rejected", all_of(
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
    Signature("tls-wrong-host", (all_of("certificate is valid for", ", not "),
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
