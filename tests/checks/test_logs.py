"""checks.formats.loglines and checks.reasoning.signatures: real failure strings,
CRI/klog/journald framing, tails."""

from __future__ import annotations

import json

import pytest

from blackstart.checks.formats.loglines import (
    classify,
    join_cri,
    parse_cri_line,
    parse_journald_json,
    parse_klog,
    parse_lines,
    parse_zap_json,
    tail_lines,
)
from blackstart.checks.reasoning.signature_type import SIDES
from blackstart.checks.reasoning.signatures import BY_ID, SIGNATURES
from blackstart.checks.severity import Severity

# Every string of ETCD_FACTS §3 (both tables), in the form it shows up in a log line,
# with the signature it must get.
FACTS_STRINGS = [
    ("dial tcp 127.0.0.1:2379: connect: connection refused", "etcd-refused"),
    ("Error: context deadline exceeded", "etcd-deadline"),
    ("context deadline exceeded", "etcd-deadline"),
    ("etcdserver: request timed out", "etcd-request-timeout"),
    ("etcdserver: request timed out, possibly due to previous leader failure",
     "etcd-request-timeout"),
    ("etcdserver: request timed out, possibly due to connection lost",
     "etcd-request-timeout"),
    ("etcdserver: no leader", "etcd-no-leader"),
    ("etcdserver: leader changed", "etcd-no-leader"),
    ("x509: certificate has expired or is not yet valid", "tls-expired"),
    ("transport: authentication handshake failed: remote error: tls: bad certificate",
     "tls-bad-certificate"),
    ("x509: certificate signed by unknown authority", "tls-unknown-authority"),
    ("x509: certificate is valid for etcd1, localhost, not etcd2", "tls-wrong-host"),
    ('rejected connection on peer endpoint {"remote-addr": "127.0.0.2:40000"}',
     "etcd-peer-rejected"),
    ("x509: certificate is valid for 127.0.0.1, not 127.0.0.2 does not match any of "
     "DNSNames", "tls-wrong-host"),
    ('"error":"tls: \\"127.0.0.2\\" does not match any of DNSNames [\\"etcd1\\"]"',
     "etcd-san-mismatch"),
    ("etcdserver: mvcc: database space exceeded", "etcd-nospace"),
    ("mvcc: required revision has been compacted", "etcd-compacted"),
    ("walpb: crc mismatch", "etcd-walpb-crc"),
    ("failed to read WAL, cannot be repaired", "etcd-wal-unrepairable"),
    ("wal: crc mismatch", "etcd-wal-crc"),
    ("failed to find database snapshot file (snap: snapshot file doesn't exist)",
     "etcd-snap-missing"),
    ("freepages: failed to get all reachable pages", "bbolt-freepages"),
    ("invalid database", "bbolt-invalid"),
    ("checksum error", "bbolt-checksum"),
    ("tocommit(1234) is out of range [lastIndex(1200)]. Was the raft log corrupted, "
     "truncated, or lost?", "raft-tocommit-out-of-range"),
    ("database file (/var/lib/etcd/member/snap/db index 1200) of the backend is missing",
     "etcd-db-missing"),
    ("member count is unequal", "etcd-member-count-unequal"),
    ('rejected Raft message to mismatch member {"mismatch-member-id": "8e9e05c52164694d"}',
     "etcd-mismatch-member"),
    ("the member has been permanently removed from the cluster", "etcd-member-removed"),
    ("data-dir used by this member must be removed", "etcd-member-removed"),
    ("rejected stream from remote peer because it was removed", "etcd-member-removed"),
    ("request cluster ID mismatch", "etcd-cluster-id-mismatch"),
    ("failed to publish local member to cluster through raft", "etcd-publish-failed"),
    ("publish error: etcdserver: request timed out", "etcd-publish-failed"),
    ("prober found high clock drift", "etcd-clock-drift"),
    ("peer became inactive (message send to peer failed)", "etcd-peer-inactive"),
    ("lost TCP streaming connection with remote peer", "etcd-peer-inactive"),
    ("storage backend: etcd3 client is not responding", "etcd-unhealthy"),
    ("[-]etcd failed: error getting data from etcd: context deadline exceeded",
     "etcd-health-error"),
]

