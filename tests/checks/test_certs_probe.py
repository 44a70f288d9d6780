"""checks.probes.certificates over real files on the local node (LocalNode), kubeadm layout."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from certgen import CLIENT, make_ca, make_leaf
from recording_node import RecordingNode

from blackstart.checks.model import CertSpec, Cluster, Member, Node
from blackstart.checks.probes.certificates import probe_certs
from blackstart.checks.probes.context import ProbeContext

TODAY = dt.datetime.now(dt.UTC).replace(microsecond=0)


def _write(path: Path, data: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(path)


@pytest.fixture
def pki(tmp_path):
    """etcd1 (127.0.0.1) and etcd2 (127.0.0.2); etcd2's server cert was copied from etcd1."""
    ca = make_ca(base=TODAY)
    d = tmp_path / "pki"
    files = {"ca": _write(d / "ca.crt", ca.cert_pem)}
    s1 = make_leaf(ca, "etcd1", dns=("etcd1", "localhost"), ips=("127.0.0.1",), base=TODAY)
    files["s1"] = _write(d / "etcd1/server.crt", s1.cert_pem)
    files["s1k"] = _write(d / "etcd1/server.key", s1.key_pem)
    files["s2"] = _write(d / "etcd2/server.crt", s1.cert_pem)  # the classic copy mistake
    files["s2k"] = _write(d / "etcd2/server.key", s1.key_pem)
    p2 = make_leaf(ca, "etcd2", dns=("etcd2",), ips=("127.0.0.2",), base=TODAY)
    files["p2"] = _write(d / "etcd2/peer.crt", p2.cert_pem)
    files["p2k"] = _write(d / "etcd2/peer.key", p2.key_pem)
    cl = make_leaf(ca, "kube-apiserver-etcd-client", dns=(), ips=(), eku=CLIENT,
                   start_days=-400, end_days=-2, base=TODAY)
    files["cl"] = _write(d / "apiserver-etcd-client.crt", cl.cert_pem)
    files["clk"] = _write(d / "apiserver-etcd-client.key", cl.key_pem)
    return files


def _cluster(specs: list[CertSpec], nodes=None) -> Cluster:
    members = (
        Member("etcd1", "n1", "https://127.0.0.1:2379", "https://127.0.0.1:2380", "/x"),
        Member("etcd2", "n1", "https://127.0.0.2:2379", "https://127.0.0.2:2380", "/y"),
    )
    nodes = nodes or (Node("n1"), Node("n2", has_access=False))
    return Cluster("lab", nodes=nodes, members=members, certificates=tuple(specs))


def _ctx(cluster: Cluster, clock: float | None = None) -> tuple[ProbeContext, RecordingNode]:
    rec = RecordingNode(cluster.node("n1"), clock=clock)
    return ProbeContext(cluster, clients={"n1": rec}, clock=lambda: 0.0), rec


def _spec(files, role, cert, key=None, member=None):
    return CertSpec("n1", role, files[cert], files.get(key) if key else None, files["ca"],
                    member)


async def test_probe_finds_each_problem_by_file(pki):
    specs = [
        CertSpec("n1", "etcd-ca", pki["ca"]),
        _spec(pki, "etcd-server", "s1", "s1k", "etcd1"),
        _spec(pki, "etcd-server", "s2", "s2k", "etcd2"),
        _spec(pki, "etcd-peer", "p2", "p2k", "etcd2"),
        _spec(pki, "apiserver-etcd-client", "cl", "clk"),
    ]
    ctx, rec = _ctx(_cluster(specs))
    infos = await probe_certs(ctx)
    by_path = {i.path: i for i in infos}
    assert [i.path for i in infos] == [s.path for s in specs]  # inventory order
    assert by_path[pki["ca"]].problems == []
    assert by_path[pki["s1"]].problems == []
    assert by_path[pki["s2"]].problems == ["san"]  # 127.0.0.2 not in etcd1's cert
    assert "127.0.0.2" in by_path[pki["s2"]].explain["san"]
    assert by_path[pki["p2"]].problems == []  # peer cert checked against the peer URL
    assert by_path[pki["cl"]].problems == ["expired"]
    assert all(i.error is None for i in infos)
    assert rec.writes == []
    assert all(mb is not None and mb <= (1 << 20) + 1 for _, mb, _ in rec.reads)


async def test_probe_uses_the_node_clock(pki):
    # The node's clock went back two years (dead RTC battery): everything looks not yet
    # valid there, whatever blackstart's own clock says.
    spec = _spec(pki, "etcd-server", "s1", "s1k", "etcd1")
    ctx, _ = _ctx(_cluster([spec]), clock=(TODAY - dt.timedelta(days=730)).timestamp())
    (info,) = await probe_certs(ctx)
    assert info.problems == ["not-yet-valid"]
    assert "check the clock first" in info.explain["not-yet-valid"]


async def test_missing_files_and_no_access(pki, tmp_path):
    specs = [
        CertSpec("n1", "etcd-server", str(tmp_path / "nope.crt"), member="etcd1"),
        CertSpec("n1", "etcd-server", pki["s1"], str(tmp_path / "nope.key"), pki["ca"],
                 "etcd1"),
        CertSpec("n2", "etcd-server", "/etc/kubernetes/pki/etcd/server.crt", member="etcd2"),
        CertSpec("n1", "etcd-server", pki["s1"], member="etcd9"),
    ]
    ctx, _ = _ctx(_cluster(specs))
    missing, no_key, no_access, bad_member = await probe_certs(ctx)
    assert missing.error and "nope.crt" in missing.error and "n1" in missing.error
    assert no_key.error and "nope.key" in no_key.error
    assert no_key.subject == "CN=etcd1"  # the cert was still analyzed
    assert no_access.error and "n2" in no_access.error and "no access" in no_access.error
    assert bad_member.error and "etcd9" in bad_member.error


async def test_huge_and_unreadable_files(pki, tmp_path):
    huge = tmp_path / "huge.crt"
    with open(huge, "wb") as fh:
        fh.truncate(50 << 20)  # sparse 50 MiB
    garbage = _write(tmp_path / "garbage.crt", b"\x00\xffnot a cert")
    a_dir = tmp_path / "dir.crt"
    a_dir.mkdir()
    specs = [CertSpec("n1", "etcd-server", str(huge)), CertSpec("n1", "etcd-ca", garbage),
             CertSpec("n1", "etcd-ca", str(a_dir))]
    ctx, rec = _ctx(_cluster(specs))
    big, junk, directory = await probe_certs(ctx)
    assert big.error and "too large" in big.error and "huge.crt" in big.error
    assert rec.bytes_read <= 2 * ((1 << 20) + 1)  # never the whole 50 MiB
    assert junk.error and junk.error.startswith(f"{garbage}: not a PEM")
    assert directory.error and "dir.crt" in directory.error


def test_expected_hosts_from_comma_separated_urls():
    from blackstart.checks.probes.certificates import expected_hosts

    m = Member("etcd1", "n1", "https://127.0.0.1:2379,https://[::1]:2379,https://etcd1:2379",
               "https://127.0.0.1:2380", "/x")
    cluster = Cluster("lab", nodes=(Node("n1"),), members=(m,))
    assert expected_hosts(cluster, CertSpec("n1", "etcd-server", "/s", member="etcd1")) == [
        "127.0.0.1", "::1", "etcd1"]
    assert expected_hosts(cluster, CertSpec("n1", "etcd-peer", "/p", member="etcd1")) == [
        "127.0.0.1"]
    assert expected_hosts(cluster, CertSpec("n1", "apiserver-etcd-client", "/c")) == []
