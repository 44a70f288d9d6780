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

This module holds that order and the two small groups that must come first (blackstart's
own markers, harmless noise); the entries by subject are in `signatures_tls`,
`signatures_storage`, `signatures_cluster` and `signatures_network`, and what an entry is
in `signature_type`.
"""

from __future__ import annotations

import re

from blackstart.checks.reasoning.signature_type import (
    APISERVER,
    BLACKSTART,
    CLIENT,
    INF,
    NOWHERE,
    Signature,
    W,
    all_of,
)
from blackstart.checks.reasoning.signatures_cluster import (
    LOAD_SIGNATURES,
    MEMBERSHIP_SIGNATURES,
    QUORUM_SIGNATURES,
)
from blackstart.checks.reasoning.signatures_network import CLIENT_SIGNATURES, PEER_SIGNATURES
from blackstart.checks.reasoning.signatures_storage import (
    CORRUPTION_SIGNATURES,
    STORAGE_SIGNATURES,
)
from blackstart.checks.reasoning.signatures_tls import CERT_SIGNATURES

MARKER_SIGNATURES: tuple[Signature, ...] = (
    Signature("log-unreadable", "blackstart: cannot read ", BLACKSTART, W,
         "blackstart could not read this log source.",
         "Check the path/unit in blackstart.toml and blackstart's access to the node.",
         side=NOWHERE),
)

BENIGN_SIGNATURES: tuple[Signature, ...] = (
    Signature("benign-canceled", (
        "operation was canceled", "handshake failed: context canceled",
        re.compile(r"Failed to dial \S+: context canceled"),
        "failed to receive watch request from gRPC", "transportMonitor returning",
        'failed to write status: connection error: desc = "transport is closing"',
        all_of(('error "EOF"', '"error":"EOF"'), "rejected connection")),
         APISERVER, INF,
         "A client gave up or hung up on purpose (a canceled dial or watch, an EOF before "
         "the TLS handshake): gRPC noise of a healthy cluster (etcd#13203, talos#11797).",
         "None. Look elsewhere unless the same client also logs refused, TLS or deadline "
         "errors.", side=CLIENT,
         keys=("Failed to dial ",)),
)

SIGNATURES: tuple[Signature, ...] = (
    MARKER_SIGNATURES + BENIGN_SIGNATURES + CERT_SIGNATURES + CORRUPTION_SIGNATURES
    + STORAGE_SIGNATURES + MEMBERSHIP_SIGNATURES + PEER_SIGNATURES + QUORUM_SIGNATURES
    + LOAD_SIGNATURES + CLIENT_SIGNATURES)

BY_ID: dict[str, Signature] = {s.id: s for s in SIGNATURES}


def signature(sig_id: str) -> Signature | None:
    """The table entry for an id stored in LogLine.signature."""
    return BY_ID.get(sig_id)
