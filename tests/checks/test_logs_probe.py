"""checks.probes.logs over real files on the local node: globs, rotation, tails, markers."""

from __future__ import annotations

import os
import shutil

import pytest
from labnet import missing
from recording_node import RecordingNode

from blackstart.checks.model import Cluster, LogSource, Node, Service
from blackstart.checks.probes.context import ProbeContext
from blackstart.checks.probes.logs import log_sources, node_glob, probe_logs, read_tail
from blackstart.checks.severity import Severity

REFUSED = ("W1126 01:02:03.123456       1 logging.go:59] [core] grpc: addrConn.createTransport "
           'failed to connect to {Addr: "127.0.0.1:2379"}. Err: connection error: desc = '
           '"transport: Error while dialing: dial tcp 127.0.0.1:2379: connect: connection '
           'refused"')
EXPIRED = ("E1126 01:02:04.000000       1 run.go:74] transport: authentication handshake "
           "failed: x509: certificate has expired or is not yet valid")
NORMAL = "I1126 01:02:00.000000       1 server.go:565] [bold]external host[/bold] not specified"


def cri(i: int, text: str, tag: str = "F") -> str:
    return f"2026-11-26T01:{i // 60 % 60:02d}:{i % 60:02d}.000000000Z stderr {tag} {text}\n"


NODES = (Node("n1"), Node("n2", has_access=False))


def _ctx(sources):
    cluster = Cluster("lab", nodes=NODES, members=(), logs=tuple(sources))
    rec = RecordingNode(cluster.node("n1"))
    return ProbeContext(cluster, clients={"n1": rec}), rec


@pytest.fixture
def pods(tmp_path):
    """/var/log/pods with one rotated file, the live 0.log and a compressed old one."""
    d = tmp_path / "var/log/pods/kube-system_kube-apiserver-etcd1_0f1e/kube-apiserver"
    d.mkdir(parents=True)
    (d / "0.log.20261126-005900").write_text("".join(cri(i, f"{NORMAL} old {i}")
                                                     for i in range(10)))
    (d / "0.log.20261126-005000.gz").write_bytes(b"\x1f\x8b garbage")
    (d / "0.log").write_text(cri(20, REFUSED[:40], "P") + cri(21, REFUSED[40:]) +
                             cri(22, EXPIRED))
    os.utime(d / "0.log.20261126-005900", (1_000, 1_000))
    os.utime(d / "0.log.20261126-005000.gz", (500, 500))
    (tmp_path / "var/log/pods/kube-system_etcd-etcd1_9a9a/etcd").mkdir(parents=True)
    glob = str(tmp_path / "var/log/pods/kube-system_kube-apiserver-etcd1_*/kube-apiserver/*")
    return glob, d


async def test_cri_glob_rotation_and_classification(pods):
    glob, d = pods
    ctx, rec = _ctx([LogSource("n1", "cri", glob)])
    lines = await probe_logs(ctx, max_lines=5)
    assert [ln.text for ln in lines] == [f"{NORMAL} old 7", f"{NORMAL} old 8",
                                         f"{NORMAL} old 9", REFUSED, EXPIRED]
    assert [ln.signature for ln in lines] == [None, None, None, "etcd-refused", "tls-expired"]
    assert lines[3].severity is Severity.CRITICAL and lines[0].severity is Severity.OK
    assert lines[3].ts == "2026-11-26T01:00:20.000000000Z"  # first fragment's time
    assert {ln.source for ln in lines} == {"kube-apiserver"}
    assert {ln.node for ln in lines} == {"n1"}
    assert all(".gz" not in p for p, _, _ in rec.reads)
    assert rec.writes == []


async def test_newest_file_alone_when_it_has_enough(pods):
    glob, d = pods
    ctx, rec = _ctx([LogSource("n1", "cri", glob)])
    lines = await probe_logs(ctx, max_lines=2)
    assert [ln.signature for ln in lines] == ["etcd-refused", "tls-expired"]
    assert {p for p, _, _ in rec.reads} == {str(d / "0.log")}


