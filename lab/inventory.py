"""Write DIR/blackstart.toml for a lab (format: docs/inventory.md)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blackstart.lab import toml_out
from blackstart.lab.layout import SERVICES, NodeLayout
from blackstart.lab.pki import pki_paths


@dataclass(frozen=True)
class Binaries:
    etcd: str
    etcdctl: str
    etcdutl: str  # "" when the build has none (etcd 3.4)


@dataclass(frozen=True)
class SSHInfo:
    user: str
    key: str
    known_hosts: str
    port: int = 2222


def _tls(base: Path, ca: Path) -> dict[str, str]:
    return {"cert": f"{base}.crt", "key": f"{base}.key", "ca": f"{ca}.crt"}


def _node(n: NodeLayout, bins: Binaries, ssh: SSHInfo | None) -> dict[str, Any]:
    d: dict[str, Any] = {
        "name": n.name, "backup_dirs": [str(n.backup_dir)],
        "etcdctl": bins.etcdctl, "etcdutl": bins.etcdutl,
    }
    if ssh:
        d["ssh"] = {"host": n.ip, "port": ssh.port, "user": ssh.user, "key": ssh.key,
                    "known_hosts": ssh.known_hosts}
    return d


def _member(n: NodeLayout) -> dict[str, Any]:
    s, p = n.spec, pki_paths(n.root)
    return {
        "name": n.name, "node": n.name, "client_url": s.client_url, "peer_url": s.peer_url,
        "metrics_url": s.metrics_url, "data_dir": str(s.data_dir),
        "manifest": str(s.manifest_path),
        "server": _tls(p["etcd-server"], p["etcd-ca"]),
        "peer": _tls(p["etcd-peer"], p["etcd-ca"]),
    }


def _certs(n: NodeLayout) -> list[dict[str, Any]]:
    out = []
    for role, base in pki_paths(n.root).items():
        ca = pki_paths(n.root)["etcd-ca"]
        out.append({
            "node": n.name, "role": role, "path": f"{base}.crt", "key": f"{base}.key",
            "ca": f"{ca}.crt",
            "member": n.name if role in ("etcd-server", "etcd-peer") else None,
        })
    return out


def _services(n: NodeLayout, lab_dir: Path) -> list[dict[str, Any]]:
    def argv(verb: str, svc: str) -> list[str]:
        return [sys.executable, "-m", "blackstart", "lab", verb, "--dir", str(lab_dir),
                "--member", n.name, "--service", svc]

    return [{"node": n.name, "name": svc, "kind": "command",
             "member": n.name if svc == "etcd" else None,
             "start": argv("start", svc), "stop": argv("stop", svc)} for svc in SERVICES]


def render(lab_dir: Path, nodes: list[NodeLayout], bins: Binaries, ssh: SSHInfo | None) -> str:
    first = pki_paths(nodes[0].root)
    tables: list[tuple[str, dict[str, Any], bool]] = [
        ("cluster", {"name": "lab", "token": "etcd-cluster",
                     "state_dir": str(lab_dir / "state")}, False),
        ("client", {"cacert": f"{first['etcd-ca']}.crt",
                    "cert": f"{first['etcd-healthcheck-client']}.crt",
                    "key": f"{first['etcd-healthcheck-client']}.key"}, False),
        ("retention", {"keep": 14, "hot_days": 7, "cold_days": 30}, False),
    ]
    tables += [("nodes", _node(n, bins, ssh), True) for n in nodes]
    tables += [("members", _member(n), True) for n in nodes]
    tables += [("certificates", c, True) for n in nodes for c in _certs(n)]
    tables += [("logs", {"node": n.name, "kind": "cri", "path": n.log_glob(comp),
                         "component": comp}, True)
               for n in nodes for comp in ("kube-apiserver", "etcd")]
    tables += [("services", s, True) for n in nodes for s in _services(n, lab_dir)]
    header = f"# Written by `blackstart lab up` for the lab in {lab_dir}. Regenerated on each up."
    return toml_out.document(tables, header)
