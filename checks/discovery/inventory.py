"""Where the cluster model comes from: the one entry point, `load_inventory`.

In this order (see docs/inventory.md):

1. a `blackstart.toml` (toml_file): the explicit `config`, else `./blackstart.toml`, else
   `/etc/blackstart/blackstart.toml`;
2. etcdctl-style `endpoints`/`cacert`/`cert`/`key` (etcdctl_flags), else the `ETCDCTL_*`
   variables;
3. discovery on a master node under `root` (master_node: kubeadm manifests, systemd units
   and `/etc/etcd/etcd.conf`, running etcd processes).

An explicit argument beats an implicit file: `--endpoints` or `--root` given on the command
line win over a `./blackstart.toml` lying around; the ambient `ETCDCTL_*` variables do not.
Every problem raises `InventoryError` whose message names the file (or flag) and the problem.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from blackstart.checks.discovery import InventoryError
from blackstart.checks.discovery.etcdctl_flags import cluster_from_endpoints
from blackstart.checks.discovery.master_node import discover
from blackstart.checks.discovery.toml_file import cluster_from_toml, load_toml
from blackstart.checks.model import Cluster

__all__ = ["InventoryError", "cluster_from_endpoints", "cluster_from_toml", "discover",
           "load_inventory", "load_toml"]

DEFAULT_CONFIGS = ("blackstart.toml", "/etc/blackstart/blackstart.toml")


def load_inventory(  # noqa: PLR0917 - the contract's etcdctl-like signature
    config: str | None = None,
    root: str | None = None,
    endpoints: str | None = None,
    cacert: str | None = None,
    cert: str | None = None,
    key: str | None = None,
    env: Mapping[str, str] = os.environ,
) -> Cluster:
    """The cluster model, from the first source that applies (module docstring)."""
    if config:
        return load_toml(config)
    if endpoints:
        return cluster_from_endpoints(endpoints, cacert, cert, key, where="--endpoints")
    if root:
        return discover(root)
    for path in DEFAULT_CONFIGS:
        if os.path.isfile(path):
            return load_toml(path)
    if env.get("ETCDCTL_ENDPOINTS"):
        return cluster_from_endpoints(
            env["ETCDCTL_ENDPOINTS"], cacert or env.get("ETCDCTL_CACERT"),
            cert or env.get("ETCDCTL_CERT"), key or env.get("ETCDCTL_KEY"),
            where="ETCDCTL_ENDPOINTS",
        )
    return discover("/")
