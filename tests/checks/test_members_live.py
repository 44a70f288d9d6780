"""probe_members against real etcd 3.5 with real TLS on 127.0.8.x (no lab needed).

A 3-member cluster with client-cert auth, plus: a listening socket that accepts and never
answers (blackholed member), a single member serving an expired server certificate, a
stopped member, and a client whose certificate expired. Every process and socket started
here is stopped by the fixtures' finalizers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from certgen import CLIENT, SERVER, Pair, make_ca, make_leaf

from blackstart.checks.model import Cluster, Member, Node, TLSFiles
from blackstart.checks.probes.context import ProbeContext
from blackstart.checks.probes.members import probe_members, quorum
from blackstart.checks.versions import known_bad_version

pytestmark = pytest.mark.lab

NET = "127.0.8"
CLIENT_PORT, PEER_PORT, METRICS_PORT = 42379, 42380, 42381


def _write(pair: Pair, base: Path) -> tuple[str, str]:
    base.parent.mkdir(parents=True, exist_ok=True)
    crt, key = base.with_suffix(".crt"), base.with_suffix(".key")
    crt.write_bytes(pair.cert_pem)
    key.write_bytes(pair.key_pem)
    key.chmod(0o600)
    return str(crt), str(key)


@dataclass
class Pki:
    dir: Path
    ca: Pair
    now: dt.datetime

    @property
    def ca_path(self) -> str:
        return str(self.dir / "ca.crt")

    def server(self, name: str, ip: str, *, expired: bool = False,
               future: bool = False) -> TLSFiles:
        days = (-400, -35) if expired else (30, 395) if future else (-1, 365)
        pair = make_leaf(self.ca, name, dns=(name, "localhost"), ips=(ip, "127.0.0.1"),
                         eku=SERVER, start_days=days[0], end_days=days[1], base=self.now)
        crt, key = _write(pair, self.dir / name / "server")
        return TLSFiles(crt, key, self.ca_path)

    def client(self, name: str = "healthcheck-client", *, expired: bool = False) -> TLSFiles:
        days = (-400, -35) if expired else (-1, 365)
        pair = make_leaf(self.ca, f"kube-etcd-{name}", dns=(), ips=(), eku=CLIENT,
                         start_days=days[0], end_days=days[1], base=self.now)
        crt, key = _write(pair, self.dir / name)
        return TLSFiles(crt, key, self.ca_path)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    now = dt.datetime.now(dt.UTC)
    ca = make_ca(base=now)
    (d / "ca.crt").write_bytes(ca.cert_pem)
    return Pki(d, ca, now)


class Etcd:
    """One real etcd member with TLS on NET.<n>; `stop()` kills it."""

    def __init__(self, bin: str, root: Path, name: str, ip: str, *, tls: TLSFiles,
                 cluster: str) -> None:
        self.name, self.ip, self.tls = name, ip, tls
        self.data = root / name / "data"
        self.log = root / f"{name}.log"
        self.argv = [
            bin, "--name", name, "--data-dir", str(self.data),
            "--listen-client-urls", self.client_url, "--advertise-client-urls", self.client_url,
            "--listen-peer-urls", self.peer_url, "--initial-advertise-peer-urls", self.peer_url,
            "--initial-cluster", cluster, "--initial-cluster-token", "bs-test",
            "--listen-metrics-urls", self.metrics_url,
            "--cert-file", tls.cert, "--key-file", tls.key, "--trusted-ca-file", tls.ca,
            "--client-cert-auth",
            "--peer-cert-file", tls.cert, "--peer-key-file", tls.key,
            "--peer-trusted-ca-file", tls.ca, "--peer-client-cert-auth",
        ]
        self.proc: subprocess.Popen[bytes] | None = None

    client_url = property(lambda self: f"https://{self.ip}:{CLIENT_PORT}")
    peer_url = property(lambda self: f"https://{self.ip}:{PEER_PORT}")
    metrics_url = property(lambda self: f"http://{self.ip}:{METRICS_PORT}")

    def start(self) -> Etcd:
        self.data.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=log)
        return self

    def wait_healthy(self, timeout: float = 30) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.metrics_url}/health", timeout=1) as r:
                    if b'"true"' in r.read():
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not healthy: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def member(self, node: str = "local") -> Member:
        return Member(name=self.name, node=node, client_url=self.client_url,
                      peer_url=self.peer_url, data_dir=str(self.data),
                      metrics_url=self.metrics_url, server=self.tls)


def start_cluster(bin: str, root: Path, pki: Pki, names_ips: list[tuple[str, str]]
                  ) -> list[Etcd]:
    cluster = ",".join(f"{n}=https://{ip}:{PEER_PORT}" for n, ip in names_ips)
    members = [Etcd(bin, root, n, ip, tls=pki.server(n, ip), cluster=cluster)
               for n, ip in names_ips]
    try:
        for m in members:
            m.start()
        for m in members:
            m.wait_healthy()
    except BaseException:
        for m in members:
            m.stop()
        raise
    return members


@pytest.fixture(scope="module")
def trio(etcd_bins: dict[str, str], pki: Pki, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[list[Etcd]]:
    members = start_cluster(etcd_bins["etcd"], tmp_path_factory.mktemp("trio"), pki,
                            [(f"m{i}", f"{NET}.{i}") for i in (1, 2, 3)])
    yield members
    for m in members:
        m.stop()


@pytest.fixture
def blackhole() -> Iterator[str]:
    """A socket on 127.0.8.9 that accepts connections (backlog) and never says a word."""
    sock = socket.socket()
    sock.bind((f"{NET}.9", CLIENT_PORT))
    sock.listen(16)
    yield f"https://{NET}.9:{CLIENT_PORT}"
    sock.close()


def cluster_of(members: list[Member], client: TLSFiles) -> Cluster:
    return Cluster(name="t", nodes=(Node("local"),), members=tuple(members), client=client)


async def probe(cluster: Cluster, deadline: float = 5.0) -> list:
    ctx = ProbeContext(cluster, deadline=deadline)
    try:
        return await probe_members(ctx)
    finally:
        await ctx.close()


async def test_healthy_members_report_status(trio: list[Etcd], pki: Pki) -> None:
    states = await probe(cluster_of([m.member() for m in trio], pki.client()))
    assert [s.name for s in states] == ["m1", "m2", "m3"]
    for s in states:
        assert s.healthy, s.error
        assert s.error_class is None and s.error is None
        assert s.version == "3.5.1"
        assert known_bad_version(s.version) is not None  # 3.5.1: fixed in 3.5.3
        assert s.raft_term and s.raft_term >= 2
        assert s.raft_index and s.raft_index > 0
        assert s.revision == 1
        assert s.db_size and s.db_size > 0
        assert s.db_size_in_use and 0 < s.db_size_in_use <= s.db_size
        assert s.alarms == []
    assert len({s.member_id for s in states}) == 3
    assert len({s.leader_id for s in states}) == 1  # one leader, agreed by all
    assert sum(s.leader for s in states) == 1
    assert quorum(states, 3) == (3, 3, 2)


async def test_blackholed_member_times_out_without_delaying_others(
        trio: list[Etcd], pki: Pki, blackhole: str) -> None:
    dead = Member("m9", "local", blackhole, f"https://{NET}.9:{PEER_PORT}", "/nowhere")
    cluster = cluster_of([m.member() for m in trio] + [dead], pki.client())
    t0 = time.monotonic()
    task_times: dict[str, float] = {}
    deadline = 4.0  # wide enough that "did not wait for the blackhole" is clear under load
    ctx = ProbeContext(cluster, deadline=deadline)

    from blackstart.checks.probes import members as mod

    async def timed(member: Member):  # the same per-member entry point probe_members uses
        state = await mod._bounded(ctx, member)
        task_times[member.name] = time.monotonic() - t0
        return state

    import asyncio
    states = await asyncio.gather(*(timed(m) for m in cluster.members))
    total = time.monotonic() - t0
    by = {s.name: s for s in states}
    assert by["m9"].error_class == "timeout", by["m9"].error
    assert "TLS handshake" in (by["m9"].error or "")
    assert all(by[n].healthy for n in ("m1", "m2", "m3"))
    assert max(task_times[n] for n in ("m1", "m2", "m3")) < deadline - 1.0
    assert deadline - 0.1 <= task_times["m9"] < deadline + 2.0
    assert total < deadline + 2.0
    # and the public entry point is bounded the same way
    t1 = time.monotonic()
    states = await probe(cluster, deadline=deadline)
    assert time.monotonic() - t1 < deadline + 2.0
    assert [s.error_class for s in states] == [None, None, None, "timeout"]
    assert quorum(states, 4) == (3, 4, 3)


@pytest.mark.parametrize(("flaw", "words"), [
    ("expired", "certificate has expired"),
    ("future", "not yet valid"),  # a clock set back by the power cut looks like this
])
async def test_bad_server_cert_names_the_server_cert(
        etcd_bins: dict[str, str], pki: Pki, tmp_path: Path, flaw: str, words: str) -> None:
    ip = f"{NET}.5"
    tls = pki.server(f"x5{flaw}", ip, **{flaw: True})
    m = Etcd(etcd_bins["etcd"], tmp_path, "x5", ip, tls=tls,
             cluster=f"x5=https://{ip}:{PEER_PORT}")
    m.start()
    try:
        m.wait_healthy()  # /health is plain http on the metrics port: etcd runs fine
        [state] = await probe(cluster_of([m.member()], pki.client()))
    finally:
        m.stop()
    assert state.error_class == "tls", state.error
    assert state.tls_fault == tls.cert
    assert words in (state.error or ""), state.error
    assert not state.healthy


async def test_expired_client_cert_names_the_client_cert(trio: list[Etcd], pki: Pki) -> None:
    client = pki.client("old-client", expired=True)
    member = dataclasses.replace(trio[0].member(), server=None)  # no other cert to try
    [state] = await probe(cluster_of([member], client))
    assert state.error_class == "tls", state.error
    assert state.tls_fault == client.cert
    assert "rejected blackstart's client certificate" in (state.error or "")
    assert "expired" in (state.error or "")


async def test_rejected_client_cert_still_learns_health_with_the_server_cert(
        trio: list[Etcd], pki: Pki) -> None:
    """Quorum must not look lost just because blackstart's own certificate expired: the
    member's server certificate (clientAuth, as kubeadm issues it) is asked instead."""
    client = pki.client("old-client2", expired=True)
    states = await probe(cluster_of([m.member() for m in trio], client))
    for s, m in zip(states, trio, strict=True):
        assert s.healthy and s.error_class is None
        assert s.tls_fault == client.cert
        assert "rejected blackstart's client certificate" in (s.error or "")
        assert m.tls.cert in (s.error or "")
    assert quorum(states, 3) == (3, 3, 2)


