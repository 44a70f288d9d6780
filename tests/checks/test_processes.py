"""checks.probes.processes: attribution rules (pure), real processes via psutil and via `ps`."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from blackstart.checks.model import Cluster, LogSource, Member, Node, Service, SSHTarget
from blackstart.checks.nodes import LocalNode
from blackstart.checks.probe_results import ProcessInfo
from blackstart.checks.probes.context import ProbeContext
from blackstart.checks.probes.processes import (
    component_of,
    expected,
    owner,
    parse_ps,
    prefer_anchored,
    probe_processes,
    recently_started,
)

ETCD = "/usr/local/bin/etcd"


def member(name: str, node: str, ip: str) -> Member:
    return Member(name, node, f"https://{ip}:2379", f"https://{ip}:2380", f"/srv/{name}/etcd")


LAB = Cluster(
    name="t",
    nodes=(Node("n1"), Node("n2"), Node("far", has_access=False)),
    members=(member("m1", "n1", "127.0.0.11"), member("m2", "n2", "127.0.0.12"),
             member("m3", "far", "127.0.0.13")),
    services=(Service("n1", "kube-apiserver", "static-pod"),
              Service("n2", "kube-scheduler", "command")),
    logs=(LogSource("n1", "cri", "/srv/n1/var/log/pods/kube-system_kube-apiserver-*/x/*.log"),),
)


@pytest.mark.parametrize(("argv", "comp"), [
    ([ETCD, "--name=m1"], "etcd"),
    (["kube-apiserver", "--etcd-servers=https://127.0.0.1:2379"], "kube-apiserver"),
    (["/usr/bin/kubelet", "--config=/var/lib/kubelet/config.yaml"], "kubelet"),
    (["/usr/bin/python3", "-m", "blackstart.lab.standin", "kube-scheduler", "--node", "n1"],
     "kube-scheduler"),
    (["/usr/bin/python3", "-m", "blackstart.lab.standin", "kube-scheduler"], None),  # no --node
    (["/usr/bin/etcdctl", "endpoint", "status"], None),
    (["python", "blackstart", "lab", "start", "--service", "etcd"], None),
    ([], None),
])
def test_component_of(argv: list[str], comp: str | None) -> None:
    assert component_of(argv) == comp


def test_owner_rules() -> None:
    n1, n2 = LAB.node("n1"), LAB.node("n2")
    assert owner([ETCD, "--name=m2"], "etcd", LAB, [n1, n2]) == ("n2", "m2")
    # etcd of a member on a node we cannot see, running here: not ours
    assert owner([ETCD, "--name=m3"], "etcd", LAB, [n1, n2]) == (None, "m3")
    assert owner([ETCD, "--name=m2"], "etcd", LAB, [n1]) == (None, "m2")
    assert owner(["py", "kube-scheduler", "--node", "n1"], "kube-scheduler", LAB,
                 [n1, n2]) == ("n1", None)
    api = ["kube-apiserver", "--etcd-servers=https://127.0.0.12:2379"]
    assert owner(api, "kube-apiserver", LAB, [n1, n2]) == ("n2", None)
    # nothing identifies it, two local nodes: cannot tell; one local node: it is its
    assert owner(["kube-scheduler"], "kube-scheduler", LAB, [n1, n2]) == (None, None)
    assert owner(["kube-scheduler"], "kube-scheduler", LAB, [n1]) == ("n1", None)


def test_expected_components() -> None:
    assert expected(LAB, LAB.nodes) == [
        ("n1", "etcd", "m1"), ("n1", "kube-apiserver", None), ("n1", "kubelet", None),
        ("n2", "etcd", "m2"), ("n2", "kube-scheduler", None), ("far", "etcd", "m3")]


def test_another_clusters_namesake_is_dropped() -> None:
    ours = ProcessInfo("n1", "etcd", 1, True, [ETCD, "--name=m1", "--data-dir=/srv/m1/etcd"],
                       member="m1")
    theirs = ProcessInfo("n1", "etcd", 2, True, [ETCD, "--name=m1", "--data-dir=/other/o/etcd"],
                         member="m1")
    sched = ProcessInfo("n1", "kube-scheduler", 3, True,
                        ["py", "kube-scheduler", "--log", "/srv/n1/var/log/pods/s/0.log"])
    other_sched = ProcessInfo("n1", "kube-scheduler", 4, True,
                              ["py", "kube-scheduler", "--log", "/other/o/var/log/pods/s/0.log"])
    unknown = ProcessInfo("n2", "kube-scheduler", 5, True, ["kube-scheduler"])
    kept = prefer_anchored(LAB, [ours, theirs, sched, other_sched, unknown])
    assert [p.pid for p in kept] == [1, 3, 5]


def test_parse_ps() -> None:
    text = ("    1  86400 /sbin/init\n"
            "  812     30 /usr/local/bin/etcd --name=m1 --data-dir=/var/lib/etcd\n"
            "garbage line\n")
    procs = parse_ps(text, now=1000.0)
    assert [(p.pid, p.started) for p in procs] == [(1, 1000.0 - 86400), (812, 970.0)]
    assert procs[1].argv == (ETCD, "--name=m1", "--data-dir=/var/lib/etcd")


def test_recently_started() -> None:
    p = ProcessInfo("n", "etcd", 1, True, started=1000.0)
    assert recently_started(p, now=1060.0)
    assert not recently_started(p, now=2000.0)


# --------------------------------------------------------------------------- real processes

IP = "127.0.8.40"
SLEEPER = "import socket, sys, time\ns = socket.socket()\ns.bind(({ip!r}, 0))\ns.listen()\n" \
          "print(s.getsockname()[1], flush=True)\ntime.sleep(120)\n"


@pytest.fixture
def standins() -> Iterator[dict[str, tuple[int, int]]]:
    """A python stand-in etcd (member m1, listening on 127.0.8.40) and a kube-scheduler
    stand-in, both on node n1: {component: (pid, port)}."""
    procs: dict[str, subprocess.Popen[str]] = {}
    out = {}
    try:
        for comp, extra in (("etcd", ["--name=m1"]), ("kube-scheduler", [])):
            p = subprocess.Popen([sys.executable, "-c", SLEEPER.format(ip=IP), comp,
                                  "--node", "n1", *extra], stdout=subprocess.PIPE, text=True)
            procs[comp] = p
            assert p.stdout is not None
            out[comp] = (p.pid, int(p.stdout.readline()))
        yield out
    finally:
        for p in procs.values():
            p.kill()
            p.wait(10)


CLUSTER = Cluster(
    name="t", nodes=(Node("n1"), Node("dark", has_access=False)),
    members=(member("m1", "n1", IP),),
    services=(Service("n1", "kube-scheduler", "command"),
              Service("n1", "kube-apiserver", "command")),
)


async def test_local_processes_via_psutil(standins: dict[str, tuple[int, int]]) -> None:
    infos = await probe_processes(ProbeContext(CLUSTER, deadline=5))
    by = {(p.node, p.name): p for p in infos}
    etcd = by[("n1", "etcd")]
    assert etcd.running and etcd.pid == standins["etcd"][0] and etcd.member == "m1"
    assert f"{IP}:{standins['etcd'][1]}" in etcd.listening
    assert etcd.started is not None and recently_started(etcd, time.time())
    assert by[("n1", "kube-scheduler")].pid == standins["kube-scheduler"][0]
    api = by[("n1", "kube-apiserver")]
    assert not api.running and api.pid is None  # expected (a service) but not running
    dark = by[("dark", "*")]
    assert dark.error is not None and "node dark" in dark.error


async def test_remote_path_runs_real_ps(standins: dict[str, tuple[int, int]]) -> None:
    # The node is "remote" (it has ssh); its client is this machine's, so the real `ps`
    # output goes through the remote code path. 127.0.8.41 is never dialed.
    remote = Node("n1", ssh=SSHTarget(host="127.0.8.41"))
    cluster = Cluster("t", (remote,), CLUSTER.members, services=CLUSTER.services)
    ctx = ProbeContext(cluster, deadline=5)
    ctx.clients["n1"] = LocalNode(remote)
    infos = await probe_processes(ctx)
    by = {p.name: p for p in infos}
    assert by["etcd"].pid == standins["etcd"][0] and by["etcd"].member == "m1"
    assert by["kube-scheduler"].running
    assert by["etcd"].started is not None and time.time() - by["etcd"].started < 60
    assert not by["kube-apiserver"].running


async def test_no_process_means_not_running() -> None:
    with socket.socket() as s:  # nothing of ours runs: etcd m1 is reported as down
        s.bind((IP, 0))
    infos = await probe_processes(ProbeContext(CLUSTER, deadline=5))
    etcd = [p for p in infos if p.name == "etcd"]
    assert [(p.running, p.member) for p in etcd] == [(False, "m1")]


@pytest.mark.lab
async def test_lab_processes(healthy_lab) -> None:
    from blackstart.checks.discovery.inventory import load_inventory

    cluster = load_inventory(config=str(healthy_lab.inventory_path))
    infos = await probe_processes(ProbeContext(cluster, deadline=5))
    etcds = [p for p in infos if p.name == "etcd"]
    assert [(p.node, p.member, p.running) for p in etcds] == [
        ("etcd1", "etcd1", True), ("etcd2", "etcd2", True), ("etcd3", "etcd3", True)]
    for p, m in zip(etcds, cluster.members, strict=True):
        assert p.pid == healthy_lab.running(m.name)
        host = m.client_url.split("//")[1]
        assert host in p.listening
    apis = [p for p in infos if p.name == "kube-apiserver"]
    assert [p.node for p in apis if p.running] == ["etcd1", "etcd2", "etcd3"]


def test_own_endpoints_contradict_a_namesake() -> None:
    n1 = LAB.node("n1")
    ours = [ETCD, "--name=m1", "--advertise-client-urls=https://127.0.0.11:2379"]
    theirs = [ETCD, "--name=m1", "--advertise-client-urls=https://127.0.77.1:2379"]
    everywhere = [ETCD, "--name=m1", "--listen-client-urls=https://0.0.0.0:2379"]
    assert owner(ours, "etcd", LAB, [n1]) == ("n1", "m1")
    assert owner(theirs, "etcd", LAB, [n1]) == (None, "m1")
    assert owner(everywhere, "etcd", LAB, [n1]) == ("n1", "m1")
    api = ["py", "kube-apiserver", "--node", "n1", "--etcd-servers=https://127.0.77.1:2379"]
    assert owner(api, "kube-apiserver", LAB, [n1]) == (None, None)
