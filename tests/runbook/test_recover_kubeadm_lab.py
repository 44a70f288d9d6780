"""The seed outage on the production-shaped (kubeadm) lab: every node its own host with
kubeadm's paths (/var/lib/etcd, /etc/kubernetes on every one), a kubelet running static
pods, SSH between the masters. blackstart runs inside master01 with no configuration,
recovers with the recommended strategy (start + replace), and nothing written before the
power cut is lost (checked with the Debian etcdctl 3.4 from the host)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from rbhelpers import etcdctl, hashkvs, healthy_count, keys, need_debian_etcdctl, put_keys

from blackstart.lab.errors import LabError
from blackstart.lab.outage import break_seed_outage, power_back

pytestmark = [pytest.mark.lab, pytest.mark.kubeadm]


def test_seed_outage_on_kubeadm_recovers_by_start_and_replace(
        kubeadm_lab_factory: Callable[..., Any]) -> None:
    need_debian_etcdctl()
    lab = kubeadm_lab_factory()
    put_keys(lab, "/test/before-backup/", 10)
    r = lab.node_run("master03", ["blackstart", "snapshot", "save", "--json"], timeout=120)
    put_keys(lab, "/test/after-backup/", 15)
    break_seed_outage(lab)
    power_back(lab)
    dry = lab.node_run("master01", ["blackstart", "recover", "--dry-run", "--json"],
                       timeout=240)
    assert dry.returncode == 0, dry.stdout[-3000:] + dry.stderr[-3000:]
    assert "{" in dry.stdout, dry.stdout[-3000:] + dry.stderr[-3000:]
    shown = json.loads(dry.stdout[dry.stdout.index("{"):])
    assert shown["plan"]["info"]["strategy"] == "replace", shown["plan"]["title"]
    out = lab.node_run("master01", ["blackstart", "recover", "--yes"], timeout=600)
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-3000:]
    assert healthy_count(lab) == 3, etcdctl(lab, "endpoint", "health").stderr
    assert len(set(hashkvs(lab).values())) == 1
    kept = len(keys(lab, "/test/before-backup/")) + len(keys(lab, "/test/after-backup/"))
    print(f"\nkubeadm lab: kept {kept} of 25 keys; the backup restore would have lost 15 "
          f"(snapshot save exit {r.returncode})")
    assert kept == 25


PKI = "/etc/kubernetes/pki/etcd"


def _node_etcdctl(lab: Any, node: str, *args: str) -> Any:
    ip = lab.node(node).ip
    return lab.node_run(node, [
        "env", "ETCDCTL_API=3", "etcdctl", f"--endpoints=https://{ip}:2379",
        f"--cacert={PKI}/ca.crt", f"--cert={PKI}/healthcheck-client.crt",
        f"--key={PKI}/healthcheck-client.key", *args], timeout=60)


def _revision(lab: Any) -> int:
    r = etcdctl(lab, "endpoint", "status", "-w", "json")
    assert r.returncode == 0, r.stderr
    return max(int(e["Status"]["header"]["revision"]) for e in json.loads(r.stdout))


def test_restore_takes_the_file_from_the_node_it_lives_on(
        kubeadm_lab_factory: Callable[..., Any]) -> None:
    """Issue 11 (b)+(c) where node identity matters: every node has /backup/etcd and
    /var/lib/etcd. A backup that exists only on master03 is restored from master03; then
    master02's own member db is restored from master02. Each time the revision and the
    keys show that exactly that source was restored, and hashkv agrees on all three."""
    need_debian_etcdctl()
    lab = kubeadm_lab_factory()
    put_keys(lab, "/test/a/", 10)
    only = "/backup/etcd/only-on-master03.db"
    saved = _node_etcdctl(lab, "master03", "snapshot", "save", only)
    assert saved.returncode == 0, saved.stderr
    for other in ("master01", "master02"):
        assert lab.node_run(other, ["test", "-e", only]).returncode != 0
    snap_rev = _revision(lab)
    put_keys(lab, "/test/b/", 10)  # not in the backup
    out = lab.node_run("master01", ["blackstart", "restore", "--snapshot", f"master03:{only}",
                                    "--force", "test: restore from master03", "--yes"],
                       timeout=600)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert f"copy master03:{only}" in out.stdout
    assert healthy_count(lab) == 3 and len(set(hashkvs(lab).values())) == 1
    assert len(keys(lab, "/test/a/")) == 10 and keys(lab, "/test/b/") == []
    assert _revision(lab) >= snap_rev
    print(f"\nrestored master03's backup (revision {snap_rev}); /test/b/ gone as it must be")

    put_keys(lab, "/test/c/", 7)  # only in the members' dbs from here on
    lab.break_fault("power-cut")
    lab.break_fault("corrupt-wal", "master01")
    lab.break_fault("corrupt-wal", "master03")
    with contextlib.suppress(LabError):  # master02 alone: no quorum, its db holds still
        lab.up(timeout=20)
    db = "/var/lib/etcd/member/snap/db"
    out = lab.node_run("master01", ["blackstart", "restore", "--snapshot", f"master02:{db}",
                                    "--yes"], timeout=600)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert f"copy master02:{db}" in out.stdout and "--skip-hash-check" in out.stdout
    assert healthy_count(lab) == 3 and len(set(hashkvs(lab).values())) == 1
    assert len(keys(lab, "/test/c/")) == 7 and len(keys(lab, "/test/a/")) == 10


@pytest.mark.parametrize("fault", ["unreachable", "change-host-key"])
def test_no_restore_is_recommended_while_a_member_is_unknown(
        kubeadm_lab_factory: Callable[..., Any], fault: str) -> None:
    """Quorum lost (master02's WAL corrupt, master03's etcd down) and master03 cannot be
    read (sshd stopped, or its host key changed): master03's data is unknown, so no
    restore is recommended; the next step is to fix access. `recover` refuses, nothing
    changed; a restore stays possible by explicit choice only."""
    lab = kubeadm_lab_factory()
    lab.break_fault("power-cut")
    lab.break_fault("corrupt-wal", "master02")
    with contextlib.suppress(LabError):
        lab.up(timeout=20)
    lab.stop("master03", "etcd")
    lab.break_fault(fault, "master03")
    r = lab.node_run("master01", ["blackstart", "check", "--json"], timeout=240)
    doc = json.loads(r.stdout)
    v = doc["verdict"]
    assert v["recommended"] is None, [(s["name"], s["blocked"]) for s in v["strategies"]]
    assert not [f for f in doc["findings"] if f["code"] == "restore-source"]
    assert not [f for f in doc["findings"] if f["code"] == "member-db-corrupt"
                and f["subject"] == "master03"]
    assert any("fix access to master03" in s for s in v["next_steps"]), v["next_steps"]
    out = lab.node_run("master01", ["blackstart", "recover", "--yes"], timeout=300)
    assert out.returncode == 2 and "no strategy is recommended yet" in out.stderr, out.stderr
    print(f"\n{fault}: no recommendation; next: {v['next_steps'][:2]}")
