"""Each fault, injected into a real lab, shows its real symptom to real etcd and etcdctl."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from test_lab_up import debian_etcdctl

from blackstart.lab.cluster import Lab

pytestmark = pytest.mark.lab
LabFactory = Callable[..., Lab]


def wait_for(path: Path, text: str, timeout: float = 10) -> str:
    """The file's content once it contains text (polls; fails with the tail otherwise)."""
    end = time.monotonic() + timeout
    content = ""
    while time.monotonic() < end:
        content = path.read_text(errors="replace") if path.exists() else ""
        if text in content:
            return content
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not in {path}; tail:\n{content[-2000:]}")


def test_power_cut_kills_everything_and_etcdctl_sees_zero_healthy(lab_factory: LabFactory) -> None:
    lab = lab_factory()
    said = lab.break_fault("power-cut")
    assert "writes in flight" in said
    puts = re.search(r"\((\d+) puts had succeeded\)", said)
    assert puts and int(puts.group(1)) > 0, said  # the cut really came during writes
    for n in lab.nodes:
        for svc in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"):
            assert lab.running(n.name, svc) is None, (n.name, svc)
    r = debian_etcdctl(lab, "endpoint", "health", "--dial-timeout=1s", "--command-timeout=2s")
    out = r.stdout + r.stderr
    assert r.returncode != 0
    assert out.count("is unhealthy") == 3, out
    assert "is healthy" not in out
    # The stand-in restarted after the cut meets a dead etcd, and says so like the apiserver.
    lab.start("etcd1", "kube-apiserver")
    wait_for(lab.nodes[0].log("kube-apiserver"), "connect: connection refused")
    # Power back: the same cluster comes up healthy again.
    lab.up()
    assert lab.status()["healthy"] == 3


def test_cert_faults_show_as_x509_errors(lab_factory: LabFactory) -> None:
    lab = lab_factory()
    lab.break_fault("expire-cert", "etcd1")
    r = debian_etcdctl(lab, "endpoint", "status", "--dial-timeout=2s",
                       "--command-timeout=3s", member="etcd1")
    assert r.returncode != 0
    assert "x509: certificate has expired or is not yet valid" in r.stderr
    assert " is after " in r.stderr
    log = wait_for(lab.nodes[0].log("kube-apiserver"),
                   "certificate has expired or is not yet valid")
    assert "authentication handshake failed: x509" in log

    lab.break_fault("not-yet-valid", "etcd2")
    r = debian_etcdctl(lab, "endpoint", "status", "--dial-timeout=2s",
                       "--command-timeout=3s", member="etcd2")
    assert "x509: certificate has expired or is not yet valid" in r.stderr
    assert " is before " in r.stderr

    lab.break_fault("expire-cert", "etcd3", cert="client")
    wait_for(lab.nodes[2].log("kube-apiserver"), "remote error: tls: bad certificate")


def test_wal_faults_torn_is_repaired_corrupt_is_fatal(lab_factory: LabFactory) -> None:
    lab = lab_factory()
    said = lab.break_fault("tear-wal", "etcd3")
    assert "stopped etcd3 first" in said
    wait_for(lab.nodes[2].log("etcd"), '"repaired WAL"')
    lab.wait_healthy(15, ["etcd3"])

    said = lab.break_fault("corrupt-wal", "etcd2")
    assert said.endswith("etcd exited"), said
    assert lab.running("etcd2") is None
    log = wait_for(lab.nodes[1].log("etcd"), "walpb: crc mismatch")
    assert '"level":"fatal"' in log
    assert "repaired WAL" not in log  # etcd must not treat it as a torn tail
    lab.start("etcd2")  # and it stays broken on every start
    assert lab.wait_started("etcd2", 10) == "exited"
    # `lab up` brings back what it can and reports the broken member instead of failing.
    st = lab.up()
    assert "etcd2" in [m["name"] for m in st["members"] if not m["healthy"]]
    lab.wait_healthy(15, ["etcd1", "etcd3"])


def test_snapshot_truncated_and_nospace(lab_factory: LabFactory, etcd_bins: dict[str, str]) -> None:
    lab = lab_factory()
    n = lab.nodes[0]
    newest = sorted(n.backup_dir.glob("etcd-snapshot-*.db"))[-1]
    before = newest.stat().st_size
    lab.break_fault("truncate-snapshot", "etcd1")
    assert newest.stat().st_size == before // 2
    r = subprocess.run([etcd_bins["etcdutl"], "snapshot", "status", str(newest)],
                       capture_output=True, text=True, timeout=20, check=False)
    assert r.returncode != 0
    older = sorted(n.backup_dir.glob("etcd-snapshot-*.db"))[0]
    ok = subprocess.run([etcd_bins["etcdutl"], "snapshot", "status", str(older)],
                        capture_output=True, text=True, timeout=20, check=False)
    assert ok.returncode == 0, ok.stderr  # only the newest one was cut

    lab.break_fault("nospace", "etcd2")
    alarms = debian_etcdctl(lab, "alarm", "list")
    assert "alarm:NOSPACE" in alarms.stdout
    put = debian_etcdctl(lab, "put", "/registry/x", "y")
    assert put.returncode != 0
    assert "database space exceeded" in put.stderr


def test_stop_member_leaves_two_of_three(lab_factory: LabFactory) -> None:
    lab = lab_factory()
    lab.break_fault("stop-member", "etcd3")
    r = debian_etcdctl(lab, "endpoint", "health", "--dial-timeout=1s", "--command-timeout=2s")
    out = r.stdout + r.stderr
    assert out.count("is healthy") == 2 and out.count("is unhealthy") == 1, out
    # Quorum lost: etcd1 still takes the TLS connection but cannot answer a read.
    lab.break_fault("stop-member", "etcd2")
    wait_for(lab.nodes[0].log("kube-apiserver"), "context deadline exceeded", timeout=15)
    # `lab up` brings the stopped members back.
    assert lab.up()["healthy"] == 3
