"""The kubeadm-style static pod manifest of a lab member, and the command it carries.

The lab acts as a tiny kubelet: it starts each member from `spec.containers[0].command`
of its manifest, so the manifest is the truth about how a member runs (an operator or a
probe that edits or reads it sees what really runs). Paths in the manifest are the lab's
real paths, since there is no container to mount them into.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class MemberSpec:
    """Everything that differs between members: names, addresses, files."""

    name: str
    ip: str
    root: Path  # the node's filesystem root, DIR/nodes/<name>
    initial_cluster: str  # name=https://ip:2380,...

    @property
    def client_url(self) -> str:
        return f"https://{self.ip}:2379"

    @property
    def peer_url(self) -> str:
        return f"https://{self.ip}:2380"

    @property
    def metrics_url(self) -> str:
        return f"http://{self.ip}:2381"

    @property
    def data_dir(self) -> Path:
        return self.root / "var/lib/etcd"

    @property
    def pki_dir(self) -> Path:
        return self.root / "etc/kubernetes/pki/etcd"

    @property
    def manifest_path(self) -> Path:
        return self.root / "etc/kubernetes/manifests/etcd.yaml"


def etcd_command(spec: MemberSpec, etcd_bin: str, supported: set[str] | None = None) -> list[str]:
    """The member's argv, kubeadm's flags (cmd/kubeadm/app/phases/etcd/local.go).

    `supported` (flag names this etcd build knows, from its --help) drops flags an older
    build lacks, so another etcd can run the same cluster."""
    pki = spec.pki_dir
    flags = {
        "advertise-client-urls": spec.client_url,
        "cert-file": f"{pki}/server.crt",
        "client-cert-auth": "true",
        "data-dir": str(spec.data_dir),
        "experimental-initial-corrupt-check": "true",
        "experimental-watch-progress-notify-interval": "5s",
        "initial-advertise-peer-urls": spec.peer_url,
        "initial-cluster": spec.initial_cluster,
        "initial-cluster-state": "new",
        "key-file": f"{pki}/server.key",
        # kubeadm also listens on 127.0.0.1; in the lab that address is member 1's.
        "listen-client-urls": spec.client_url,
        "listen-metrics-urls": spec.metrics_url,
        "listen-peer-urls": spec.peer_url,
        "logger": "zap",
        "name": spec.name,
        "peer-cert-file": f"{pki}/peer.crt",
        "peer-client-cert-auth": "true",
        "peer-key-file": f"{pki}/peer.key",
        "peer-trusted-ca-file": f"{pki}/ca.crt",
        "snapshot-count": "10000",
        "trusted-ca-file": f"{pki}/ca.crt",
    }
    keep = [k for k in flags if supported is None or k in supported]
    return [etcd_bin] + [f"--{k}={flags[k]}" for k in keep]


def supported_flags(help_text: str) -> set[str]:
    """Flag names listed by `etcd --help` (lines like `  --data-dir 'default.etcd'`)."""
    names = set()
    for line in help_text.splitlines():
        word = line.strip().split(" ", 1)[0]
        if word.startswith("--") and len(word) > 2:
            names.add(word[2:].split("=", 1)[0])
    return names


def render(spec: MemberSpec, command: list[str], image: str) -> str:
    """A kubeadm-shaped etcd.yaml carrying `command`."""
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "annotations": {"kubeadm.kubernetes.io/etcd.advertise-client-urls": spec.client_url},
            "labels": {"component": "etcd", "tier": "control-plane"},
            "name": "etcd",
            "namespace": "kube-system",
        },
        "spec": {
            "containers": [{
                "command": command,
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "name": "etcd",
                "volumeMounts": [
                    {"mountPath": str(spec.data_dir), "name": "etcd-data"},
                    {"mountPath": str(spec.pki_dir), "name": "etcd-certs"},
                ],
            }],
            "hostNetwork": True,
            "priorityClassName": "system-node-critical",
            "volumes": [
                {"hostPath": {"path": str(spec.pki_dir), "type": "DirectoryOrCreate"},
                 "name": "etcd-certs"},
                {"hostPath": {"path": str(spec.data_dir), "type": "DirectoryOrCreate"},
                 "name": "etcd-data"},
            ],
        },
    }
    return yaml.safe_dump(pod, sort_keys=False)


class ManifestError(Exception):
    """The manifest is missing or does not carry a command; the message names the file."""


def read_command(path: Path) -> list[str]:
    """The etcd argv from a manifest, as a kubelet would run it."""
    try:
        doc = yaml.safe_load(path.read_text())
        cmd = doc["spec"]["containers"][0]["command"] + doc["spec"]["containers"][0].get(
            "args", []
        )
    except FileNotFoundError as exc:
        raise ManifestError(f"{path}: no such manifest") from exc
    except (yaml.YAMLError, KeyError, IndexError, TypeError) as exc:
        raise ManifestError(f"{path}: not a pod manifest with a command ({exc})") from exc
    if not cmd or not all(isinstance(a, str) for a in cmd):
        raise ManifestError(f"{path}: command is empty or not a list of strings")
    return [str(a) for a in cmd]