async def test_node_glob_orders_oldest_first(pods):
    glob, d = pods
    ctx, rec = _ctx([])
    files = await node_glob(rec, glob, 5)
    assert [f.name for f in files] == ["0.log.20261126-005900", "0.log"]
    assert await node_glob(rec, str(d / "nothing-*.log"), 5) == []
    assert [f.name for f in await node_glob(rec, str(d / "0.log"), 5)] == ["0.log"]


async def test_unreadable_sources_give_one_marker_each(tmp_path, pods):
    sources = [
        LogSource("n1", "file", str(tmp_path / "missing/kube-apiserver.log")),
        LogSource("n1", "cri", str(tmp_path / "var/log/pods/nomatch_*/x/*.log")),
        LogSource("n2", "cri", "/var/log/pods/kube-system_kube-apiserver-etcd2_*/*/*.log"),
        LogSource("n9", "file", "/var/log/x.log"),
    ]
    ctx, _ = _ctx(sources)
    lines = await probe_logs(ctx)
    assert len(lines) == 4
    for line, src in zip(lines, sources, strict=True):
        assert line.signature == "log-unreadable" and line.severity is Severity.WARNING
        assert line.text.startswith("blackstart: cannot read ")
        assert src.path in line.text and f"node {src.node}" in line.text
    assert "no access" in lines[2].text
    assert "no such file" in lines[0].text and "no file matches" in lines[1].text


async def test_plain_file_a_1mb_line_and_non_utf8(tmp_path):
    f = tmp_path / "apiserver.log"
    f.write_bytes(NORMAL.encode() + b"\n" + b"y" * (1 << 20) + b"\n\xff\xfe " +
                  EXPIRED.encode() + b"\n")
    ctx, _ = _ctx([LogSource("n1", "file", str(f))])
    lines = await probe_logs(ctx)
    assert [ln.text for ln in lines][0] == NORMAL
    assert lines[1].text.endswith(f"… [cut {(1 << 20) - 8192} bytes]")
    assert lines[2].text == "\ufffd\ufffd " + EXPIRED and lines[2].signature == "tls-expired"
    assert lines[0].ts == "11-26 01:02:00.000000"


async def test_a_1gb_file_is_not_read_whole(tmp_path):
    """Sparse 1 GiB file with real lines at its end: only the tail window is read."""
    f = tmp_path / "huge.log"
    tail = "".join(cri(i, NORMAL if i % 7 else REFUSED) for i in range(6000)).encode()
    size = 1 << 30
    with open(f, "wb") as fh:
        fh.truncate(size)
        fh.seek(size - len(tail))
        fh.write(tail)
    ctx, rec = _ctx([LogSource("n1", "cri", str(f))])
    lines = await probe_logs(ctx, max_lines=2000)
    assert len(lines) == 2000
    assert lines[-1].text == REFUSED  # i = 5999 is a multiple of 7
    assert sum(ln.signature == "etcd-refused" for ln in lines) == 286  # 7 | i in 4000..5999
    assert rec.bytes_read < 2 * len(tail)  # a window or two, never the gigabyte
    assert all(mb is not None for _, mb, _ in rec.reads)


async def test_read_tail_stops_at_the_cap(tmp_path):
    f = tmp_path / "zeros.log"
    with open(f, "wb") as fh:
        fh.truncate(64 << 20)  # 64 MiB without a single newline
    ctx, rec = _ctx([])
    lines = await read_tail(rec, str(f), 10, 5, first=1 << 20, cap=4 << 20)
    assert len(lines) == 1 and "cut" in lines[0]
    assert rec.bytes_read <= 8 << 20


async def test_journald_with_the_real_journalctl():
    if shutil.which("journalctl") is None:
        missing("journalctl")
    ctx, _ = _ctx([LogSource("n1", "journald", unit="blackstart-test-no-such.service")])
    lines = await probe_logs(ctx, max_lines=10)
    # An unknown unit has no entries: no lines, and no false "cannot read" marker either.
    assert all(ln.source == "kube-apiserver" for ln in lines)
    assert [ln for ln in lines if ln.signature == "log-unreadable"] == []