# Whole lines as kube-apiserver writes them (klog header, grpc's `[core]` prefix): the
# specific cause must win over the generic symptoms on the same line.
APISERVER_LINES = [
    ('W1126 01:02:03.123456       1 logging.go:59] [core] [Channel #5 SubChannel #6] grpc: '
     'addrConn.createTransport failed to connect to {Addr: "127.0.0.1:2379", ServerName: '
     '"127.0.0.1", }. Err: connection error: desc = "transport: Error while dialing: dial '
     'tcp 127.0.0.1:2379: connect: connection refused"', "etcd-refused"),
    ('W1126 01:02:03.123456       1 logging.go:59] [core] grpc: addrConn.createTransport '
     'failed to connect to {Addr: "127.0.0.1:2379"}. Err: connection error: desc = '
     '"transport: authentication handshake failed: x509: certificate has expired or is '
     'not yet valid: current time 2026-11-26T01:02:03Z is after 2026-11-20T00:00:00Z"',
     "tls-expired"),
    ('W1126 01:02:03.123456       1 logging.go:59] [core] grpc: addrConn.createTransport '
     'failed to connect to {Addr: "127.0.0.1:2379"}. Err: connection error: desc = '
     '"transport: Error while dialing: dial tcp 127.0.0.1:2379: i/o timeout"',
     "etcd-unreachable"),
    ('W1126 01:02:03.123456       1 logging.go:59] [core] grpc: addrConn.createTransport '
     'failed to connect to {Addr: "127.0.0.1:2379"}. Err: connection reset by peer',
     "grpc-dial-failed"),
    ("E1126 01:02:04.000001       1 status.go:71] apiserver received an error that is not "
     'an metav1.Status: &errors.errorString{s:"context deadline exceeded"}: context '
     "deadline exceeded", "etcd-deadline"),
    ("E1126 01:02:05.500000       1 healthz.go:261] etcd check failed: healthz\n"
     "[-]etcd failed: error getting data from etcd: context deadline exceeded",
     "etcd-health-error"),
    ('F1126 01:02:06.000000       1 instance.go:290] Error creating leases: error creating '
     "storage factory: context deadline exceeded", "etcd-deadline"),
    ('{"level":"warn","ts":"2026-11-26T01:02:03.123Z","caller":"rafthttp/http.go:500",'
     '"msg":"request cluster ID mismatch","local-member-id":"8e9e05c52164694d"}',
     "etcd-cluster-id-mismatch"),
    ('{"level":"warn","ts":"2026-11-26T01:02:03.123Z","msg":"prober detected unhealthy '
     'status","error":"dial tcp 127.0.0.2:2380: connect: connection refused"}',
     "etcd-peer-refused"),
]

NORMAL_LINES = [
    "I1126 01:02:03.123456       1 server.go:565] external host was not specified, using "
    "127.0.0.1",
    'I1126 01:02:03.123456       1 trace.go:236] Trace[1][bold]: "List" url:/api/v1/pods',
    "",
    "just some text",
]


@pytest.mark.parametrize(("text", "sig_id"), FACTS_STRINGS + APISERVER_LINES)
def test_classify_known_strings(text, sig_id):
    sig = classify(text)
    assert sig is not None, text
    assert sig.id == sig_id


@pytest.mark.parametrize("text", NORMAL_LINES)
def test_normal_lines_are_not_classified(text):
    assert classify(text) is None


def test_table_is_well_formed():
    assert len(BY_ID) == len(SIGNATURES)  # ids are unique
    actions = {None, "restore", "restart", "renew-cert", "snapshot-save", "disarm-alarm",
               "defrag"}
    for sig in SIGNATURES:
        assert sig.component in ("kube-apiserver", "etcd", "kubelet", "blackstart")
        assert sig.side in SIDES
        assert sig.diagnosis and sig.remedy
        assert sig.action in actions
        assert isinstance(sig.severity, Severity)


def test_every_signature_feeds_the_prefilter():
    # A regex signature without literals would never pass the pre-filter: never match.
    for sig in SIGNATURES:
        assert sig.literals and all(sig.literals), sig.id


@pytest.mark.parametrize(("text", "sig_id"), FACTS_STRINGS + APISERVER_LINES)
def test_each_known_string_contains_a_literal_of_its_signature(text, sig_id):
    assert any(lit in text for lit in BY_ID[sig_id].literals)


def test_severities_make_sense():
    assert classify("walpb: crc mismatch").severity is Severity.CRITICAL
    assert classify("mvcc: required revision has been compacted").severity is Severity.INFO
    assert classify("x509: certificate has expired or is not yet valid").action == "renew-cert"


# --------------------------------------------------------------------------- CRI


def test_parse_cri_line():
    ts, stream, partial, msg = parse_cri_line(
        "2026-11-26T01:02:03.123456789Z stderr F E1126 01:02:03.123456 1 x.go:1] boom")
    assert (ts, stream, partial) == ("2026-11-26T01:02:03.123456789Z", "stderr", False)
    assert msg == "E1126 01:02:03.123456 1 x.go:1] boom"
    assert parse_cri_line("2026-11-26T01:02:03Z stdout P part")[2] is True
    assert parse_cri_line("2026-11-26T01:02:03Z stdout F ")[3] == ""
    assert parse_cri_line("not a cri line") is None
    assert parse_cri_line("E1126 01:02:03.123456 1 x.go:1] boom") is None


