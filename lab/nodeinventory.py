"""A blackstart.toml as an operator would write it by hand on one master of a kubeadm lab
(/etc/blackstart/blackstart.toml): this node local, the others over SSH with root's key,
kubeadm's paths on every node, services as static pods. Format: docs/inventory.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from blackstart.lab import toml_out
from blackstart.lab.layout import SERVICES, NodeLayout
from blackstart.lab.manifest import MemberSpec
from blackstart.lab.pki import pki_paths

ROOT = Path("/")
PATH = "/etc/blackstart/blackstart.toml"


def _tls(base: Path, ca: Path) -> dict[str, str]:
    return {"cert": f"{base}.crt", "key": f"{base}.key", "ca": f"{ca}.crt"}


def _node(n: NodeLayout, here: str, port: int) -> dict[str, Any]:
    d: dict[str, Any] = {"name": n.name, "backup_dirs": ["/backup/etcd"]}
    if n.name != here:
        d["ssh"] = {"host": n.ip, "port": port, "user": "root", "key": "/root/.ssh/id_ed25519",
                    "known_hosts": "/root/.ssh/known_hosts"}
    return d


def _member(n: NodeLayout) -> dict[str, Any]:
    s, p = MemberSpec(n.name, n.ip, ROOT, n.initial_cluster), pki_paths(ROOT)
    return {"name": n.name, "node": n.name, "client_url": s.client_url, "peer_url": s.peer_url,
            "metrics_url": s.metrics_url, "data_dir": str(s.data_dir),
            "manifest": str(s.manifest_path),
            "server": _tls(p["etcd-server"], p["etcd-ca"]),
            "peer": _tls(p["etcd-peer"], p["etcd-ca"])}


def _certs(n: NodeLayout) -> list[dict[str, Any]]:
    p = pki_paths(ROOT)
    return [{"node": n.name, "role": role, "path": f"{base}.crt", "key": f"{base}.key",
             "ca": f"{p['etcd-ca']}.crt",
             "member": n.name if role in ("etcd-server", "etcd-peer") else None}
            for role, base in p.items()]


def render(nodes: list[NodeLayout], here: str, port: int) -> str:
    """The inventory of `here` (a node name) for the whole lab."""
    p = pki_paths(ROOT)
    tables: list[tuple[str, dict[str, Any], bool]] = [
        ("cluster", {"name": "by-hand", "token": "etcd-cluster",
                     "state_dir": "/var/lib/blackstart"}, False),
        ("client", {"cacert": f"{p['etcd-ca']}.crt",
                    "cert": f"{p['etcd-healthcheck-client']}.crt",
                    "key": f"{p['etcd-healthcheck-client']}.key"}, False),
    ]
    tables += [("nodes", _node(n, here, port), True) for n in nodes]
    tables += [("members", _member(n), True) for n in nodes]
    tables += [("certificates", c, True) for n in nodes for c in _certs(n)]
    tables += [("logs", {"node": n.name, "kind": "cri", "component": comp,
                         "path": f"/var/log/pods/kube-system_{comp}-{n.name}_*/{comp}/*.log"},
                True) for n in nodes for comp in ("kube-apiserver", "etcd")]
    tables += [("services", {"node": n.name, "name": svc, "kind": "static-pod",
                             "member": n.name if svc == "etcd" else None,
                             "manifest": f"/etc/kubernetes/manifests/{svc}.yaml"}, True)
               for n in nodes for svc in SERVICES]
    return toml_out.document(tables, f"# {PATH} on {here}, written by hand (the lab's copy).")
