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

pytestmark = [pytest.mark.lab, pytest.mark.kubeadm]


def test_seed_outage_on_kubeadm_recovers_by_start_and_replace(
        kubeadm_lab_factory: Callable[..., Any]) -> None:
    need_debian_etcdctl()
    lab = kubeadm_lab_factory()
    put_keys(lab, "/test/before-backup/", 10)
    r = lab.node_run("master03", ["blackstart", "snapshot", "save", "--json"], timeout=120)
    put_keys(lab, "/test/after-backup/", 15)
    lab.break_fault("power-cut")
    lab.break_fault("expire-cert", "master01")
    lab.break_fault("corrupt-wal", "master02")
    with contextlib.suppress(LabError):  # the power comes back; quorum does not
        lab.up(timeout=20)
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
