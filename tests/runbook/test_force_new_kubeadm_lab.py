"""The forced new cluster on the production-shaped (kubeadm) lab: static pods under a
kubelet (which keeps restarting the members whose WAL is corrupt until their manifests
are parked), blackstart on master01 with no configuration. Two of three WALs corrupt
after a power cut: the recommended strategy forces a new cluster from master03, and every
key written before the cut is there (Debian etcdctl 3.4 from the host)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from rbhelpers import (
    etcdctl,
    hashkvs_agreeing,
    healthy_count,
    keys,
    need_debian_etcdctl,
    put_keys,
    wait_replicated,
)

from blackstart.lab.errors import LabError

pytestmark = [pytest.mark.lab, pytest.mark.kubeadm]

MANIFEST = "/etc/kubernetes/manifests/etcd.yaml"


def _command(lab: Any, node: str) -> list[str]:
    r = lab.node_run(node, ["cat", MANIFEST])
    assert r.returncode == 0, r.stderr
    return [str(a) for a in yaml.safe_load(r.stdout)["spec"]["containers"][0]["command"]]


def test_two_wals_corrupt_on_kubeadm_forces_a_new_cluster_from_master03(
        kubeadm_lab_factory: Callable[..., Any]) -> None:
    need_debian_etcdctl()
    lab = kubeadm_lab_factory()
    put_keys(lab, "/test/before-backup/", 10)
    r = lab.node_run("master03", ["blackstart", "snapshot", "save", "--json"], timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    put_keys(lab, "/test/after-backup/", 15)
    wait_replicated(lab)  # else the leader's db may hold writes master03 never got
    lab.break_fault("power-cut")
    lab.break_fault("corrupt-wal", "master01")
    lab.break_fault("corrupt-wal", "master02")
    with contextlib.suppress(LabError):  # the power comes back; quorum does not
        lab.up(timeout=20)
    dry = lab.node_run("master01", ["blackstart", "recover", "--dry-run", "--json"],
                       timeout=240)
    assert dry.returncode == 0 and "{" in dry.stdout, dry.stdout[-3000:] + dry.stderr[-3000:]
    shown = json.loads(dry.stdout[dry.stdout.index("{"):])
    assert shown["plan"]["info"]["strategy"] == "force-new-cluster", shown["plan"]["title"]
    assert "from master03" in shown["plan"]["title"]
    t0 = time.monotonic()
    out = lab.node_run("master01", ["blackstart", "recover", "--yes"], timeout=900)
    took = time.monotonic() - t0
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-3000:]
    assert healthy_count(lab) == 3, etcdctl(lab, "endpoint", "health").stderr
    hashes = hashkvs_agreeing(lab)
    if len(set(hashes.values())) != 1:
        for n in ("master01", "master02", "master03"):
            st = etcdctl(lab, "endpoint", "status", "-w", "json", member=n).stdout
            cnt = etcdctl(lab, "get", "--prefix", "/", "--keys-only", member=n).stdout
            hk = etcdctl(lab, "endpoint", "hashkv", "-w", "json", member=n).stdout
            print(n, st, len(cnt.split()), hk)
    assert len(set(hashes.values())) == 1, hashes
    kept = len(keys(lab, "/test/before-backup/")) + len(keys(lab, "/test/after-backup/"))
    print(f"\nkubeadm lab, force-new-cluster from master03: kept {kept} of 25 keys in "
          f"{took:.0f} s; the backup restore would have lost 15")
    assert kept == 25
    assert "--force-new-cluster" not in _command(lab, "master03")
    for node in ("master01", "master02"):
        assert "--initial-cluster-state=existing" in _command(lab, node)
