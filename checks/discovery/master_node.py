"""Discovery on a master node: the first source that finds etcd (kubeadm manifests, then
systemd, then running processes), and the cluster model built from what it found: this
member with its TLS, certificates, logs and backups, and the other members of
--initial-cluster as SSH nodes laid out alike."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from blackstart.checks.discovery import InventoryError, peers
from blackstart.checks.discovery.kubeadm_manifests import KUBEADM_MANIFESTS, from_kubeadm
from blackstart.checks.discovery.node_root import Found, NodeRoot
from blackstart.checks.discovery.running_processes import from_processes
from blackstart.checks.discovery.systemd_units import ETCD_CONF, UNIT_PATHS, from_systemd
from blackstart.checks.formats.manifests import ApiserverConfig, EtcdConfig, ManifestError
from blackstart.checks.model import CertSpec, Cluster, LogSource, Member, Node, TLSFiles

PKI = "/etc/kubernetes/pki"
BACKUP_DIRS = ("/backup/etcd", "/var/backups/etcd")
APISERVER_LOGS = "/var/log/pods/kube-system_kube-apiserver-*/kube-apiserver/*.log"


def discover(root: str = "/") -> Cluster:
    """The model of the cluster seen from one master node's files (and processes)."""
    if not os.path.isdir(root):
        raise InventoryError(f"--root {root}: no such directory")
    host = NodeRoot(root)
    try:
        found = from_kubeadm(host) or from_systemd(host)
        if found is None and host.root == "/":
            found = from_processes()
    except ManifestError as exc:
        raise InventoryError(str(exc)) from exc
    if found is None:
        raise InventoryError(
            f"no etcd found under {host.root}: looked for {KUBEADM_MANIFESTS}/etcd.yaml, "
            f"{', '.join(UNIT_PATHS)}, {ETCD_CONF} and running etcd processes; "
            "write a blackstart.toml (docs/inventory.md) or pass --endpoints")
    return _build(host, found)


def _build(host: NodeRoot, found: Found) -> Cluster:
    cfg = found.cfg
    local = _local_member(host, found)
    others = [_remote_member(name, url, found) for name, url in cfg.initial_cluster
              if name != cfg.name]
    nodes = [Node(name=cfg.name, backup_dirs=_backup_dirs(host))]
    # Their backups are where ours are, on their filesystem (kubeadm masters are alike).
    theirs = tuple(d for d in BACKUP_DIRS if os.path.isdir(host.under(d)))
    nodes += peers.peer_nodes([(m.node, m.peer_url) for m in others], host.root, theirs)
    return Cluster(
        name="kubernetes" if found.kubeadm else "etcd",
        nodes=tuple(nodes),
        members=(local, *others),
        client=_client_tls(host, found),
        certificates=tuple(_cert_specs(host, found, [m for m in others if reachable(nodes, m)])),
        logs=tuple(_log_sources(host, found)),
        services=tuple(found.services),
        state_dir="/var/lib/blackstart" if host.root == "/"
        else os.path.join(host.root, "var/lib/blackstart"),
        token=cfg.token,
        source=f"discovery: {found.source}",
    )


def reachable(nodes: list[Node], m: Member) -> bool:
    """A peer blackstart can read (it has a key for it): only there are its files listed."""
    return any(n.name == m.node and n.has_access for n in nodes)


def _local_member(host: NodeRoot, found: Found) -> Member:
    cfg = found.cfg
    return Member(
        name=cfg.name, node=cfg.name, client_url=cfg.client_url, peer_url=cfg.peer_url,
        data_dir=host.path(cfg.data_dir), metrics_url=_metrics_url(cfg),
        server=_tls_of(host, cfg.cert_file, cfg.key_file, cfg.trusted_ca_file),
        peer=_tls_of(host, cfg.peer_cert_file, cfg.peer_key_file, cfg.peer_trusted_ca_file),
        manifest=found.source if found.kubeadm else None, unit=found.unit,
    )


def _remote_member(name: str, peer_url: str, found: Found) -> Member:
    """A member seen only in --initial-cluster: kubeadm lays every master out alike, so its
    paths are this node's paths as written; its client URL is its peer host on our port."""
    cfg = found.cfg
    return Member(
        name=name, node=name, client_url=_client_url_for(peer_url, cfg, found.api),
        peer_url=peer_url, data_dir=cfg.data_dir,
        server=_tls_raw(cfg.cert_file, cfg.key_file, cfg.trusted_ca_file),
        peer=_tls_raw(cfg.peer_cert_file, cfg.peer_key_file, cfg.peer_trusted_ca_file),
        manifest=found.source if found.kubeadm else None, unit=found.unit,
    )


def _client_url_for(peer_url: str, cfg: EtcdConfig, api: ApiserverConfig | None) -> str:
    host = urlsplit(peer_url).hostname or ""
    for url in api.etcd_servers if api else ():
        if urlsplit(url).hostname == host:
            return url
    mine = urlsplit(cfg.client_url)
    netloc = f"[{host}]" if ":" in host else host
    return f"{mine.scheme}://{netloc}:{mine.port or 2379}"


