"""The kubeadm-shaped lab (shape: kubeadm): nodes are isolated hosts with a real kubelet.

Every test here runs on the kubeadm shape: each node its own mount/UTS/PID namespaces,
kubeadm's paths inside, a kubelet running the static pods, an sshd on the node's address.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from blackstart.lab.kubeadm import KubeadmLab

pytestmark = [pytest.mark.lab, pytest.mark.kubeadm]
Factory = Callable[..., KubeadmLab]
# As the README tells an operator; a longer per-call deadline for a loaded 2-core CI box.
CHECK = ["blackstart", "check", "--json", "--deadline", "30"]
ETCDCTL = "/usr/bin/etcdctl"
HOST_TMP = Path("/tmp")  # noqa: S108 - the host's own /tmp is what must stay untouched


def wait_until(what: Callable[[], object], timeout: float, why: str) -> object:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = what()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout:g}s: {why}")


def _host_mounts() -> str:
    return Path("/proc/self/mountinfo").read_text()


def test_nodes_are_isolated_hosts_and_down_leaves_nothing(
        kubeadm_lab_factory: Factory, tmp_path: Path) -> None:
    canary = HOST_TMP / f"blackstart-canary-{uuid.uuid4().hex}"
    canary.write_text("host /tmp must survive the lab")
    host_backup = os.path.exists("/backup")
    host_var_lib = sorted(os.listdir("/var/lib"))
    try:
        lab = kubeadm_lab_factory()
        assert lab.status()["healthy"] == 3
        marker = f"node-marker-{uuid.uuid4().hex}"
        r = lab.node_run("master02", ["sh", "-c", f"hostname; touch /tmp/{marker}; "
                                      "ls /etc/kubernetes/manifests /var/lib/etcd "
                                      "/etc/kubernetes/pki/etcd /backup/etcd; "
                                      f"test -e {canary} && echo SEES-HOST-TMP; "
                                      "ps -e -o comm="])
        assert r.returncode == 0, r.stderr
        out = r.stdout.split()
        assert out[0] == "master02"
        for name in ("etcd.yaml", "kube-apiserver.yaml", "member", "server.crt", "peer.crt"):
            assert name in out, r.stdout
        assert any(x.startswith("etcd-snapshot-") for x in out)
        assert "SEES-HOST-TMP" not in out  # the node's /tmp is its own
        assert "etcd" in out and "sshd" in out  # its own PID namespace: its processes only
        assert not (HOST_TMP / marker).exists()
        assert (lab.node("master02").root / "tmp" / marker).exists()
        if os.path.exists(ETCDCTL):  # an independent etcdctl 3.4, run inside a node
            pki = "/etc/kubernetes/pki/etcd"
            eps = ",".join(n.spec.client_url for n in lab.nodes)
            h = lab.node_run("master01", [ETCDCTL, f"--endpoints={eps}", f"--cacert={pki}/ca.crt",
                                          f"--cert={pki}/healthcheck-client.crt",
                                          f"--key={pki}/healthcheck-client.key",
                                          "endpoint", "health"])
            assert (h.stdout + h.stderr).count("is healthy") == 3, h.stdout + h.stderr
        spaces = lab.namespaces()
        assert len(spaces) == 3
        assert str(lab.dir) not in _host_mounts()
        lab.down()
        assert lab.stray_processes() == []
        for p in psutil.process_iter():
            try:
                assert os.readlink(f"/proc/{p.pid}/ns/pid") not in spaces, p
            except (OSError, psutil.Error):
                continue
        assert str(lab.dir) not in _host_mounts() and "lab-root" not in _host_mounts()
        assert canary.read_text() == "host /tmp must survive the lab"
        assert os.path.exists("/backup") == host_backup
        assert sorted(os.listdir("/var/lib")) == host_var_lib
    finally:
        canary.unlink(missing_ok=True)


def test_kubelet_restarts_a_killed_etcd_and_a_parked_manifest_keeps_it_down(
        kubeadm_lab_factory: Factory) -> None:
    lab = kubeadm_lab_factory()
    old = lab.running("master02", "etcd")
    assert old is not None
    os.kill(old, signal.SIGKILL)
    new = wait_until(lambda: (p := lab.running("master02", "etcd")) and p != old and p,
                     15, "the kubelet brings the killed etcd back")
    assert isinstance(new, int)
    pod = lab._pod("master02", "etcd")
    assert pod is not None
    dead, alive = pod["containers"][-2:]
    assert (dead["state"], dead["exit_code"], dead["attempt"]) == ("Exited", 137, 0)
    assert (alive["state"], alive["attempt"]) == ("Running", 1)
    logdir = lab.node("master02").root / "var/log/pods"
    logs = sorted(p.name for p in logdir.glob("kube-system_etcd-master02_*/etcd/*.log"))
    assert logs == ["0.log", "1.log"]
    lab.wait_healthy(20)
    first = next(logdir.glob("kube-system_etcd-master02_*/etcd/1.log")).read_text()
    assert " stderr F " in first.splitlines()[0]  # CRI format, etcd writes to stderr
    ps = lab.crictl_ps("master02")
    assert "137" in ps and "Running" in ps

    lab.stop("master02", "etcd")  # park the manifest, as an SRE stops a static pod
    live = lab.node("master02").root / "etc/kubernetes/manifests/etcd.yaml"
    assert not live.exists()
    assert lab.running("master02", "etcd") is None
    time.sleep(3)  # far past the first restart's back-off (none): it stays down
    assert lab.running("master02", "etcd") is None
    assert lab._pod("master02", "etcd") is None
    assert "etcd-master02" not in lab.crictl_ps("master02")
    lab.start("master02", "etcd")
    assert lab.wait_started("master02") == "serving"

    # A changed manifest is a new pod (new UID, new log dir), started after the old stops.
    text = live.read_text()
    live.write_text(text.replace("--snapshot-count=10000", "--snapshot-count=9999"))
    wait_until(lambda: len(list(logdir.glob("kube-system_etcd-master02_*"))) == 2, 15,
               "the changed manifest makes a new pod")
    lab.wait_healthy(20)


def test_power_cut_kills_every_node_and_up_is_the_power_coming_back(
        kubeadm_lab_factory: Factory) -> None:
    lab = kubeadm_lab_factory()
    said = lab.break_fault("power-cut")
    assert "writes in flight" in said and "PID 1 of 3 nodes" in said
    for n in lab.nodes:
        assert lab.init_pid(n.name) is None
        for svc in ("etcd", "kubelet", "sshd"):
            assert lab.running(n.name, svc) is None
    assert lab.stray_processes() == []
    st = lab.up()
    assert st["healthy"] == 3
    for n in lab.nodes:
        pod = lab._pod(n.name, "etcd")
        assert pod is not None
        # a runtime that kept its dead containers: the restart count goes on after the boot
        assert pod["containers"][-1]["attempt"] == 1, pod


def test_seed_outage_is_found_from_inside_master01_with_no_configuration(
        kubeadm_lab_factory: Factory) -> None:
    """`lab shell master01 -- blackstart check --json`, no blackstart.toml anywhere: the
    three members come from --initial-cluster, master02 is read over SSH with master01's
    /root/.ssh key and known_hosts, on master02's own filesystem."""
    import json

    lab = kubeadm_lab_factory()
    lab.break_fault("power-cut")
    lab.up()
    lab.break_fault("expire-cert", "master01")
    lab.break_fault("corrupt-wal", "master02")
    assert not lab.node_run("master01", ["test", "-e", "/etc/blackstart/blackstart.toml"]
                            ).returncode == 0
    r = lab.node_run("master01", CHECK, timeout=180)
    report = json.loads(r.stdout)
    assert [m["name"] for m in report["members"]] == ["master01", "master02", "master03"]
    found = {(f["code"], f["subject"]) for f in report["findings"]}
    assert ("cert-expired", "/etc/kubernetes/pki/etcd/server.crt") in found, found
    expired = next(f for f in report["findings"] if f["code"] == "cert-expired")
    assert "(master01)" in expired["seen"]
    assert ("wal-corrupt", "master02") in found, (
        report["probe_errors"], [f for f in report["findings"] if "02" in f["subject"]])
    assert report["nodes_without_access"] == [], report["nodes_without_access"]
    assert r.returncode == 2  # critical


