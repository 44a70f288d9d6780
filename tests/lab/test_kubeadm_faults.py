"""Faults of nodes as hosts, on the kubeadm-shaped lab (shape: kubeadm), each real: a
frozen etcd, a stopped sshd, a changed host key, a full disk, a clock off; and what
blackstart run inside master01 makes of the clock and host-key ones."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable

import pytest

from blackstart.lab.kubeadm import KubeadmLab
from blackstart.lab.liveness import health
from blackstart.lab.nodefaults import FAKETIME_LIB

pytestmark = [pytest.mark.lab, pytest.mark.kubeadm]
Factory = Callable[..., KubeadmLab]
# As the README tells an operator; a longer per-call deadline for a loaded 2-core CI box.
CHECK = ["blackstart", "check", "--json", "--deadline", "30"]


def _connects(ip: str, port: int) -> bool:
    try:
        with socket.create_connection((ip, port), 1.0):
            return True
    except OSError:
        return False


def test_clock_off_and_changed_host_key_seen_from_master01(kubeadm_lab_factory: Factory) -> None:
    if not os.path.exists(FAKETIME_LIB):
        from labnet import missing

        missing(f"libfaketime ({FAKETIME_LIB})")
    lab = kubeadm_lab_factory()
    lab.break_fault("clock-off", "master02", offset="-400d")
    theirs = float(lab.node_run("master02", ["date", "+%s"]).stdout)
    assert abs(theirs - (time.time() - 400 * 86400)) < 60
    lab.break_fault("change-host-key", "master03")
    ssh = lab.node_run("master01", ["ssh", "-o", "BatchMode=yes", "root@" + lab.node(
        "master03").ip, "true"])
    assert ssh.returncode != 0 and "REMOTE HOST IDENTIFICATION HAS CHANGED" in ssh.stderr

    r = lab.node_run("master01", CHECK, timeout=180)
    report = json.loads(r.stdout)
    clocks = {c["node"]: c for c in report["clocks"]}
    assert clocks["master02"]["skew"] < -399 * 86400, clocks  # read over SSH, with `date`
    assert clocks["master03"]["epoch"] is None
    access = {a["node"]: a for a in report["access"]}
    failed = [f["seen"] for f in report["findings"] if f["code"] == "probe-failed"]
    assert set(access) == {"master01", "master02", "master03"}, (access, failed)
    assert access["master03"]["ok"] is False and "host key" in access["master03"]["error"]
    assert access["master02"]["ok"] is True


def test_blackhole_unreachable_and_disk_full(kubeadm_lab_factory: Factory) -> None:
    lab = kubeadm_lab_factory()
    m1, m2, m3 = lab.nodes
    said = lab.break_fault("blackhole", "master03")
    assert "SIGSTOP" in said
    assert _connects(m3.ip, 2379)  # TCP still connects: the kernel accepts
    assert not health(m3.ip, 1.0)  # and nothing answers
    assert lab.running("master03", "etcd") is not None  # the kubelet sees nothing wrong
    lab.start("master03", "etcd")  # SIGCONT
    lab.wait_healthy(15, ["master03"])

    lab.break_fault("unreachable", "master02")
    assert not _connects(m2.ip, lab.ssh_port)
    assert health(m2.ip, 2.0)  # its etcd runs on
    lab.start("master02", "sshd")
    assert _connects(m2.ip, lab.ssh_port)

    lab.break_fault("disk-full", "master01")
    r = lab.node_run("master01", ["sh", "-c", "df --output=avail -k /backup/etcd | tail -1; "
                                  "ls /backup/etcd; cp /etc/services /backup/etcd/new.db"])
    assert r.returncode != 0 and "No space left on device" in r.stderr
    avail, *listing = r.stdout.split()
    assert int(avail) < 64
    assert any(x.startswith("etcd-snapshot-") for x in listing)  # what was there is still there
    assert "lab-disk-full" not in open("/proc/self/mountinfo").read()  # the node's mount only
    assert not (m1.root / "backup/etcd/new.db").exists()