async def test_missing_client_key_is_named(trio: list[Etcd], pki: Pki, tmp_path: Path) -> None:
    good = pki.client()
    client = TLSFiles(good.cert, str(tmp_path / "gone.key"), good.ca)
    [state] = await probe(cluster_of([trio[0].member()], client))
    assert state.error_class == "tls"
    assert state.tls_fault == client.key


async def test_stopped_member_is_refused(etcd_bins: dict[str, str], pki: Pki,
                                         tmp_path: Path) -> None:
    ip = f"{NET}.6"
    m = Etcd(etcd_bins["etcd"], tmp_path, "x6", ip, tls=pki.server("x6", ip),
             cluster=f"x6=https://{ip}:{PEER_PORT}")
    m.start()
    try:
        m.wait_healthy()
        [up] = await probe(cluster_of([m.member()], pki.client()))
    finally:
        m.stop()
    [down] = await probe(cluster_of([m.member()], pki.client()))
    assert up.healthy and up.leader
    assert down.error_class == "refused"
    assert "connection refused" in (down.error or "")
    assert quorum([down], 1) == (0, 1, 1)


async def test_tls13_only_server_is_not_called_a_tls_failure(pki: Pki) -> None:
    """A member that refuses TLS 1.2 (newer etcd's --tls-min-version=TLS1.3): the probe
    retries in 1.3, the handshake passes, and what fails next is the etcd API (this server
    speaks TLS but not gRPC)."""
    import asyncio
    import ssl

    ip = f"{NET}.7"
    tls = pki.server("t13", ip)
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.minimum_version = ssl.TLSVersion.TLSv1_3
    sctx.load_cert_chain(tls.cert, tls.key)

    async def close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(close_at_once, ip, CLIENT_PORT, ssl=sctx)
    try:
        m = Member("t13", "local", f"https://{ip}:{CLIENT_PORT}", "", "", server=tls)
        [state] = await probe(cluster_of([m], pki.client()), deadline=3)
    finally:
        server.close()
        await server.wait_closed()
    assert state.error_class != "tls", state.error
    assert "etcd API" in (state.error or ""), state.error


async def test_endpoint_names_give_way_to_the_member_list(trio: list[Etcd], pki: Pki) -> None:
    from blackstart.checks.discovery.inventory import cluster_from_endpoints

    client = pki.client()
    cluster = cluster_from_endpoints(",".join(m.client_url for m in trio), client.ca,
                                     client.cert, client.key, where="--endpoints")
    assert [m.name for m in cluster.members] == [m.ip for m in trio]
    states = await probe(cluster)
    assert [s.name for s in states] == ["m1", "m2", "m3"]
    assert all(s.healthy for s in states)
