"""The model from etcdctl-style flags or the `ETCDCTL_*` variables: `--endpoints`,
`--cacert`, `--cert`, `--key`. Members live on this machine, named after their URL host
until the members probe reads the real names."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from blackstart.checks.discovery import InventoryError
from blackstart.checks.model import Cluster, Member, Node, TLSFiles


def cluster_from_endpoints(
    endpoints: str, cacert: str | None, cert: str | None, key: str | None, where: str
) -> Cluster:
    """etcdctl-style endpoints → members on this machine, named after the URL host until
    the member list says otherwise (the members probe reports the real names)."""
    for flag, path in (("cacert", cacert), ("cert", cert), ("key", key)):
        if path and not os.path.isfile(path):
            raise InventoryError(f"--{flag} {path}: no such file")
    if bool(cert) != bool(key):
        raise InventoryError("--cert and --key must be given together")
    secure = bool(cacert or cert)
    urls = [_endpoint_url(e.strip(), secure, where) for e in endpoints.split(",") if e.strip()]
    if not urls:
        raise InventoryError(f"{where}: no endpoints in {endpoints!r}")
    hosts = [urlsplit(u).hostname or u for u in urls]
    names = [h if hosts.count(h) == 1 else urlsplit(u).netloc for h, u in zip(hosts, urls,
                                                                              strict=True)]
    node = Node(name="local")
    members = tuple(Member(name=n, node=node.name, client_url=u, peer_url="", data_dir="")
                    for n, u in zip(names, urls, strict=True))
    client = TLSFiles(cert or "", key or "", cacert or "") if secure else None
    return Cluster(name="etcd", nodes=(node,), members=members, client=client,
                   source="flags" if where.startswith("--") else "env")


def _endpoint_url(text: str, secure: bool, where: str) -> str:
    if "://" not in text:
        text = f"{'https' if secure else 'http'}://{text}"
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError as exc:
        raise InventoryError(f"{where}: endpoint {text!r} has a bad port") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InventoryError(f"{where}: endpoint {text!r} is not http(s)://host:port")
    return f"{parts.scheme}://{parts.netloc}" if port else f"{parts.scheme}://{parts.netloc}:2379"
