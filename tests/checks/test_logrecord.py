"""checks.formats.logrecord (one line taken apart) and checks.formats.logtemplates."""

from __future__ import annotations

import datetime as dt

from blackstart.checks.formats.loglines import classify
from blackstart.checks.formats.logrecord import Level, level_of, parse_line
from blackstart.checks.formats.logtemplates import (
    line_time,
    new_since,
    template_counts,
    template_of,
    unmatched,
)
from blackstart.checks.probe_results import LogLine

UTC = dt.UTC

# Real lines from the corpus (their sources are recorded there).
ZAP_IN_JOURNAL = (
    'Jan 25 06:42:36 dev-ln01 k3s[2189071]: {"level":"warn","ts":"2021-01-25T06:42:36.000+0100"'
    ',"caller":"wal/wal.go:806","msg":"slow fdatasync","took":"7.454439372s",'
    '"expected-duration":"1s"}')
CRI_KLOG = (
    "2022-01-12T21:16:43.834720026+00:00 stderr F W0112 21:16:43.831033       1 "
    "clientconn.go:1331] [core] grpc: addrConn.createTransport failed to connect to "
    "{127.0.0.1:2379 127.0.0.1 <nil> 0 <nil>}.")
CAPNSLOG = ("2021-03-17 13:44:23.696657 W | rafthttp: rejected the stream from peer "
            "936ce633ac273d75 since it was removed")
ZAP_PEER = ('{"level":"warn","ts":"2024-05-14T20:27:13.557385Z","caller":"rafthttp/'
            'probing_status.go:68","msg":"prober detected unhealthy status","round-tripper-'
            'name":"ROUND_TRIPPER_SNAPSHOT","remote-peer-id":"8211f1d0f64f3269","rtt":'
            '"416.079µs","error":"dial tcp 127.0.0.1:12380: connect: connection refused"}')


def test_zap_inside_a_journal_line():
    p = parse_line(ZAP_IN_JOURNAL)
    assert p.layers == ("journald", "zap")
    assert (p.level, p.message, p.host, p.process) == (
        Level.WARNING, "slow fdatasync", "dev-ln01", "k3s")
    assert p.field("took") == "7.454439372s"
    assert p.times == ("Jan 25 06:42:36", "2021-01-25T06:42:36.000+0100")
    # The zoned zap time wins over the year-less journal prefix.
    assert line_time(p, 1999) == dt.datetime(2021, 1, 25, 5, 42, 36, tzinfo=UTC)


def test_zap_fields_error_and_peer():
    p = parse_line(ZAP_PEER)
    assert p.field("remote-peer-id") == "8211f1d0f64f3269"
    assert p.field("error") == "dial tcp 127.0.0.1:12380: connect: connection refused"
    assert p.summary.startswith("prober detected unhealthy status error=dial tcp")


def test_cri_around_klog():
    p = parse_line(CRI_KLOG)
    assert p.layers == ("cri", "klog") and p.level is Level.WARNING
    assert p.message.startswith("[core] grpc: addrConn")
    assert line_time(p, 2000) == dt.datetime(2022, 1, 12, 21, 16, 43, 834720, tzinfo=UTC)


def test_capnslog_and_klog_without_year():
    p = parse_line(CAPNSLOG)
    assert (p.fmt, p.level) == ("capnslog", Level.WARNING)
    assert p.message.startswith("rafthttp: rejected the stream")
    k = parse_line("I0603 03:02:34.390422       1 crdregistration_controller.go:111] Starting")
    assert line_time(k, 2024) == dt.datetime(2024, 6, 3, 3, 2, 34, 390422, tzinfo=UTC)


