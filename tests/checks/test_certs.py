"""checks.formats.x509: every problem from a real certificate built with `cryptography`."""

from __future__ import annotations

import datetime as dt

import pytest
from certgen import CLIENT, NOW_TS, SERVER, make_ca, make_leaf
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtensionOID, NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from blackstart.checks.formats.x509 import analyze_cert, dns_match, host_covered, tls_suspects
from blackstart.checks.probe_results import CertInfo


@pytest.fixture(scope="module")
def ca():
    return make_ca()


def analyze(pair, ca, role="etcd-server", hosts=("127.0.0.1",), **kw):
    args = {"key_pem": pair.key_pem, "ca_pem": ca.cert_pem, "now": NOW_TS} | kw
    return analyze_cert(pair.cert_pem, path="/pki/etcd/server.crt", node="etcd1", role=role,
                        member="etcd1", expect_hosts=list(hosts), **args)


def test_good_server_cert_has_no_problem(ca):
    info = analyze(make_leaf(ca), ca, hosts=("127.0.0.1", "etcd1", "::1"))
    assert info.error is None
    assert info.problems == []
    assert 264 < info.days_left < 266
    assert "IP:127.0.0.1" in info.sans and "DNS:etcd1" in info.sans
    assert info.subject == "CN=etcd1" and info.issuer == "CN=etcd-ca"


def test_expired_says_since_when_and_clock(ca):
    info = analyze(make_leaf(ca, start_days=-400, end_days=-3), ca)
    assert info.problems == ["expired"]
    assert "2026-11-23" in info.explain["expired"]
    assert "3 days ago" in info.explain["expired"]
    assert "clock" in info.explain["expired"]
    assert info.days_left < 0


def test_not_yet_valid_against_node_clock(ca):
    # A cert issued today, seen by a node whose clock went back a year after power loss.
    pair = make_leaf(ca, start_days=0, end_days=365)
    info = analyze(pair, ca, now=NOW_TS - 365 * 86400)
    assert info.problems == ["not-yet-valid"]
    assert "check the clock first" in info.explain["not-yet-valid"]
    # The same bytes at the right time are fine: the clock decides.
    assert analyze(pair, ca, now=NOW_TS + 60).problems == []


def test_expiring_within_30_days(ca):
    info = analyze(make_leaf(ca, end_days=12), ca)
    assert info.problems == ["expiring"]
    assert analyze(make_leaf(ca, end_days=31), ca).problems == []


def test_wrong_ca_is_chain(ca):
    other = make_ca("etcd-ca")  # same name, different key: a regenerated CA
    info = analyze(make_leaf(other), ca)
    assert info.problems == ["chain"]
    assert "signature does not verify" in info.explain["chain"]
    info2 = analyze(make_leaf(make_ca("other-ca")), ca)
    assert "issuer is not the CA's subject" in info2.explain["chain"]


def test_key_mismatch(ca):
    a, b = make_leaf(ca), make_leaf(ca)
    info = analyze(a, ca, key_pem=b.key_pem)
    assert info.problems == ["key-mismatch"]


def test_san_missing_ip_and_dns(ca):
    pair = make_leaf(ca, dns=("etcd1", "localhost"), ips=("127.0.0.1",))
    info = analyze(pair, ca, hosts=("127.0.0.2", "etcd2"))
    assert info.problems == ["san"]
    assert "127.0.0.2" in info.explain["san"] and "etcd2" in info.explain["san"]
    # An IP written as a DNS SAN does not cover the IP (Go matches IPs against IP SANs).
    spelled = make_leaf(ca, dns=("127.0.77.5",), ips=())
    assert analyze(spelled, ca, hosts=("127.0.77.5",)).problems == ["san"]


def test_eku_server_needs_both(ca):
    info = analyze(make_leaf(ca, eku=(SERVER[0],)), ca)
    assert info.problems == ["eku"]
    assert "clientAuth" in info.explain["eku"]
    client = make_leaf(ca, cn="kube-apiserver-etcd-client", eku=(SERVER[0],), dns=(), ips=())
    assert analyze(client, ca, role="apiserver-etcd-client", hosts=()).problems == ["eku"]
    ok = make_leaf(ca, cn="kube-apiserver-etcd-client", eku=CLIENT, dns=(), ips=())
    assert analyze(ok, ca, role="apiserver-etcd-client", hosts=()).problems == []


