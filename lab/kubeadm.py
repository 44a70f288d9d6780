"""`KubeadmLab`: every node its own host (lab.nodehost), kubeadm's paths, a kubelet.

Node k of a lab on net 127.0.N is `master0k` on 127.0.N.k. It boots (lab.nodefs) into
namespaces of its own with PID 1 = lab.nodeinit, which starts the node's sshd (port 22 of
its address, or the port recorded in lab.json) and its kubelet (lab.kubelet). The kubelet
runs etcd, kube-apiserver, kube-controller-manager and kube-scheduler from the static
pod manifests in /etc/kubernetes/manifests; it is the only supervisor. Stopping a pod
means parking its manifest (moving it out of the manifests dir), as an SRE does.

Host side, DIR/nodes/<n>/ holds the node's own dirs (see lab.nodefs), so `NodeLayout`'s
paths (data dir, PKI, backups) are the node's files as the host sees them. Nothing is
mounted on the host: `down` (or a power cut) ends the namespaces and with them every
mount. Booting, entering and powering a node are lab.nodehost's; this module holds the
node's files, the kubelet's state, services through manifests, `up` and status.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import psutil

from blackstart.lab import (
    controlplane,
    crictl,
    manifest,
    nodefaults,
    nodefs,
    nodessh,
    pki,
)
from blackstart.lab.errors import LabError
from blackstart.lab.layout import SERVICES, NodeLayout
from blackstart.lab.liveness import etcd_answers, health, port_open
from blackstart.lab.manifest import MemberSpec
from blackstart.lab.nodehost import NodeHostLab, node_env

NODE_SERVICES = (*SERVICES, "sshd", "kubelet")
# Where a stopped pod's manifest waits (host side): where blackstart parks one
# (checks.discovery.kubeadm_manifests.PARKED_MANIFESTS), so a pod `lab stop` stopped is one
# blackstart can find, start and discover the cluster from, as if it had stopped it
PARKED = "etc/kubernetes/blackstart-parked"


def node_name(i: int) -> str:
    return f"master{i:02d}"


def inner_spec(n: NodeLayout) -> MemberSpec:
    """The member as the node sees itself: kubeadm's paths (/var/lib/etcd, ...)."""
    return MemberSpec(n.name, n.ip, Path("/"), n.initial_cluster)


def manifest_file(service: str) -> str:
    return f"{service}.yaml"


