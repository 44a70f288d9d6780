"""Static pod manifests of a kubeadm-shaped node's control-plane stand-ins.

kube-apiserver, kube-controller-manager and kube-scheduler as kubeadm writes them
(/etc/kubernetes/manifests/<component>.yaml), their command running the lab's stand-ins
(lab.apiserver, lab.standin) with the flags the real components take for etcd. They log
to stdout; the node's kubelet puts that into /var/log/pods like any container.
"""

from __future__ import annotations

import sys
from typing import Any

import yaml

PKI = "/etc/kubernetes/pki"
IMAGE_TAG = "v1.30.0"


def apiserver_command(node: str, ip: str) -> list[str]:
    return [sys.executable, "-m", "blackstart.lab.apiserver", "kube-apiserver", "--node", node,
            f"--advertise-address={ip}", f"--etcd-servers=https://{ip}:2379",
            f"--etcd-cafile={PKI}/etcd/ca.crt",
            f"--etcd-certfile={PKI}/apiserver-etcd-client.crt",
            f"--etcd-keyfile={PKI}/apiserver-etcd-client.key", "--log", "-"]


def standin_command(component: str, node: str) -> list[str]:
    return [sys.executable, "-m", "blackstart.lab.standin", component, "--node", node, "--log", "-"]


def render(component: str, command: list[str]) -> str:
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"labels": {"component": component, "tier": "control-plane"},
                     "name": component, "namespace": "kube-system"},
        "spec": {
            "containers": [{
                "command": command,
                "image": f"registry.k8s.io/{component}:{IMAGE_TAG}",
                "imagePullPolicy": "IfNotPresent",
                "name": component,
                "volumeMounts": [{"mountPath": PKI, "name": "k8s-certs", "readOnly": True}],
            }],
            "hostNetwork": True,
            "priorityClassName": "system-node-critical",
            "terminationGracePeriodSeconds": 5,
            "volumes": [{"hostPath": {"path": PKI, "type": "DirectoryOrCreate"},
                         "name": "k8s-certs"}],
        },
    }
    return yaml.safe_dump(pod, sort_keys=False)


def manifests(node: str, ip: str) -> dict[str, str]:
    """{file name: manifest text} for the three stand-ins of one node."""
    return {
        "kube-apiserver.yaml": render("kube-apiserver", apiserver_command(node, ip)),
        "kube-controller-manager.yaml": render(
            "kube-controller-manager", standin_command("kube-controller-manager", node)),
        "kube-scheduler.yaml": render("kube-scheduler",
                                      standin_command("kube-scheduler", node)),
    }
