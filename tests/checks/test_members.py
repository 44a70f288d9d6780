"""checks.probes.members: the pure parts (versions, quorum, wire fields, error wording)."""

from __future__ import annotations

import ssl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blackstart.checks.formats.proto_wire import proto_fields
from blackstart.checks.probe_results import MemberState
from blackstart.checks.probes.member_dial import parse_target
from blackstart.checks.probes.member_status import classify_grpc, fill_status
from blackstart.checks.probes.member_tls_blame import go_wording
from blackstart.checks.probes.members import quorum
from blackstart.checks.versions import known_bad_version


@pytest.mark.parametrize("v", ["3.5.0", "3.5.1", "3.5.2", "v3.5.2"])
def test_bad_versions_are_flagged(v: str) -> None:
    why = known_bad_version(v)
    assert why is not None and "3.5.3" in why and "hashkv" in why


@pytest.mark.parametrize("v", ["3.5.3", "3.5.17", "3.4.23", "3.6.0", "", None, "garbage"])
def test_other_versions_are_not(v: str | None) -> None:
    assert known_bad_version(v) is None


def states(*healthy: bool) -> list[MemberState]:
    return [MemberState(name=f"m{i}", endpoint="", healthy=h) for i, h in enumerate(healthy)]


def test_quorum_arithmetic() -> None:
    assert quorum(states(True, True, False), 3) == (2, 3, 2)
    assert quorum(states(True, False, False), 3) == (1, 3, 2)
    assert quorum(states(True, True, True, False, False), 5) == (3, 5, 3)
    # a configured member the inventory could not even list still counts in the total
    assert quorum(states(True, True), 4) == (2, 4, 3)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


@given(st.dictionaries(st.integers(1, 200), st.integers(0, 2**63 - 1), max_size=10),
       st.binary(max_size=40))
def test_proto_fields_reads_varints_and_bytes(ints: dict[int, int], blob: bytes) -> None:
    raw = b"".join(_varint(k << 3) + _varint(v) for k, v in ints.items())
    raw += _varint((201 << 3) | 2) + _varint(len(blob)) + blob
    fields = proto_fields(raw)
    for k, v in ints.items():
        assert fields[k] == [v]
    assert fields[201] == [blob]


@given(st.binary(max_size=200))
def test_proto_fields_never_raises_on_garbage(raw: bytes) -> None:
    proto_fields(raw)


def test_status_with_db_size_in_use_from_unknown_field() -> None:
    from etcd3 import etcdrpc

    resp = etcdrpc.StatusResponse(version="3.5.9", dbSize=4096, leader=7, raftIndex=10,
                                  raftTerm=3)
    resp.header.member_id = 7
    resp.header.revision = 42
    # dbSizeInUse (field 9) is newer than the etcd3 package's proto: append it on the wire
    raw = resp.SerializeToString() + _varint(9 << 3) + _varint(2048)
    parsed = etcdrpc.StatusResponse.FromString(raw)
    state = MemberState(name="m1", endpoint="https://127.0.0.1:2379")
    fill_status(state, parsed)
    assert state.healthy and state.leader
    assert (state.member_id, state.leader_id) == ("7", "7")
    assert (state.revision, state.raft_term, state.raft_index) == (42, 3, 10)
    assert (state.db_size, state.db_size_in_use, state.version) == (4096, 2048, "3.5.9")


def test_status_without_leader_is_not_healthy() -> None:
    from etcd3 import etcdrpc

    resp = etcdrpc.StatusResponse(version="3.5.9", leader=0)
    resp.header.member_id = 7
    state = MemberState(name="m1", endpoint="x")
    fill_status(state, resp)
    assert not state.healthy and state.leader_id is None
    assert state.error is not None and "no leader" in state.error


def test_verify_errors_blame_the_server_side() -> None:
    exc = ssl.SSLCertVerificationError(1, "certificate verify failed")
    exc.verify_code, exc.verify_message = 10, "certificate has expired"
    assert go_wording(exc) == ("server", "x509: certificate has expired or is not yet valid")
    exc.verify_code = 20
    assert go_wording(exc)[1] == "x509: certificate signed by unknown authority"


@pytest.mark.parametrize(("reason", "text"), [
    ("SSLV3_ALERT_BAD_CERTIFICATE", "remote error: tls: bad certificate"),
    ("SSLV3_ALERT_CERTIFICATE_EXPIRED", "remote error: tls: expired certificate"),
    ("TLSV1_ALERT_UNKNOWN_CA", "remote error: tls: unknown certificate authority"),
])
def test_alerts_blame_the_client_side(reason: str, text: str) -> None:
    exc = ssl.SSLError(1, f"[SSL: {reason}] alert")
    exc.reason = reason
    assert go_wording(exc) == ("client", text)


def test_grpc_classes() -> None:
    import grpc

    class Err(grpc.RpcError):
        def __init__(self, code: grpc.StatusCode, details: str) -> None:
            self._c, self._d = code, details

        def code(self) -> grpc.StatusCode:
            return self._c

        def details(self) -> str:
            return self._d

    assert classify_grpc(Err(grpc.StatusCode.DEADLINE_EXCEEDED, "x"))[0] == "timeout"
    assert classify_grpc(Err(grpc.StatusCode.UNAVAILABLE,
                             "failed to connect: Connection refused"))[0] == "refused"
    assert classify_grpc(Err(grpc.StatusCode.UNAVAILABLE, "Ssl handshake failed"))[0] == "tls"
    assert classify_grpc(ValueError("odd"))[0] == "unknown"


def test_targets() -> None:
    assert parse_target("https://127.0.0.1:2379") == parse_target("127.0.0.1:2379")
    t = parse_target("http://[::1]:12379")
    assert (t.host, t.port, t.secure) == ("::1", 12379, False)
    with pytest.raises(ValueError):
        parse_target("https://:2379")