def test_cri_partial_lines_are_joined_per_stream():
    lines = [
        "2026-11-26T01:00:00.1Z stderr P dial tcp 127.0.0.1:2379: ",
        "2026-11-26T01:00:00.2Z stdout F an stdout line in between",
        "2026-11-26T01:00:00.3Z stderr P connect: ",
        "2026-11-26T01:00:00.4Z stderr F connection refused",
        "2026-11-26T01:00:01Z stderr P still being written",
    ]
    out = join_cri(lines)
    assert [e.text for e in out] == [
        "an stdout line in between",
        "dial tcp 127.0.0.1:2379: connect: connection refused",
        "still being written",
    ]
    assert out[1].ts == "2026-11-26T01:00:00.1Z"  # the time of the first fragment
    assert classify(out[1].text).id == "etcd-refused"


def test_parse_lines_cri_and_file_times():
    cri = parse_lines(["2026-11-26T01:00:00Z stderr F [bold]x[/bold]"], "cri")
    assert cri[0].ts == "2026-11-26T01:00:00Z" and cri[0].text == "[bold]x[/bold]"
    klog = parse_lines(["E1126 01:02:03.123456    4242 file.go:12] [red]msg"], "file")
    assert klog[0].ts == "11-26 01:02:03.123456"
    assert klog[0].text == "E1126 01:02:03.123456    4242 file.go:12] [red]msg"
    zap = parse_lines(['{"level":"info","ts":"2026-11-26T01:02:03.1Z","msg":"x"}'], "file")
    assert zap[0].ts == "2026-11-26T01:02:03.1Z"
    assert parse_lines(["plain"], "file")[0].ts is None


# --------------------------------------------------------------------------- klog, journald


def test_parse_klog_header():
    h = parse_klog("E1126 01:02:03.123456    4242 file.go:12] msg [core] x")
    assert h is not None
    assert (h.level, h.time, h.pid, h.source, h.msg) == (
        "E", "11-26 01:02:03.123456", 4242, "file.go:12", "msg [core] x")
    assert parse_klog("X1126 01:02:03.123456 1 f.go:1] m") is None
    assert parse_klog("E1126 01:02:03 1 f.go:1] m") is None


def test_parse_journald_json_string_and_bytes():
    line = json.dumps({"__REALTIME_TIMESTAMP": "1795654923123456", "_SYSTEMD_UNIT":
                       "kube-apiserver.service", "MESSAGE": "etcdserver: no leader"})
    e = parse_journald_json(line)
    assert e is not None and e.text == "etcdserver: no leader"
    assert e.ts == "2026-11-26T01:02:03.123456Z"
    raw = list(b"dial tcp: ") + [0xFF, 0xFE] + list(b" [bold]x")
    e2 = parse_journald_json(json.dumps({"MESSAGE": raw, "__REALTIME_TIMESTAMP": "x"}))
    assert e2 is not None and e2.ts is None
    assert e2.text == "dial tcp: \ufffd\ufffd [bold]x"
    assert parse_journald_json('{"MESSAGE": null}') is None
    assert parse_journald_json("[1,2]") is None
    assert parse_journald_json("-- No entries --") is None


def test_parse_zap_json():
    assert parse_zap_json('{"ts":"t","msg":"m"}') == "t"
    assert parse_zap_json('{"ts":1,"msg":"m"}') is None
    assert parse_zap_json("{oops") is None


# --------------------------------------------------------------------------- tail


def test_tail_lines_basic_and_offset():
    data = b"first\nsecond\nthird\n"
    assert tail_lines(data, 2) == ["second", "third"]
    assert tail_lines(data, 10) == ["first", "second", "third"]
    # Read from the middle of a file: the first line is probably cut, so it is dropped.
    assert tail_lines(b"rst\nsecond\nthird\n", 10, offset=2) == ["second", "third"]
    assert tail_lines(b"no newline at all", 10, offset=5) == []
    assert tail_lines(b"a\nwriting", 5) == ["a", "writing"]  # last line mid-write is kept
    assert tail_lines(b"a\r\nb\r\n", 5) == ["a", "b"]
    assert tail_lines(b"a\n\nb\n", 5) == ["a", "", "b"]
    assert tail_lines(b"", 5) == [] and tail_lines(data, 0) == []


def test_tail_lines_non_utf8_is_replaced():
    assert tail_lines(b"ok\n\xff\xfebad \xc3\n", 5) == ["ok", "\ufffd\ufffdbad \ufffd"]


def test_tail_lines_cuts_a_1mb_line_visibly():
    big = b"E1126 01:02:03.123456 1 x.go:1] " + b"x" * (1 << 20)
    lines = tail_lines(b"before\n" + big + b"\nafter\n", 5)
    assert lines[0] == "before" and lines[2] == "after"
    assert len(lines[1]) < 8300
    assert lines[1].endswith(f"… [cut {len(big) - 8192} bytes]")
    assert lines[1].startswith("E1126 01:02:03.123456")


def test_markup_survives_untouched():
    text = "[bold]etcd[/bold] [core] [Channel #5] [-]etcd failed \\[x] [red]"
    assert tail_lines(text.encode() + b"\n", 1) == [text]
    assert join_cri([f"2026-11-26T01:00:00Z stderr F {text}"])[0].text == text
    assert parse_journald_json(json.dumps({"MESSAGE": text})).text == text