def _metrics_url(cfg: EtcdConfig) -> str | None:
    if not cfg.metrics_urls:
        return None
    parts = urlsplit(cfg.metrics_urls[0])
    if parts.hostname in ("0.0.0.0", "::", ""):  # listening everywhere: ask over loopback
        return f"{parts.scheme}://127.0.0.1:{parts.port or 2381}"
    return cfg.metrics_urls[0]


def _tls_raw(cert: str | None, key: str | None, ca: str | None) -> TLSFiles | None:
    return TLSFiles(cert, key, ca) if cert and key and ca else None


def _tls_of(host: NodeRoot, cert: str | None, key: str | None, ca: str | None) -> TLSFiles | None:
    if not (cert and key and ca):
        return None
    return TLSFiles(host.path(cert), host.path(key), host.path(ca))


def _client_tls(host: NodeRoot, found: Found) -> TLSFiles | None:
    """The apiserver's etcd client creds, else kubeadm's healthcheck client, else the
    server cert (kubeadm gives it clientAuth too)."""
    api, cfg = found.api, found.cfg
    if api is not None:
        tls = _tls_of(host, api.etcd_certfile, api.etcd_keyfile, api.etcd_cafile)
        if tls is not None:
            return tls
    hc = _tls_of(host, f"{PKI}/etcd/healthcheck-client.crt",
                 f"{PKI}/etcd/healthcheck-client.key", f"{PKI}/etcd/ca.crt")
    if hc is not None and os.path.isfile(hc.cert):
        return hc
    return _tls_of(host, cfg.cert_file, cfg.key_file, cfg.trusted_ca_file)


def _cert_specs(host: NodeRoot, found: Found, others: list[Member]) -> list[CertSpec]:
    """kubeadm's etcd cert list (ETCD_FACTS §4), at the paths the manifests name: this
    node's, then the same files on every other master (kubeadm lays them out alike), read
    there over SSH. Without them a peer's expired cert is invisible and `certs renew
    --member` it has nothing to renew."""
    ours = _cert_files(host, found)
    out = [CertSpec(node=found.cfg.name, role=role, path=host.path(path),
                    key=host.path(key) if key else None,
                    ca=host.path(ca) if ca else None, member=found.cfg.name if own else None)
           for role, path, key, ca, own in ours]
    for m in others:
        out += [CertSpec(node=m.node, role=role, path=path, key=key, ca=ca,
                         member=m.name if own else None) for role, path, key, ca, own in ours]
    return out


def _cert_files(host: NodeRoot, found: Found
                ) -> list[tuple[str, str, str | None, str | None, bool]]:
    """(role, path, key, ca, whether the member's URLs must be in its SANs), as written."""
    cfg, api = found.cfg, found.api
    ca = cfg.trusted_ca_file or f"{PKI}/etcd/ca.crt"
    wanted: list[tuple[str, str, str | None, str | None, bool]] = [
        ("etcd-ca", ca, None, None, False),
        ("etcd-server", cfg.cert_file or f"{PKI}/etcd/server.crt",
         cfg.key_file or f"{PKI}/etcd/server.key", ca, True),
        ("etcd-peer", cfg.peer_cert_file or f"{PKI}/etcd/peer.crt",
         cfg.peer_key_file or f"{PKI}/etcd/peer.key", cfg.peer_trusted_ca_file or ca, True),
        ("etcd-healthcheck-client", f"{PKI}/etcd/healthcheck-client.crt",
         f"{PKI}/etcd/healthcheck-client.key", ca, False),
        ("apiserver-etcd-client",
         (api.etcd_certfile if api else None) or f"{PKI}/apiserver-etcd-client.crt",
         (api.etcd_keyfile if api else None) or f"{PKI}/apiserver-etcd-client.key",
         (api.etcd_cafile if api else None) or ca, False),
    ]
    named = {cfg.cert_file, cfg.peer_cert_file, cfg.trusted_ca_file,
             api.etcd_certfile if api else None}
    # A file a manifest names is checked even when missing (that is a finding);
    # kubeadm's defaults only when they exist (here: the other masters are alike).
    return [w for w in wanted if w[1] in named or os.path.isfile(host.path(w[1]))]


def _log_sources(host: NodeRoot, found: Found) -> list[LogSource]:
    node = found.cfg.name
    if found.kubeadm:  # a kubeadm master: the apiserver is a static pod, logged by the CRI
        return [LogSource(node=node, kind="cri", path=host.under(APISERVER_LOGS))]
    if host.read("/etc/systemd/system/kube-apiserver.service") or host.read(
            "/lib/systemd/system/kube-apiserver.service"):
        return [LogSource(node=node, kind="journald", unit="kube-apiserver")]
    return []


def _backup_dirs(host: NodeRoot) -> tuple[str, ...]:
    return tuple(host.path(d) for d in BACKUP_DIRS if os.path.isdir(host.path(d)))
