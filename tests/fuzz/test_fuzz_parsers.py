"""Fuzzing every parser (issue 13): hypothesis feeds each one arbitrary and near-valid input;
a test fails on any exception other than the parser's own declared error, and on any
single input taking over 5 s (hypothesis' deadline).

Sized for CI by default; `make fuzz` sets BLACKSTART_FUZZ_EXAMPLES for a long run. Each
test prints how many inputs it ran (`-s` shows them; `make fuzz` collects them)."""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blackstart.checks.discovery.inventory import InventoryError, cluster_from_toml
from blackstart.checks.formats import bbolt, loglines, manifests, proto_wire, wal, wal_records, x509
from blackstart.runbook import journal

EXAMPLES = int(os.environ.get("BLACKSTART_FUZZ_EXAMPLES", "120"))
FUZZ = settings(max_examples=EXAMPLES, deadline=dt.timedelta(seconds=5),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
COUNTS: dict[str, int] = {}


def count(parser: str) -> None:
    COUNTS[parser] = COUNTS.get(parser, 0) + 1


@pytest.fixture(scope="module", autouse=True)
def _report_counts() -> Any:
    yield
    out = os.environ.get("BLACKSTART_FUZZ_COUNTS")
    line = json.dumps(COUNTS, sort_keys=True)
    print(f"\nfuzz inputs per parser: {line}")
    if out:
        with open(out, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")


def _page(page_size: int = 4096) -> st.SearchStrategy[bytes]:
    return st.binary(min_size=0, max_size=page_size)


# --------------------------------------------------------------------------- bbolt

def _valid_db() -> bytes:
    """A small etcd-shaped bbolt file from the bbolt tests' own builder."""
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "checks"))
    from test_bbolt import build_db, etcd_like

    return bytes(build_db(etcd_like(40)))


DB = _valid_db()


@FUZZ
@given(st.binary(max_size=64 << 10))
def test_bbolt_arbitrary(data: bytes) -> None:
    count("bbolt")
    s = bbolt.read_db(data)
    assert isinstance(s.errors, list) or s is not None


@FUZZ
@given(st.data())
def test_bbolt_mutated(data: st.DataObject) -> None:
    count("bbolt")
    buf = bytearray(DB)  # built by the bbolt tests' own builder: never empty
    for _ in range(data.draw(st.integers(1, 16))):
        i = data.draw(st.integers(0, len(buf) - 1))
        buf[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(buf)))
    bbolt.read_db(bytes(buf[:cut]))


# --------------------------------------------------------------------------- WAL

@FUZZ
@given(st.lists(st.tuples(st.text(max_size=30), st.binary(max_size=8192)), max_size=4),
       st.one_of(st.none(), st.integers(0, 2**64)))
def test_wal_arbitrary(files: list[tuple[str, bytes]], snap: int | None) -> None:
    count("wal")
    assert wal.scan_wal(files, snap).state in ("ok", "torn-tail", "corrupt", "missing")


@FUZZ
@given(st.binary(max_size=2048), st.integers(0, 4096))
def test_wal_record_and_varint(buf: bytes, pos: int) -> None:
    count("wal")
    for call in (lambda: wal_records.decode_record(buf),
                 lambda: proto_wire.read_varint(buf, pos),
                 lambda: proto_wire.decode_message(buf, {1: 0, 2: 2, 3: 0})):
        try:
            call()
        except proto_wire.ProtoError:
            pass


# --------------------------------------------------------------------------- x509

PEM_HEAD = b"-----BEGIN CERTIFICATE-----\n"
PEM_TAIL = b"\n-----END CERTIFICATE-----\n"


@FUZZ
@given(st.one_of(st.binary(max_size=4096),
                 st.binary(max_size=2048).map(lambda b: PEM_HEAD + b + PEM_TAIL)),
       st.one_of(st.none(), st.binary(max_size=512)))
def test_x509_analyze(cert: bytes, key: bytes | None) -> None:
    count("x509")
    info = x509.analyze_cert(cert, path="/f.crt", node="n", role="etcd-server", key_pem=key,
                             ca_pem=cert, now=1.7e9, expect_hosts=("127.0.0.1", "etcd1"))
    assert info is not None


@FUZZ
@given(st.text(max_size=80), st.lists(st.text(max_size=40), max_size=4),
       st.lists(st.text(max_size=40), max_size=4))
def test_x509_host_matching(host: str, dns: list[str], ips: list[str]) -> None:
    count("x509")
    x509.host_covered(host, dns, ips)
    for d in dns:
        x509.dns_match(d, host)


# --------------------------------------------------------------------------- manifests