def test_old_formats_and_levels():
    assert parse_line("2025/10/15 12:55:29 WARNING: [core] grpc: x").level is Level.WARNING
    assert parse_line("WARNING: 2018/04/24 15:34:04 Failed to dial x").fmt == "grpclog"
    g = parse_line("2017/06/20 12:54:01 wal.go:403: Warning: sync duration of 8.0s")
    assert (g.fmt, g.level, g.message) == ("golog", Level.WARNING, "sync duration of 8.0s")
    lr = parse_line('Jan 17 05:21:36 node90 rke2[3326114]: time="2025-01-17T05:21:36Z" '
                    'level=error msg="Failed to check \\"etcd\\" status"')
    assert lr.layers == ("journald", "logrus") and lr.level is Level.ERROR
    assert lr.message == 'Failed to check "etcd" status'
    assert level_of("dpanic") is Level.FATAL and level_of("N") is Level.INFO


def test_a_cut_zap_line_keeps_its_level():
    p = parse_line('{"level":"error","ts":"2024-01-01T00:00:00Z","msg":"failed to x","err')
    assert (p.fmt, p.level, p.message) == ("zap", Level.ERROR, "failed to x")


def test_plain_and_empty_lines():
    assert parse_line("").fmt == "plain"
    p = parse_line("cluster is unavailable")
    assert (p.fmt, p.level, p.message) == ("plain", Level.UNKNOWN, "cluster is unavailable")


def test_template_masks_ids_addresses_numbers_durations():
    a = template_of("peer 8e9e05c52164694d became inactive after 1.5s from 10.0.0.1:2380")
    b = template_of("peer 91bc3c398fb3c146 became inactive after 230ms from 10.0.0.2:2380")
    assert a == b == "peer <hex> became inactive after <dur> from <addr>"
    assert template_of("index 1500015 term 3") == "index <n> term <n>"
    # Words are not ids even when they are hex-ish.
    assert template_of("deadbeef added") == "deadbeef added"


def _t(minute: int) -> dt.datetime:
    return dt.datetime(2026, 11, 26, 1, minute, tzinfo=UTC)


def test_new_since_gives_templates_first_seen_after_the_moment():
    items = [
        (_t(0), "Starting controller 1"),
        (_t(1), "Starting controller 2"),
        (_t(5), "apply took 100ms for key 7"),
        (None, "apply took 900ms for key 8"),  # no time: inherits 01:05
        (_t(6), "Starting controller 3"),
    ]
    new = new_since(items, _t(3))
    assert [(t.template, t.count) for t in new] == [("apply took <dur> for key <n>", 2)]
    assert new[0].first_seen == _t(5) and new[0].example == "apply took 100ms for key 7"
    assert template_counts(items)[0].count == 3  # "Starting controller <n>"
    assert new_since(items, _t(9)) == []


def test_new_since_over_probe_lines_skips_classified_ones():
    texts = [
        ("2026-11-26T00:59:00Z", "I1126 00:59:00.000000 1 c.go:1] Starting controller 1"),
        ("2026-11-26T01:05:00Z", "I1126 01:05:00.000000 1 c.go:1] Starting controller 2"),
        ("2026-11-26T01:06:00Z", "raft2026/11/26 01:06:00 INFO: 8e9e05c52164694d stepped "
                                 "ahead"),
        ("2026-11-26T01:07:00Z", "W1126 01:07:00.000000 1 c.go:1] dial tcp 127.0.0.1:2379: "
                                 "connect: connection refused"),
    ]
    lines = []
    for ts, text in texts:
        sig = classify(text)
        lines.append(LogLine("n1", "kube-apiserver", ts, text, sig.id if sig else None))
    new = new_since(unmatched(lines, 2026), dt.datetime(2026, 11, 26, 1, 0, tzinfo=UTC))
    # The klog time gives 01:05 to "Starting controller <n>" but it was first seen at
    # 00:59, so it is not new; the raft line has no time of its own and takes its CRI time.
    assert [(t.template, t.count) for t in new] == [
        ("raft<n>/<n>/<n> <n>:<n>:<n> INFO: <hex> stepped ahead", 1)]