def test_ca_flag(ca):
    assert analyze(make_leaf(ca, ca_flag=True), ca).problems == ["ca-flag"]
    not_ca = make_ca(ca_flag=False)
    info = analyze_cert(not_ca.cert_pem, path="/pki/etcd/ca.crt", node="n", role="etcd-ca",
                        now=NOW_TS)
    assert info.problems == ["ca-flag"]
    good = analyze_cert(ca.cert_pem, path="/pki/etcd/ca.crt", node="n", role="etcd-ca",
                        ca_pem=ca.cert_pem, key_pem=ca.key_pem, now=NOW_TS)
    assert good.problems == [] and good.error is None


def test_several_problems_at_once(ca):
    other = make_ca("x")
    pair = make_leaf(other, start_days=-400, end_days=-1, eku=CLIENT, ips=())
    info = analyze(pair, ca, hosts=("127.0.0.1",), key_pem=make_leaf(ca).key_pem)
    assert set(info.problems) == {"expired", "chain", "key-mismatch", "san", "eku"}
    assert set(info.explain) == set(info.problems)


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "empty"),
    (b"   \n", "empty"),
    (b"hello world, not a certificate", "not a PEM"),
    (b"-----BEGIN CERTIFICATE-----\nMIIB\n", "truncated or malformed"),
    (b"-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----\n", "no CERTIFICATE"),
    (b"-----BEGIN CERTIFICATE-----\n" + b"A" * (2 << 20), "too large"),
])
def test_bad_cert_files_name_the_path(data, reason):
    info = analyze_cert(data, path="/pki/etcd/server.crt", node="etcd1", role="etcd-server",
                        now=NOW_TS)
    assert info.error is not None
    assert info.error.startswith("/pki/etcd/server.crt: ")
    assert reason in info.error


def test_truncated_real_pem(ca):
    pem = make_leaf(ca).cert_pem
    info = analyze_cert(pem[: len(pem) // 2], path="/p/s.crt", node="n", role="etcd-server",
                        now=NOW_TS)
    assert info.error and "/p/s.crt" in info.error


def test_der_instead_of_pem(ca):
    info = analyze_cert(make_leaf(ca).cert_der, path="/p/server.crt", node="n",
                        role="etcd-server", now=NOW_TS)
    assert info.error and "DER" in info.error and "/p/server.crt" in info.error


def test_encrypted_key_is_an_error_naming_the_key(ca):
    pair = make_leaf(ca)
    info = analyze(pair, ca, key_pem=pair.key_pem_encrypted(), key_path="/pki/etcd/server.key")
    assert info.error and "/pki/etcd/server.key" in info.error and "encrypted" in info.error
    assert info.subject == "CN=etcd1"  # the certificate itself is still analyzed
    assert info.problems == []


def test_garbage_ca_is_an_error_naming_the_ca(ca):
    info = analyze(make_leaf(ca), ca, ca_pem=b"\x00\x01garbage", ca_path="/pki/etcd/ca.crt")
    assert info.error and info.error.startswith("/pki/etcd/ca.crt: ")


@pytest.mark.parametrize(("pattern", "host", "ok"), [
    ("etcd1", "ETCD1", True),
    ("*.etcd.local", "a.etcd.local", True),
    ("*.etcd.local", "a.b.etcd.local", False),
    ("*.etcd.local", "etcd.local", False),
    ("etcd1.", "etcd1", True),
])
def test_dns_match(pattern, host, ok):
    assert dns_match(pattern, host) is ok


def test_ipv6_sans():
    assert host_covered("[::1]", [], ["::1"])
    assert host_covered("0:0:0:0:0:0:0:1", [], ["::1"])
    assert not host_covered("::2", ["::2"], [])


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=4096))
def test_analyze_never_raises(data):
    info = analyze_cert(data, path="/x.crt", node="n", role="etcd-server", key_pem=data,
                        ca_pem=data, now=NOW_TS, expect_hosts=["127.0.0.1"])
    assert info.error  # random bytes are never a certificate


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=64), st.integers(min_value=0, max_value=2000))
def test_analyze_never_raises_on_corrupted_pem(junk, at):
    pem = bytearray(_CA_FOR_HYPOTHESIS.cert_pem)
    at = min(at, len(pem))
    pem[at:at + len(junk)] = junk
    info = analyze_cert(bytes(pem), path="/x.crt", node="n", role="etcd-ca", now=NOW_TS)
    assert info.error or info.subject