async def test_handwritten_inventory_in_the_node_and_root_from_the_host(
        kubeadm_lab_factory: Factory) -> None:
    """The second path: /etc/blackstart/blackstart.toml written on master01 is what
    blackstart uses there. And `--root` on the host, pointed at a node's files (a mounted
    copy of a master), maps every path under that root and probes the live cluster."""
    import asyncio
    import json

    from blackstart.checks.discovery.inventory import load_inventory
    from blackstart.checks.probes.context import ProbeContext
    from blackstart.checks.probes.members import probe_members

    lab = kubeadm_lab_factory()
    path = lab.write_node_inventory("master01")
    r = await asyncio.to_thread(lab.node_run, "master01", CHECK,
                                180)
    report = json.loads(r.stdout)
    assert report["cluster"] == "by-hand", path  # the toml's name, not discovery's
    assert [m["name"] for m in report["members"]] == ["master01", "master02", "master03"]
    assert report["nodes_without_access"] == []
    assert all(m["healthy"] for m in report["members"]), report["members"]

    root = lab.node("master01").root
    c = load_inventory(root=str(root), env={})
    assert c.members[0].data_dir == f"{root}/var/lib/etcd"
    assert [m.data_dir for m in c.members[1:]] == ["/var/lib/etcd"] * 2  # on their disks
    assert c.nodes[1].ssh is not None
    assert c.nodes[1].ssh.key_file == f"{root}/root/.ssh/id_ed25519"
    ctx = ProbeContext(c, deadline=5)
    states = await probe_members(ctx)
    await ctx.close()
    assert all(s.healthy for s in states), [s.error for s in states]
