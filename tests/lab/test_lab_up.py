"""The lab's must-show: an independent client sees 3/3 healthy, and down leaves nothing."""

from __future__ import annotations

import os
import subprocess
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from blackstart.lab.cluster import Lab

pytestmark = pytest.mark.lab

DEBIAN_ETCDCTL = "/usr/bin/etcdctl"


def debian_etcdctl(lab: Lab, *args: str, member: str | None = None, timeout: float = 20
                   ) -> subprocess.CompletedProcess[str]:
    """Debian's etcdctl 3.4, ETCDCTL_API=3, with the lab's healthcheck-client cert;
    all members' endpoints, or only `member`'s."""
    if not os.path.exists(DEBIAN_ETCDCTL):
        from labnet import missing

        missing(DEBIAN_ETCDCTL)
    env = dict(os.environ) | lab.etcdctl_env(member)
    return subprocess.run([DEBIAN_ETCDCTL, *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_independent_etcdctl_sees_three_healthy(healthy_lab: Lab) -> None:
    r = debian_etcdctl(healthy_lab, "endpoint", "health", "--dial-timeout=3s")
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert out.count("is healthy: successfully committed proposal") == 3, out


def test_seeded_keys_and_two_api_snapshots_per_node(healthy_lab: Lab) -> None:
    r = debian_etcdctl(healthy_lab, "get", "/registry/namespaces/", "--prefix", "--keys-only")
    assert "/registry/namespaces/kube-system" in r.stdout
    for n in healthy_lab.nodes:
        snaps = sorted(n.backup_dir.glob("etcd-snapshot-*.db"))
        assert len(snaps) >= 2, n.backup_dir
        assert all(s.stat().st_size % 512 == 32 for s in snaps)  # sha256 trailer
        assert snaps[0].stat().st_size != snaps[-1].stat().st_size


def test_inventory_describes_the_lab(healthy_lab: Lab) -> None:
    inv = tomllib.loads(healthy_lab.inventory_path.read_text())
    assert inv["cluster"]["name"] == "lab"
    assert [m["client_url"] for m in inv["members"]] == [
        f"https://{healthy_lab.net}.{i}:2379" for i in (1, 2, 3)]
    for c in inv["certificates"]:
        assert Path(c["path"]).exists(), c
    assert {s["name"] for s in inv["services"]} == {
        "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"}
    assert all(Path(s["start"][0]).exists() for s in inv["services"])


def test_apiserver_standin_logs_real_ok_attempts(healthy_lab: Lab) -> None:
    log = healthy_lab.nodes[0].log("kube-apiserver")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and '"etcd" ok' not in _read(log):
        time.sleep(0.2)
    line = next(ln for ln in _read(log).splitlines() if '"etcd" ok' in ln)
    assert line.split(" ", 3)[1:3] == ["stderr", "F"]  # CRI format
    assert line.split(" ", 3)[3].startswith("I")  # klog info line


def _read(p: Path) -> str:
    return p.read_text() if p.exists() else ""


def test_up_down_up_brings_the_same_cluster_back(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory()
    c = lab.client()
    c.put("/registry/survivor", b"1")
    c.close()
    lab.down()
    assert lab.stray_processes() == []
    assert all(lab.running(n.name, svc) is None for n in lab.nodes for svc in
               ("etcd", "kube-apiserver", "kube-scheduler"))
    again = Lab(lab.dir)  # a fresh object: parameters come from DIR/lab.json
    start = time.monotonic()
    again.up()
    assert time.monotonic() - start < 10
    c = again.client("etcd3")
    assert c.get("/registry/survivor")[0] == b"1"
    c.close()