_CA_FOR_HYPOTHESIS = make_ca()


# --------------------------------------------------------------------------- blame


def _ci(path, role, member=None, problems=()):
    return CertInfo(path=path, node="etcd1", role=role, member=member, problems=list(problems))


SERVER1 = "/pki/etcd1/server.crt"
CLIENT_CRT = "/pki/apiserver-etcd-client.crt"


def _inventory(server_problems=(), client_problems=(), ca_problems=()):
    return [
        _ci("/pki/ca.crt", "etcd-ca", problems=ca_problems),
        _ci(SERVER1, "etcd-server", "etcd1", server_problems),
        _ci("/pki/etcd2/server.crt", "etcd-server", "etcd2"),
        _ci(CLIENT_CRT, "apiserver-etcd-client", problems=client_problems),
    ]


def _paths(found):
    return [c.path for c in found]


def test_suspects_expired_names_the_expired_one():
    text = ("transport: authentication handshake failed: x509: certificate has expired or "
            "is not yet valid: current time 2026-11-26T01:00:00Z is after 2026-11-20")
    found = tls_suspects(_inventory(server_problems=["expired"]), member="etcd1",
                         client_cert=CLIENT_CRT, error_text=text)
    assert _paths(found) == [SERVER1]
    found = tls_suspects(_inventory(client_problems=["not-yet-valid"]), member="etcd1",
                         client_cert=CLIENT_CRT, error_text=text)
    assert _paths(found) == [CLIENT_CRT]


def test_suspects_bad_certificate_points_at_client():
    text = "transport: authentication handshake failed: remote error: tls: bad certificate"
    found = tls_suspects(_inventory(), member="etcd1", client_cert=CLIENT_CRT, error_text=text)
    assert _paths(found) == [CLIENT_CRT]


def test_suspects_wrong_host_and_unknown_authority():
    wrong = "x509: certificate is valid for etcd2, localhost, 127.0.0.2, not 127.0.0.1"
    found = tls_suspects(_inventory(server_problems=["san"]), member="etcd1",
                         client_cert=CLIENT_CRT, error_text=wrong)
    assert _paths(found) == [SERVER1]
    unknown = "x509: certificate signed by unknown authority"
    found = tls_suspects(_inventory(server_problems=["chain"]), member="etcd1",
                         client_cert=CLIENT_CRT, error_text=unknown)
    assert _paths(found) == [SERVER1]


def test_suspects_empty_for_non_tls_error():
    assert tls_suspects(_inventory(), member="etcd1", client_cert=CLIENT_CRT,
                        error_text="dial tcp 127.0.0.1:2379: connect: connection refused") == []


def test_ca_bundle_during_rotation(ca):
    old, other = make_ca("etcd-ca"), make_ca("x-ca")
    leaf = make_leaf(ca)
    assert analyze(leaf, ca, ca_pem=old.cert_pem + ca.cert_pem).problems == []
    bad = analyze(leaf, ca, ca_pem=old.cert_pem + other.cert_pem)
    assert bad.problems == ["chain"] and "CN=x-ca" in bad.explain["chain"]



def test_malformed_extension_never_raises(ca):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "etcd1")])
    bad_san = x509.UnrecognizedExtension(ExtensionOID.SUBJECT_ALTERNATIVE_NAME, b"\x30\xff!")
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(ca.cert.subject)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(dt.datetime(2026, 1, 1)).not_valid_after(dt.datetime(2027, 1, 1))
            .add_extension(bad_san, critical=False).sign(ca.key, hashes.SHA256()))
    info = analyze_cert(cert.public_bytes(Encoding.PEM), path="/p/bad-ext.crt", node="n",
                        role="etcd-server", ca_pem=ca.cert_pem, now=NOW_TS,
                        expect_hosts=["127.0.0.1"])
    # Judged (unreadable SANs cover nothing) or an error naming the file, never a traceback.
    assert info.problems == ["san"] or (info.error and "/p/bad-ext.crt" in info.error)
