"""The systemd-shaped lab (shape: systemd): a real systemd is PID 1 of each node, etcd and
the control plane are units as kubespray writes them, logs are in journald; the host's
/tmp survives it (ETCD_FACTS §9)."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from blackstart.lab.kubeadm import KubeadmLab
from blackstart.lab.liveness import health
from blackstart.lab.systemd import CGROUP_ROOTS

pytestmark = [pytest.mark.lab, pytest.mark.kubeadm]
Factory = Callable[..., KubeadmLab]
HOST_TMP = Path("/tmp")  # noqa: S108 - the host's own /tmp is what must survive systemd
CHECK = ["blackstart", "check", "--json", "--deadline", "30"]


def test_systemd_nodes_run_units_and_the_host_tmp_survives(
        systemd_lab_factory: Factory) -> None:
    canary = HOST_TMP / f"blackstart-systemd-canary-{uuid.uuid4().hex}"
    canary.write_text("systemd-tmpfiles must never see this")
    try:
        lab = systemd_lab_factory()
        assert lab.status()["healthy"] == 3
        r = lab.node_run("master02", ["sh", "-c", "ps -p 1 -o comm=; systemctl is-active "
                                      "etcd kube-apiserver node-sshd; grep ^ETCD_NAME= "
                                      f"/etc/etcd.env; test -e {canary} && echo SEES-HOST-TMP;"
                                      " systemctl is-enabled systemd-tmpfiles-clean.timer"])
        out = r.stdout.split()
        assert out[:5] == ["systemd", "active", "active", "active", "ETCD_NAME=master02"], r
        assert "SEES-HOST-TMP" not in out and out[-1] == "masked"

        lab.node_run("master02", ["systemctl", "stop", "etcd"])
        assert not health(lab.node("master02").ip, 1.0)
        lab.node_run("master02", ["systemctl", "start", "etcd"])
        lab.wait_healthy(20, ["master02"])
        pid = lab.running("master03", "etcd")
        assert pid is not None
        os.kill(pid, signal.SIGKILL)  # Restart=always: systemd brings it back
        end = time.monotonic() + 30
        while time.monotonic() < end and lab.running("master03", "etcd") in (None, pid):
            time.sleep(0.3)
        assert lab.running("master03", "etcd") not in (None, pid)
        logs = lab.node_run("master01", ["journalctl", "-u", "kube-apiserver", "--no-pager"])
        assert '"etcd" ok' in logs.stdout

        report = json.loads(lab.node_run("master01", CHECK, timeout=180).stdout)
        assert [m["name"] for m in report["members"]] == ["master01", "master02", "master03"]
        assert report["nodes_without_access"] == []
        lab.wait_healthy(30)
        lab.down()
        assert lab.stray_processes() == []
        assert not any(f"blackstart-lab-{lab.dir.name}-" in d for c in CGROUP_ROOTS
                       if os.path.isdir(c) for d in os.listdir(c))
        assert canary.read_text() == "systemd-tmpfiles must never see this"
    finally:
        canary.unlink(missing_ok=True)