class KubeadmLab(NodeHostLab):
    shape = "kubeadm"

    def _layouts(self, members: int, net: str) -> list[NodeLayout]:
        names = [(node_name(i), f"{net}.{i}") for i in range(1, members + 1)]
        initial = ",".join(f"{n}=https://{ip}:2380" for n, ip in names)
        return [NodeLayout(self.dir, n, ip, initial) for n, ip in names]

    # ------------------------------------------------------------------ files

    @property
    def ssh_port(self) -> int:
        return int((self._params() or {}).get("ssh_port", nodessh.DEFAULT_PORT))

    def _create_files(self) -> None:
        new = not (self.dir / "pki/ca.crt").exists()
        for n in self.nodes:
            for d in nodefs.NODE_DIRS:
                (n.root / d).mkdir(parents=True, exist_ok=True)
            (n.root / nodefs.STAGE).mkdir(exist_ok=True)
            (n.root / nodefs.ETC_WORK).mkdir(exist_ok=True)
            (n.root / "root").chmod(0o700)
            (n.root / "root/.ssh").chmod(0o700)
            (n.root / PARKED).mkdir(parents=True, exist_ok=True)
        if new:
            ca = pki.make_ca()
            pki.write_pair(self.dir / "pki/ca", ca.cert, ca.key)
            for n in self.nodes:
                pki.write_node_pki(n.root, n.name, n.ip, ca)
        if "ssh_port" not in (self._params() or {}):
            self._save_params(ssh_port=nodessh.pick_port([n.ip for n in self.nodes]))
        nodessh.prepare(self.dir, self.nodes, self.ssh_port, node_env([])["PATH"])
        if new:
            self._write_manifests()
        for n in self.nodes:
            nodessh.write_if_changed(n.root / "etc/hostname", n.name + "\n")
            nodessh.write_if_changed(n.root / "etc/hosts", self._hosts())
        (self.dir / "run").mkdir(exist_ok=True)

    def _hosts(self) -> str:
        lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
        lines += [f"{n.ip}\t{n.name}" for n in self.nodes]
        return "\n".join(lines) + "\n"

    def _write_manifests(self) -> None:
        supported = manifest.supported_flags(self._run([self.bins.etcd, "--help"]))
        image = f"registry.k8s.io/etcd:{self._etcd_version()}-0"
        for n in self.nodes:
            mdir = n.root / "etc/kubernetes/manifests"
            spec = inner_spec(n)
            cmd = manifest.etcd_command(spec, self.bins.etcd, supported)
            (mdir / "etcd.yaml").write_text(manifest.render(spec, cmd, image))
            for fname, text in controlplane.manifests(n.name, n.ip).items():
                (mdir / fname).write_text(text)

    def write_inventory(self) -> Path:
        # Zero configuration is the point of this shape: blackstart finds everything from
        # inside a node. The host-side inventory is not written.
        return self.inventory_path

    # ------------------------------------------------------------------ kubelet state

    def kubelet_state(self, name: str) -> dict[str, Any]:
        path = self.node(name).root / "var/lib/kubelet/lab-state.json"
        try:
            return dict(json.loads(path.read_text()))
        except (OSError, ValueError):
            return {"node": name, "pods": []}

    def _pod(self, name: str, service: str) -> dict[str, Any] | None:
        for pod in self.kubelet_state(name).get("pods", []):
            if pod["container"] == service and not pod.get("stopping"):
                return dict(pod)
        return None

    def write_node_inventory(self, name: str) -> str:
        """Put a hand-written-style /etc/blackstart/blackstart.toml on node `name` (written
        inside the node: /etc is its overlay). Returns the path inside the node."""
        from blackstart.lab import nodeinventory

        text = nodeinventory.render(self.nodes, name, self.ssh_port)
        script = (f"mkdir -p /etc/blackstart && cat > {nodeinventory.PATH} && "
                  f"chmod 600 {nodeinventory.PATH}")
        r = subprocess.run(self.shell_argv(name, ["sh", "-c", script]), input=text,
                           capture_output=True, text=True, timeout=30, check=False)
        if r.returncode != 0:
            raise LabError(f"{name}: cannot write {nodeinventory.PATH}: {r.stderr.strip()}")
        return nodeinventory.PATH

    def crictl_ps(self, name: str) -> str:
        return crictl.render_ps(self.kubelet_state(name), time.time())

    # ------------------------------------------------------------------ services

    def running(self, member: str, service: str = "etcd") -> int | None:
        n = self.node(member)
        if self.init_pid(n.name) is None:
            return None
        if service == "node":
            return self.init_pid(n.name)
        if service == "sshd":
            return self._sshd_pid(n)
        if service == "kubelet":
            pid = self.kubelet_state(n.name).get("kubelet_pid")
            return self.ns_to_host_pid(n.name, int(pid)) if pid else None
        pod = self._pod(n.name, service)
        if pod is None or not pod["containers"]:
            return None
        cur = pod["containers"][-1]
        if cur["state"] != "Running" or not cur.get("pid"):
            return None
        return self.ns_to_host_pid(n.name, int(cur["pid"]))

    def _sshd_pid(self, n: NodeLayout) -> int | None:
        try:
            nspid = int((n.root / "run/sshd.pid").read_text().strip())
        except (OSError, ValueError):
            return None
        return self.ns_to_host_pid(n.name, nspid)

    def start(self, member: str, service: str = "etcd") -> int | None:
        n = self.node(member)
        if service not in NODE_SERVICES:
            raise LabError(f"unknown service {service!r} (one of {', '.join(NODE_SERVICES)})")
        if self.init_pid(n.name) is None:
            self.boot(n)
        if service == "sshd":
            if self._sshd_pid(n) is None:
                self.node_run(n.name, ["/usr/sbin/sshd", "-f", "/etc/ssh/sshd_config",
                                       "-E", "/var/log/sshd.log"])
                nodessh_wait(n.ip, self.ssh_port, 10.0)
            return self._sshd_pid(n)
        if service in SERVICES:
            running = self.running(n.name, service)
            if running is not None:
                nodefaults.thaw(running)  # a blackholed (SIGSTOPped) member answers again
                return running
            parked = n.root / PARKED / manifest_file(service)
            live = n.root / "etc/kubernetes/manifests" / manifest_file(service)
            if parked.exists() and not live.exists():
                os.replace(parked, live)
            self._wait_pod(n.name, service, want_running=True, timeout=10.0)
        return self.running(n.name, service)

    def stop(self, member: str, service: str = "etcd") -> None:
        n = self.node(member)
        if self.init_pid(n.name) is None:
            return
        if service == "sshd":
            pid = self._sshd_pid(n)
            if pid is not None:
                with contextlib.suppress(psutil.Error):
                    psutil.Process(pid).kill()
                    psutil.Process(pid).wait(5)
            return
        if service == "node":
            self._shutdown(n)
            return
        live = n.root / "etc/kubernetes/manifests" / manifest_file(service)
        if live.exists():
            os.replace(live, n.root / PARKED / manifest_file(service))
        self._wait_pod(n.name, service, want_running=False, timeout=20.0)

    def _wait_pod(self, name: str, service: str, want_running: bool, timeout: float) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pods = [p for p in self.kubelet_state(name).get("pods", [])
                    if p["container"] == service]
            if want_running and any(not p.get("stopping") and p["containers"] for p in pods):
                return
            if not want_running and not pods:
                return
            time.sleep(0.1)

    def _etcd_gone_for_good(self, n: NodeLayout) -> bool:
        # The kubelet restarts an exited etcd; only a node that is off stays down.
        return self.init_pid(n.name) is None

    def wait_started(self, member: str, timeout: float = 10.0) -> str:
        n = self.node(member)
        end = time.monotonic() + timeout
        seen = None
        while time.monotonic() < end:
            pod = self._pod(n.name, "etcd")
            cur = pod["containers"][-1] if pod and pod["containers"] else None
            if cur is not None:
                seen = seen or cur["id"]
                if cur["state"] == "Exited" or cur["id"] != seen:
                    return "exited"
                if port_open(n.ip, 2379) and etcd_answers(n.ip):
                    return "serving"
            time.sleep(0.1)
        return "starting"

    # ------------------------------------------------------------------ up

    def up(self, timeout: float = 30.0) -> dict[str, Any]:
        self._save_params()
        self._create_files()
        for n in self.nodes:
            self.boot(n)
        for n in self.nodes:
            nodessh_wait(n.ip, self.ssh_port, 10.0)
        if not (self._params() or {}).get("seeded"):
            self.wait_healthy(timeout)
            self._seed()
            self._save_params(seeded=True)
        else:
            with contextlib.suppress(LabError):
                self.wait_healthy(min(timeout, 10.0))
        return self.status()

    # ------------------------------------------------------------------ status

    def status(self) -> dict[str, Any]:
        members = []
        for n in self.nodes:
            members.append({
                "name": n.name, "ip": n.ip, "client_url": n.spec.client_url,
                "healthy": health(n.ip, 1.0),
                "services": {svc: self.running(n.name, svc) for svc in NODE_SERVICES},
                "etcd_log": self._etcd_log(n),
                "init_pid": self.init_pid(n.name),
            })
        return {
            "dir": str(self.dir), "shape": self.shape, "net": self.net, "etcd": self.bins.etcd,
            "ssh": True, "ssh_port": self.ssh_port, "created": self.params_path.exists(),
            "inventory": None, "members": members,
            "healthy": sum(1 for m in members if m["healthy"]),
        }

    def _etcd_log(self, n: NodeLayout) -> str:
        pod = self._pod(n.name, "etcd")
        if pod and pod["containers"]:
            inside = str(pod["containers"][-1]["log"])
            return str(nodefs.node_path(n.root, inside))
        return str(n.root / "var/log/pods")

    def etcd_log(self, member: str) -> Path:
        return Path(self._etcd_log(self.node(member)))


def nodessh_wait(ip: str, port: int, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if port_open(ip, port):
            return
        time.sleep(0.05)
    raise LabError(f"sshd did not listen on {ip}:{port} within {timeout:g}s")

