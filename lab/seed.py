"""Kubernetes-like keys and API snapshots for a fresh lab.

Keys live under /registry/<resource>/<namespace>/<name> like the apiserver's. Snapshots
are taken through the Maintenance API (the stream ends with the sha256 trailer, so the
file is `size % 512 == 32`, as `etcdctl snapshot save` writes it), one per node from its
own member, like a cron job on each master. The first round is backdated 12 h (name and
mtime) to mimic the twice-daily schedule of the seed; more keys are written between the
rounds so the two differ in revision.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path
from typing import Any

NAMESPACES = ("default", "kube-system", "kube-public", "payments", "monitoring")


def _obj(kind: str, ns: str, name: str, **extra: Any) -> bytes:
    uid = hashlib.md5(f"{kind}/{ns}/{name}".encode(), usedforsecurity=False).hexdigest()
    meta = {"name": name, "namespace": ns, "uid": uid}
    # The apiserver stores protobuf behind a "k8s\0" magic; JSON after it keeps it readable.
    return b"k8s\x00" + json.dumps({"kind": kind, "metadata": meta, **extra}).encode()


def first_keys() -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for ns in NAMESPACES:
        keys[f"/registry/namespaces/{ns}"] = _obj("Namespace", "", ns)
        keys[f"/registry/serviceaccounts/{ns}/default"] = _obj("ServiceAccount", ns, "default")
        keys[f"/registry/configmaps/{ns}/kube-root-ca.crt"] = _obj(
            "ConfigMap", ns, "kube-root-ca.crt")
    for i in range(20):
        keys[f"/registry/deployments/payments/api-{i}"] = _obj("Deployment", "payments", f"api-{i}",
                                                               spec={"replicas": 3})
        keys[f"/registry/pods/payments/api-{i}-7d9f"] = _obj("Pod", "payments", f"api-{i}-7d9f")
    for svc in ("kube-dns", "metrics-server"):
        keys[f"/registry/services/specs/kube-system/{svc}"] = _obj("Service", "kube-system", svc)
    keys["/registry/health"] = b'{"health":"true"}'
    return keys


def later_keys(round_: int) -> dict[str, bytes]:
    """Keys written between snapshots: events, leases, a few new pods."""
    keys: dict[str, bytes] = {}
    for i in range(30):
        keys[f"/registry/events/payments/api-{i % 20}.{round_:04d}{i:04d}"] = _obj(
            "Event", "payments", f"ev-{round_}-{i}", reason="Scheduled")
    for comp in ("kube-scheduler", "kube-controller-manager"):
        keys[f"/registry/leases/kube-system/{comp}"] = _obj("Lease", "kube-system", comp,
                                                            renew=round_)
    return keys


def put_all(client: Any, keys: dict[str, bytes]) -> None:
    for k, v in keys.items():
        client.put(k, v)


def snapshot_name(when: dt.datetime) -> str:
    return f"etcd-snapshot-{when.strftime('%Y%m%d-%H%M%S')}.db"


def save_snapshot(client: Any, backup_dir: Path, when: dt.datetime) -> Path:
    """Stream a snapshot through the API into backup_dir, then set its mtime to `when`."""
    backup_dir.mkdir(parents=True, exist_ok=True)
    path = backup_dir / snapshot_name(when)
    part = path.with_name(path.name + ".part")
    with open(part, "wb") as fh:
        client.snapshot(fh)
        fh.flush()
        os.fsync(fh.fileno())
    size = part.stat().st_size
    if size % 512 != 32:
        raise RuntimeError(f"{part}: snapshot has no sha256 trailer (size {size})")
    os.replace(part, path)
    ts = when.timestamp()
    os.utime(path, (ts, ts))
    return path