FLAG = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@FUZZ
@given(st.text(max_size=3000))
def test_static_pod_text(text: str) -> None:
    count("manifests")
    try:
        manifests.parse_static_pod(text, "/etc/kubernetes/manifests/etcd.yaml", "etcd")
    except manifests.ManifestError:
        pass


@FUZZ
@given(st.lists(FLAG, max_size=30))
def test_flags_and_etcd_config(argv: list[str]) -> None:
    count("manifests")
    flags = manifests.parse_flags(argv)
    try:
        manifests.etcd_config(flags, "fuzz")
    except manifests.ManifestError:
        pass
    manifests.apiserver_config(flags)
    try:
        manifests.parse_initial_cluster(flags.get("initial-cluster", ",".join(argv)))
    except ValueError:  # documented: an entry without name=URL
        pass


@FUZZ
@given(st.text(max_size=2000), st.text(max_size=30))
def test_systemd_units_and_env_files(text: str, host: str) -> None:
    count("manifests")
    for call in (lambda: manifests.parse_systemd_unit(text, "/etc/systemd/system/etcd.service",
                                                      host or "h"),
                 lambda: manifests.parse_env_file(text, "/etc/default/etcd")):
        try:
            call()
        except manifests.ManifestError:
            pass


# --------------------------------------------------------------------------- inventory

TOML_SCALAR = st.one_of(st.text(max_size=30), st.integers(-10, 70000), st.booleans(),
                        st.floats(allow_nan=False), st.lists(st.text(max_size=10), max_size=3))
TABLE = st.dictionaries(st.sampled_from(
    ["name", "node", "client_url", "peer_url", "data_dir", "backup_dirs", "ssh", "host",
     "port", "user", "key", "kind", "start", "stop", "member", "role", "path", "ca",
     "state_dir", "token", "keep", "hot_days", "cold_days", "cert", "manifest", "unit"]),
    st.one_of(TOML_SCALAR, st.dictionaries(st.sampled_from(["host", "port", "user", "key",
                                                             "cert", "ca"]), TOML_SCALAR,
                                           max_size=3)),
    max_size=8)


@FUZZ
@given(st.fixed_dictionaries({}, optional={
    "cluster": TABLE, "client": TABLE, "retention": TABLE,
    "nodes": st.lists(TABLE, max_size=3), "members": st.lists(TABLE, max_size=3),
    "services": st.lists(TABLE, max_size=3), "certificates": st.lists(TABLE, max_size=2),
    "logs": st.lists(TABLE, max_size=2)}))
def test_inventory_tables(data: dict[str, Any]) -> None:
    count("inventory")
    try:
        cluster_from_toml(data, "/fuzz/blackstart.toml")
    except InventoryError:
        pass


@FUZZ
@given(st.text(max_size=2000))
def test_inventory_text(text: str) -> None:
    count("inventory")
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):
        return
    try:
        cluster_from_toml(data, "/fuzz/blackstart.toml")
    except InventoryError:
        pass


# --------------------------------------------------------------------------- logs

@FUZZ
@given(st.binary(max_size=8192), st.integers(0, 50), st.integers(-100, 9000))
def test_log_tail_and_lines(data: bytes, n: int, offset: int) -> None:
    count("logs")
    lines = loglines.tail_lines(data, n, offset=max(offset, 0))
    for kind in ("cri", "journald", "file"):
        loglines.parse_lines(lines, kind)
    for line in lines[:10]:
        loglines.classify(line)
        loglines.parse_klog(line)
        loglines.parse_zap_json(line)
        loglines.parse_journald_json(line)
        loglines.line_time(line)


# --------------------------------------------------------------------------- journals

JOURNAL_DIR = Path(tempfile.mkdtemp(prefix="fuzz-journal-"))
JSONISH = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20),
                                 st.floats(allow_nan=False)),
                       lambda inner: st.one_of(st.lists(inner, max_size=4),
                                               st.dictionaries(st.text(max_size=10), inner,
                                                               max_size=4)),
                       max_leaves=20)


@FUZZ
@given(st.one_of(JSONISH, st.fixed_dictionaries({"plan": st.fixed_dictionaries(
    {"steps": st.lists(st.dictionaries(st.sampled_from(
        ["id", "node", "title", "op", "argv", "args", "undo_op"]), JSONISH), max_size=3)}),
    "status": JSONISH, "seq": JSONISH, "undone": JSONISH})),
       st.binary(max_size=64))
def test_journal_files(doc: Any, tail: bytes) -> None:
    count("journals")
    p = JOURNAL_DIR / "000001-p.json"
    p.write_bytes(json.dumps(doc).encode() + (tail if tail[:1] == b" " else b""))
    try:
        journal.load_journal(p)
    except journal.JournalError:
        pass