async def test_journald_failure_is_a_marker(tmp_path):
    # A unit pattern journalctl refuses: it exits 1 with "Failed to add filter for units".
    if shutil.which("journalctl") is None:
        missing("journalctl")
    ctx, _ = _ctx([LogSource("n1", "journald", unit="*[")])
    (line,) = await probe_logs(ctx)
    assert line.signature == "log-unreadable"
    assert "unit *[" in line.text and "node n1" in line.text
    assert "journalctl exited 1: Failed to add filter for units" in line.text



async def test_fragmented_cri_still_gives_max_lines(tmp_path):
    # Every entry split in three fragments: 3 physical lines per entry.
    f = tmp_path / "0.log"
    f.write_text("".join(cri(i, f"part-a-{i} ", "P") + cri(i, "part-b ", "P") +
                         cri(i, "dial tcp 127.0.0.1:2379: connect: connection refused")
                         for i in range(400)))
    ctx, _ = _ctx([LogSource("n1", "cri", str(f))])
    lines = await probe_logs(ctx, max_lines=50)
    assert len(lines) == 50
    assert lines[-1].text == ("part-a-399 part-b dial tcp 127.0.0.1:2379: connect: "
                              "connection refused")
    assert all(ln.signature == "etcd-refused" for ln in lines)


async def test_zero_lines_asked_is_zero_lines(pods):
    glob, _ = pods
    ctx, rec = _ctx([LogSource("n1", "cri", glob)])
    assert await probe_logs(ctx, max_lines=0) == []
    assert rec.reads == []


# --------------------------------------------------------------------------- etcd's own logs


def test_each_etcd_member_gets_its_own_log_source():
    api = "/root/var/log/pods/kube-system_kube-apiserver-*/kube-apiserver/*.log"
    cluster = Cluster("c", nodes=NODES, members=(), logs=(
        LogSource("n1", "cri", path=api),), services=(
        Service("n1", "etcd", "static-pod", member="m1"),
        Service("n2", "etcd", "systemd", unit="etcd-member.service", member="m2"),
        Service("n3", "etcd", "command", member="m3")))
    got = {(s.node, s.component): s for s in log_sources(cluster)}
    assert got[("n1", "etcd")] == LogSource(
        "n1", "cri", path="/root/var/log/pods/kube-system_etcd-*/etcd/*.log", component="etcd")
    assert got[("n2", "etcd")] == LogSource("n2", "journald", unit="etcd-member.service",
                                            component="etcd")
    assert ("n3", "etcd") not in got  # a plain command: the inventory must name its file
    assert got[("n1", "kube-apiserver")].path == api


def test_a_named_etcd_log_wins_over_the_derived_one():
    named = LogSource("n1", "file", path="/var/log/etcd.log", component="etcd")
    cluster = Cluster("c", nodes=NODES, members=(), logs=(named,),
                      services=(Service("n1", "etcd", "static-pod"),))
    assert log_sources(cluster) == [named]


async def test_etcd_static_pod_log_is_read_and_levelled(tmp_path):
    pod = tmp_path / "var/log/pods/kube-system_etcd-n1_abc/etcd"
    pod.mkdir(parents=True)
    zap = ('{"level":"warn","ts":"2026-11-26T01:00:00Z","msg":"slow fdatasync",'
           '"took":"1.5s","expected-duration":"1s"}')
    (pod / "0.log").write_text(cri(0, zap) + cri(1, "plain words"))
    api = str(tmp_path / "var/log/pods/kube-system_kube-apiserver-*/kube-apiserver/*.log")
    cluster = Cluster("lab", nodes=NODES, members=(), logs=(LogSource("n1", "cri", path=api),),
                      services=(Service("n1", "etcd", "static-pod"),))
    ctx = ProbeContext(cluster, clients={"n1": RecordingNode(cluster.node("n1"))})
    lines = [ln for ln in await probe_logs(ctx) if ln.source == "etcd"]
    assert [(ln.signature, ln.level) for ln in lines] == [("etcd-slow-disk", "warning"),
                                                          (None, "")]
