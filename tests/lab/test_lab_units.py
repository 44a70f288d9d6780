"""The lab's pure parts, without I/O: WAL damage, log wording, manifests, TOML, CRI."""

from __future__ import annotations

import datetime as dt
import re
import ssl
import tomllib
from pathlib import Path

import pytest

from blackstart.lab import apiserver, crilog, klog, manifest, toml_out, walfault
from blackstart.lab.inventory import Binaries, render
from blackstart.lab.layout import layouts


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _record(typ: int, data: bytes) -> bytes:
    rec = b"\x08" + _varint(typ) + b"\x10" + _varint(0xDEADBEEF) + b"\x1a" + _varint(len(data))
    return rec + data


def segment(n_entries: int, size: int = 64 * 1024) -> bytes:
    """A preallocated segment: crc, metadata, snapshot, then entry records, zero tail."""
    recs = [_record(4, b""), _record(1, b"\x08\x01\x10\x02"), _record(5, b"\x08\x00")]
    recs += [_record(2, b"\x08\x00\x10\x02\x18" + _varint(i) + b"\x22\x10" + b"x" * 16)
             for i in range(1, n_entries + 1)]
    buf = bytearray()
    for r in recs:
        pad = (8 - len(r) % 8) % 8
        buf += walfault.encode_len(len(r)).to_bytes(8, "little") + r + bytes(pad)
    return bytes(buf) + bytes(size - len(buf))


def test_frames_parse_every_record() -> None:
    buf = segment(10)
    fs = walfault.frames(buf)
    assert len(fs) == 13
    assert [walfault.record_fields(buf[f.start:f.start + f.length])[0] for f in fs[:4]] == [
        4, 1, 5, 2]


def test_corrupt_flips_one_data_byte_of_a_middle_entry_and_never_looks_torn() -> None:
    buf = segment(10)
    new, frame = walfault.corrupt(buf)
    diff = [i for i in range(len(buf)) if buf[i] != new[i]]
    assert len(diff) == 1 and frame.start <= diff[0] < frame.start + frame.length
    entries = [f for f in walfault.frames(buf) if f.offset >= walfault.frames(buf)[3].offset]
    assert entries[0].offset < frame.offset < entries[-1].offset  # in the middle
    assert not walfault.looks_torn(new, frame)
    assert walfault.frames(new) == walfault.frames(buf)  # framing intact: only the CRC fails


def test_corrupt_refuses_a_segment_without_a_middle() -> None:
    with pytest.raises(ValueError, match="nothing in the middle"):
        walfault.corrupt(segment(2))


def test_tear_appends_a_record_etcd_calls_torn() -> None:
    buf = segment(5)
    new, frame = walfault.tear(buf)
    assert frame.offset == walfault.frames(buf)[-1].end
    assert walfault.looks_torn(new, frame)
    assert new[:frame.offset] == buf[:frame.offset]  # nothing valid was touched


def test_tls_alert_and_x509_wording_like_go() -> None:
    err = ssl.SSLError(1, "[SSL: SSLV3_ALERT_BAD_CERTIFICATE] sslv3 alert bad certificate "
                          "(_ssl.c:1006)")
    assert apiserver.tls_alert_text(err) == "remote error: tls: bad certificate"


def test_read_result_ok_and_etcd_error() -> None:
    ok = apiserver.read_result(b'HTTP/1.1 200 OK\r\n\r\n{"header":{"revision":"42"}}', "e")
    assert ok.ok and "revision 42" in ok.msg
    bad = apiserver.read_result(
        b'HTTP/1.1 503 X\r\n\r\n{"error":"x","message":"etcdserver: no leader"}', "e")
    assert not bad.ok and bad.level == "E"
    assert "error getting data from etcd: etcdserver: no leader" in bad.msg


def test_klog_and_cri_line_formats() -> None:
    t = dt.datetime(2026, 11, 26, 1, 2, 3, 123456, tzinfo=dt.UTC)
    line = klog.klog_line("E", "boom", "x.go:1", now=t, pid=42)
    assert line == "E1126 01:02:03.123456      42 x.go:1] boom"
    cri = crilog.cri_line(line, now=t)
    assert re.fullmatch(r"2026-11-26T01:02:03\.123456000Z stderr F E1126 .*\n", cri)


def test_cri_writer_rotates_instead_of_growing(tmp_path: Path) -> None:
    w = crilog.CriWriter(tmp_path / "0.log", max_bytes=1000)
    for i in range(100):
        w.write(f"line {i}")
    w.close()
    assert (tmp_path / "0.log").stat().st_size < 1000
    assert list(tmp_path.glob("0.log.*"))


HELP_34 = """Usage:
  etcd [flags]
Member:
  --name 'default'
    Human-readable name for this member.
  --data-dir '${name}.etcd'
"""


def test_unsupported_flags_are_dropped_for_another_build(tmp_path: Path) -> None:
    spec = layouts(tmp_path, 3, "127.0.0")[0].spec
    full = manifest.etcd_command(spec, "/bin/etcd")
    assert "--experimental-initial-corrupt-check=true" in full
    old = manifest.etcd_command(spec, "/bin/etcd", manifest.supported_flags(HELP_34))
    assert old == ["/bin/etcd", f"--data-dir={spec.data_dir}", "--name=etcd1"]


def test_manifest_round_trip_and_clear_errors(tmp_path: Path) -> None:
    spec = layouts(tmp_path, 3, "127.0.0")[1].spec
    cmd = manifest.etcd_command(spec, "/bin/etcd")
    path = tmp_path / "etcd.yaml"
    path.write_text(manifest.render(spec, cmd, "registry.k8s.io/etcd:3.5.1-0"))
    assert manifest.read_command(path) == cmd
    assert "--initial-advertise-peer-urls=https://127.0.0.2:2380" in cmd
    path.write_text("kind: Pod\nspec: {}\n")
    with pytest.raises(manifest.ManifestError, match=str(path)):
        manifest.read_command(path)
    with pytest.raises(manifest.ManifestError, match="no such manifest"):
        manifest.read_command(tmp_path / "missing.yaml")


def test_inventory_is_valid_toml_with_every_cert(tmp_path: Path) -> None:
    nodes = layouts(tmp_path, 3, "127.0.0")
    text = render(tmp_path, nodes, Binaries("/b/etcd", "/b/etcdctl", ""), None)
    inv = tomllib.loads(text)
    assert len(inv["nodes"]) == 3 and inv["nodes"][0]["etcdutl"] == ""
    assert len(inv["certificates"]) == 15
    assert {c["role"] for c in inv["certificates"]} == {
        "etcd-ca", "etcd-server", "etcd-peer", "etcd-healthcheck-client",
        "apiserver-etcd-client"}
    assert toml_out.value('a"b\\c\n') == '"a\\"b\\\\c\\n"'
