"""SSH refusals on the production-shaped (kubeadm) lab, from inside master01 with no
configuration: blackstart reaches the other masters with /root/.ssh's key and
known_hosts. A node whose sshd is stopped (unreachable), one whose host key changed, and
one that known_hosts does not know are each refused before anything changes: exit 2, no
traceback, the node named, "refused, nothing was changed"; every etcd still runs from
its own manifest and no data dir was set aside."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.lab, pytest.mark.kubeadm, pytest.mark.timeout(900)]

NODES = ("master01", "master02", "master03")
FORCE = ("--force", "test: SSH refusals")  # the cluster is healthy: a reason is needed


def _on_master01(lab: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return lab.node_run("master01", ["blackstart", *args], timeout=240)


def _refused(lab: Any, node: str, *args: str) -> str:
    r = _on_master01(lab, *args)
    said = r.stdout[-3000:] + r.stderr[-3000:]
    assert r.returncode == 2, (args, said)
    assert "Traceback" not in said, said
    assert f"node {node}" in r.stderr and "refused, nothing was changed" in r.stderr, said
    return next(x for x in r.stderr.splitlines() if node in x)


def _untouched(lab: Any) -> None:
    for n in NODES:
        root = Path(lab.node(n).root)
        assert [p.name for p in (root / "var/lib").iterdir()
                if p.name.startswith("etcd") and p.name != "etcd"] == [], n
        assert (root / "etc/kubernetes/manifests/etcd.yaml").exists(), n
        assert lab.running(n, "etcd") is not None, n
    state = Path(lab.node("master01").root) / "var/lib/blackstart/journal"
    assert not state.exists() or not list(state.glob("*.json"))


def test_unreachable_changed_and_unknown_host_keys_refused_by_name(
        kubeadm_lab_factory: Callable[..., Any]) -> None:
    lab = kubeadm_lab_factory()
    snap = "/backup/etcd/" + sorted(
        p.name for p in (Path(lab.node("master01").root) / "backup/etcd").glob("*.db"))[-1]
    restore = ("restore", "--snapshot", f"master01:{snap}", *FORCE, "--yes")
    seen = {}

    lab.break_fault("unreachable", "master02")
    seen["unreachable"] = _refused(lab, "master02", *restore)
    _refused(lab, "master02", "certs", "renew", "--member", "master02", "--yes")
    _untouched(lab)
    lab.start("master02", "sshd")

    lab.break_fault("change-host-key", "master03")
    seen["changed host key"] = _refused(lab, "master03", *restore)
    _refused(lab, "master03", "certs", "renew", "--member", "master03", "--yes")
    _untouched(lab)

    # master02 unknown: its line gone from master01's known_hosts (a new node, say)
    kh = Path(lab.node("master01").root) / "root/.ssh/known_hosts"
    ip2 = lab.node("master02").ip
    kh.write_text("".join(line + "\n" for line in kh.read_text().splitlines()
                          if line.split(" ", 1)[0] not in (ip2, f"[{ip2}]:{lab.ssh_port}")))
    seen["unknown host key"] = _refused(lab, "master02", "certs", "renew", "--member",
                                        "master02", "--yes")
    _untouched(lab)
    for fault, line in seen.items():
        print(f"\nkubeadm lab, {fault}: {line}")
