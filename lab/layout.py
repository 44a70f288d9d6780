"""Where everything of a lab lives on disk: one place, so no two modules disagree.

    DIR/lab.json                      the lab's parameters (so `lab up` can bring it back)
    DIR/blackstart.toml               the inventory
    DIR/pki/ca.{crt,key}              the etcd CA (copied into every node)
    DIR/nodes/<n>/...                 one filesystem root per node, kubeadm-shaped
    DIR/run/<n>-<service>.pid         pid records; .err: a process's own stderr
    DIR/ssh/                          sshd configs, host and user keys, known_hosts
    DIR/state/                        blackstart's state dir (audit log, journals)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from blackstart.lab.manifest import MemberSpec

SERVICES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")


def pod_uid(node: str, component: str) -> str:
    # Static pods get a UID hashed from their manifest; stable here so log globs are too.
    return hashlib.md5(f"{node}/{component}".encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class NodeLayout:
    lab_dir: Path
    name: str
    ip: str
    initial_cluster: str

    @property
    def root(self) -> Path:
        return self.lab_dir / "nodes" / self.name

    @property
    def spec(self) -> MemberSpec:
        return MemberSpec(self.name, self.ip, self.root, self.initial_cluster)

    @property
    def backup_dir(self) -> Path:
        return self.root / "backup/etcd"

    @property
    def pki(self) -> Path:
        return self.root / "etc/kubernetes/pki"

    def pod_log_dir(self, component: str) -> Path:
        pod = f"kube-system_{component}-{self.name}_{pod_uid(self.name, component)}"
        return self.root / "var/log/pods" / pod / component

    def log(self, component: str) -> Path:
        return self.pod_log_dir(component) / "0.log"

    def log_glob(self, component: str) -> str:
        pod = f"kube-system_{component}-{self.name}_*"
        return str(self.root / "var/log/pods" / pod / component / "*.log")

    def pidfile(self, service: str) -> Path:
        return self.lab_dir / "run" / f"{self.name}-{service}.pid"

    def errfile(self, service: str) -> Path:
        return self.lab_dir / "run" / f"{self.name}-{service}.err"

    def logger_pidfile(self) -> Path:
        return self.lab_dir / "run" / f"{self.name}-etcd-log.pid"

    @property
    def ssh_dir(self) -> Path:
        return self.lab_dir / "ssh" / self.name


def layouts(lab_dir: Path, members: int, net: str) -> list[NodeLayout]:
    names = [(f"etcd{i}", f"{net}.{i}") for i in range(1, members + 1)]
    initial = ",".join(f"{n}=https://{ip}:2380" for n, ip in names)
    return [NodeLayout(lab_dir, n, ip, initial) for n, ip in names]
