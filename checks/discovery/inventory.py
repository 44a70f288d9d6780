"""Where the cluster model comes from.

In this order (see docs/inventory.md):

1. a `blackstart.toml`: the explicit `config`, else `./blackstart.toml`, else
   `/etc/blackstart/blackstart.toml`;
2. etcdctl-style `endpoints`/`cacert`/`cert`/`key`, else the `ETCDCTL_*` variables;
3. discovery on a master node under `root` (kubeadm manifests, systemd units and
   `/etc/etcd/etcd.conf`, running etcd processes).

An explicit argument beats an implicit file: `--endpoints` or `--root` given on the command
line win over a `./blackstart.toml` lying around; the ambient `ETCDCTL_*` variables do not.
Every problem raises `InventoryError` whose message names the file (or flag) and the problem.
"""

from __future__ import annotations

import os
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from blackstart.checks.discovery import peers
from blackstart.checks.discovery.backups_toml import (
    BackupConfigError,
    parse_backups,
    parse_policy,
)
from blackstart.checks.errors import BlackstartError
from blackstart.checks.formats.manifests import (
    ApiserverConfig,
    EtcdConfig,
    ManifestError,
    apiserver_config,
    etcd_config,
    etcd_env_flags,
    expand_exec,
    optional_env_file,
    parse_env_file,
    parse_flags,
    parse_static_pod,
    parse_systemd_unit,
)
from blackstart.checks.model import (
    CertSpec,
    Cluster,
    LogSource,
    Member,
    Node,
    Retention,
    Service,
    SSHTarget,
    TLSFiles,
)

__all__ = ["InventoryError", "discover", "load_inventory", "cluster_from_toml",
           "cluster_from_endpoints"]

class InventoryError(BlackstartError):
    """The model could not be built; the message names the file or flag and the problem."""

    exit_code = 3  # the CLI's "no inventory"


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


# --------------------------------------------------------------------------- toml


def load_toml(path: str) -> Cluster:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise InventoryError(f"{path}: no such file") from exc
    except OSError as exc:
        raise InventoryError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InventoryError(f"{path}: not valid TOML ({exc})") from exc
    return cluster_from_toml(data, path)


class _Table:
    """A TOML table plus where it is, so every error names the file and the table."""

    def __init__(self, data: Any, where: str, top: bool = False) -> None:
        if not isinstance(data, dict):
            raise InventoryError(f"{where}: expected a table, got {type(data).__name__}")
        self.data: dict[str, Any] = data
        self.where = where
        self.top = top

    def fail(self, problem: str) -> InventoryError:
        return InventoryError(f"{self.where}: {problem}")

    def text(self, key: str, default: str | None = None) -> str:
        value = self.data.get(key, default)
        if value is None:
            raise self.fail(f"missing {key!r}")
        if not isinstance(value, str) or not value:
            raise self.fail(f"{key!r} must be a non-empty string")
        return value

    def opt(self, key: str) -> str | None:
        return self.text(key) if key in self.data else None

    def integer(self, key: str, default: int) -> int:
        value = self.data.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(f"{key!r} must be an integer")
        return value

    def strs(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"{key!r} must be a list of strings")
        return tuple(value)

    def sub(self, key: str) -> _Table | None:
        if key not in self.data:
            return None
        where = f"{self.where}: [{key}]" if self.top else f"{self.where}, {key}"
        return _Table(self.data[key], where)

    def tables(self, key: str) -> list[_Table]:
        value = self.data.get(key, [])
        if not isinstance(value, list):
            raise self.fail(f"[[{key}]] must be an array of tables")
        return [_Table(v, f"{self.where}: [[{key}]] #{i + 1}") for i, v in enumerate(value)]


def cluster_from_toml(data: dict[str, Any], path: str) -> Cluster:
    """Parsed TOML → Cluster, exactly as docs/inventory.md; pure."""
    top = _Table(data, path, top=True)
    head = top.sub("cluster")
    if head is None:
        raise top.fail("missing the [cluster] table")
    nodes = tuple(_toml_node(t) for t in top.tables("nodes"))
    members = tuple(_toml_member(t) for t in top.tables("members"))
    if not members:
        raise top.fail("no [[members]]: at least one etcd member is needed")
    _check_refs(top, nodes, members)
    client = top.sub("client")
    retention = _toml_retention(top.sub("retention"))
    try:
        backups = parse_backups(data.get("backups"), path, retention, {n.name for n in nodes})
        policy = parse_policy(data.get("backup_policy"), path)
    except BackupConfigError as exc:
        raise InventoryError(str(exc)) from exc
    return Cluster(
        name=head.text("name"),
        nodes=nodes,
        members=members,
        client=_tls(client) if client else None,
        certificates=tuple(_toml_cert(t) for t in top.tables("certificates")),
        logs=tuple(_toml_log(t) for t in top.tables("logs")),
        services=tuple(_toml_service(t) for t in top.tables("services")),
        state_dir=head.text("state_dir", "/var/lib/blackstart"),
        token=head.text("token", "etcd-cluster"),
        retention=retention,
        backups=backups,
        backup_policy=policy,
        source=os.path.abspath(path),
    )


def _check_refs(top: _Table, nodes: tuple[Node, ...], members: tuple[Member, ...]) -> None:
    names = {n.name for n in nodes}
    if len(names) != len(nodes):
        raise top.fail("two [[nodes]] share a name")
    if len({m.name for m in members}) != len(members):
        raise top.fail("two [[members]] share a name")
    for m in members:
        if m.node not in names:
            raise top.fail(f"member {m.name!r} names node {m.node!r}, "
                           "which no [[nodes]] table defines")


def _toml_node(t: _Table) -> Node:
    ssh = t.sub("ssh")
    return Node(
        name=t.text("name"),
        ssh=None if ssh is None else SSHTarget(
            host=ssh.text("host"), port=ssh.integer("port", 22), user=ssh.text("user", "root"),
            key_file=ssh.opt("key"), known_hosts=ssh.opt("known_hosts"),
        ),
        backup_dirs=t.strs("backup_dirs"),
        etcdctl=t.text("etcdctl", "etcdctl"),
        # "" = this node has no etcdutl (etcd 3.4 builds); callers fall back to etcdctl.
        etcdutl="" if t.data.get("etcdutl") == "" else t.text("etcdutl", "etcdutl"),
    )


def _tls(t: _Table) -> TLSFiles:
    # [client] spells the CA `cacert` like etcdctl; member tables spell it `ca`.
    ca_key = "cacert" if "cacert" in t.data else "ca"
    return TLSFiles(cert=t.text("cert"), key=t.text("key"), ca=t.text(ca_key))


def _toml_member(t: _Table) -> Member:
    server, peer = t.sub("server"), t.sub("peer")
    return Member(
        name=t.text("name"),
        node=t.text("node"),
        client_url=_url(t, "client_url"),
        peer_url=_url(t, "peer_url"),
        data_dir=t.text("data_dir"),
        metrics_url=_url(t, "metrics_url") if "metrics_url" in t.data else None,
        server=_tls(server) if server else None,
        peer=_tls(peer) if peer else None,
        manifest=t.opt("manifest"),
        unit=t.opt("unit"),
    )


def _url(t: _Table, key: str) -> str:
    value = t.text(key)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise t.fail(f"{key!r} = {value!r} is not an http(s)://host:port URL")
    return value


def _toml_cert(t: _Table) -> CertSpec:
    return CertSpec(node=t.text("node"), role=t.text("role"), path=t.text("path"),
                    key=t.opt("key"), ca=t.opt("ca"), member=t.opt("member"))


def _toml_log(t: _Table) -> LogSource:
    kind = t.text("kind")
    if kind not in ("cri", "journald", "file"):
        raise t.fail(f"kind {kind!r} is not one of cri, journald, file")
    return LogSource(node=t.text("node"), kind=kind, path=t.opt("path"), unit=t.opt("unit"),
                     component=t.text("component", "kube-apiserver"))


def _toml_service(t: _Table) -> Service:
    kind = t.text("kind")
    if kind not in ("command", "systemd", "static-pod"):
        raise t.fail(f"kind {kind!r} is not one of command, systemd, static-pod")
    return Service(node=t.text("node"), name=t.text("name"), kind=kind, start=t.strs("start"),
                   stop=t.strs("stop"), unit=t.opt("unit"), manifest=t.opt("manifest"),
                   member=t.opt("member"))


def _toml_retention(t: _Table | None) -> Retention:
    if t is None:
        return Retention()
    return Retention(keep=t.integer("keep", 14), hot_days=t.integer("hot_days", 7),
                     cold_days=t.integer("cold_days", 30))


# --------------------------------------------------------------------------- flags / env


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


# --------------------------------------------------------------------------- discovery

KUBEADM_MANIFESTS = "/etc/kubernetes/manifests"
PKI = "/etc/kubernetes/pki"
UNIT_PATHS = ("/etc/systemd/system/etcd.service", "/lib/systemd/system/etcd.service",
              "/usr/lib/systemd/system/etcd.service")
ETCD_CONF = "/etc/etcd/etcd.conf"
BACKUP_DIRS = ("/backup/etcd", "/var/backups/etcd")
APISERVER_LOGS = "/var/log/pods/kube-system_kube-apiserver-*/kube-apiserver/*.log"
CONTROL_PLANE = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")


class _Host:
    """A node's filesystem seen from `root` (a node's root dir in the lab, "/" for real)."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)

    def under(self, p: str) -> str:
        return p if self.root == "/" else os.path.join(self.root, p.lstrip("/"))

    def path(self, p: str) -> str:
        """Where a path named in a config file is on this machine: always under root. A
        path missing under the root is missing; this machine's own file of the same name
        is never used instead (a restore against a mounted copy of a dead master must not
        act on this machine's /var/lib/etcd)."""
        if self.root == "/" or not os.path.isabs(p):
            return p
        return os.path.join(self.root, p.lstrip("/"))

    def read(self, p: str, strict: bool = True) -> tuple[str, str] | None:
        """(path, text) of a file, None when it is absent; unreadable → InventoryError.

        `strict`: only under root. The well-known places (manifests, units, etcd.conf) are
        looked up strictly, so `--root` never picks up this machine's own etcd.service."""
        real = self.under(p) if strict else self.path(p)
        try:
            with open(real, encoding="utf-8") as fh:
                return real, fh.read()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise InventoryError(f"{real}: cannot read ({exc})") from exc


@dataclass
class _Found:
    """What one discovery source found about the local etcd."""

    cfg: EtcdConfig
    source: str
    services: list[Service]
    api: ApiserverConfig | None = None
    kubeadm: bool = False
    unit: str | None = None


def discover(root: str = "/") -> Cluster:
    """The model of the cluster seen from one master node's files (and processes)."""
    if not os.path.isdir(root):
        raise InventoryError(f"--root {root}: no such directory")
    host = _Host(root)
    try:
        found = _from_kubeadm(host) or _from_systemd(host)
        if found is None and host.root == "/":
            found = _from_processes()
    except ManifestError as exc:
        raise InventoryError(str(exc)) from exc
    if found is None:
        raise InventoryError(
            f"no etcd found under {host.root}: looked for {KUBEADM_MANIFESTS}/etcd.yaml, "
            f"{', '.join(UNIT_PATHS)}, {ETCD_CONF} and running etcd processes; "
            "write a blackstart.toml (docs/inventory.md) or pass --endpoints")
    return _build(host, found)


def _from_kubeadm(host: _Host) -> _Found | None:
    got = host.read(f"{KUBEADM_MANIFESTS}/etcd.yaml")
    if got is None:
        return None
    path, text = got
    pod = parse_static_pod(text, path, "etcd")
    cfg = etcd_config(pod.flags, path)
    services = [Service(node=cfg.name, name="etcd", kind="static-pod", manifest=path,
                        member=cfg.name)]
    api = None
    for comp in CONTROL_PLANE:
        comp_got = host.read(f"{KUBEADM_MANIFESTS}/{comp}.yaml")
        if comp_got is None:
            continue
        services.append(Service(node=cfg.name, name=comp, kind="static-pod",
                                manifest=comp_got[0]))
        if comp == "kube-apiserver":
            api = apiserver_config(parse_static_pod(comp_got[1], comp_got[0], comp).flags)
    return _Found(cfg, path, services, api, kubeadm=True)


def _from_systemd(host: _Host) -> _Found | None:
    for unit_path in UNIT_PATHS:
        got = host.read(unit_path)
        if got is not None:
            return _from_unit(host, *got)
    got = host.read(ETCD_CONF)
    if got is None:
        return None
    cfg = etcd_config(etcd_env_flags(parse_env_file(got[1], got[0])), got[0])
    return _Found(cfg, got[0], [Service(node=cfg.name, name="etcd", kind="systemd",
                                        unit="etcd.service", member=cfg.name)],
                  unit="etcd.service")


def _from_unit(host: _Host, path: str, text: str) -> _Found:
    unit = parse_systemd_unit(text, path, hostname=_hostname(host))
    env = dict(unit.environment)
    for entry in unit.environment_files:
        file, optional = optional_env_file(entry)
        got = host.read(file)
        if got is None and not optional:
            raise InventoryError(f"{path}: EnvironmentFile {file} does not exist")
        if got is not None:
            env.update(parse_env_file(got[1], got[0]))
    argv = expand_exec(unit.exec_start, env)
    flags = {**etcd_env_flags(env), **parse_flags(argv[1:])}
    cfg = etcd_config(flags, path)
    name = os.path.basename(path)
    return _Found(cfg, path, [Service(node=cfg.name, name="etcd", kind="systemd", unit=name,
                                      member=cfg.name)], unit=name)


def _hostname(host: _Host) -> str:
    """The node's hostname: its /etc/hostname under root, else this machine's."""
    got = host.read("/etc/hostname")
    name = got[1].strip() if got else ""
    return name or socket.gethostname()


def _from_processes(pids: list[int] | None = None) -> _Found | None:
    """The first running etcd (lowest pid; or among `pids`) whose flags and ETCD_*
    environment describe it."""
    import psutil

    procs = psutil.process_iter(["pid", "cmdline"]) if pids is None else _procs(pids)
    for proc in sorted(procs, key=lambda p: p.pid):
        try:
            argv = proc.cmdline()
        except psutil.Error:
            continue
        if not argv or os.path.basename(argv[0]) != "etcd":
            continue
        try:
            env = proc.environ()
        except (psutil.Error, OSError):
            env = {}
        cfg = etcd_config({**etcd_env_flags(env), **parse_flags(argv[1:])},
                          f"process {proc.pid}")
        return _Found(cfg, f"process {proc.pid} ({argv[0]})", [])
    return None


def _procs(pids: list[int]) -> list[Any]:
    import psutil

    out = []
    for pid in pids:
        try:
            out.append(psutil.Process(pid))
        except psutil.Error:
            continue
    return out


def _build(host: _Host, found: _Found) -> Cluster:
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
        certificates=tuple(_cert_specs(host, found)),
        logs=tuple(_log_sources(host, found)),
        services=tuple(found.services),
        state_dir="/var/lib/blackstart" if host.root == "/"
        else os.path.join(host.root, "var/lib/blackstart"),
        token=cfg.token,
        source=f"discovery: {found.source}",
    )


def _local_member(host: _Host, found: _Found) -> Member:
    cfg = found.cfg
    return Member(
        name=cfg.name, node=cfg.name, client_url=cfg.client_url, peer_url=cfg.peer_url,
        data_dir=host.path(cfg.data_dir), metrics_url=_metrics_url(cfg),
        server=_tls_of(host, cfg.cert_file, cfg.key_file, cfg.trusted_ca_file),
        peer=_tls_of(host, cfg.peer_cert_file, cfg.peer_key_file, cfg.peer_trusted_ca_file),
        manifest=found.source if found.kubeadm else None, unit=found.unit,
    )


def _remote_member(name: str, peer_url: str, found: _Found) -> Member:
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


def _tls_of(host: _Host, cert: str | None, key: str | None, ca: str | None) -> TLSFiles | None:
    if not (cert and key and ca):
        return None
    return TLSFiles(host.path(cert), host.path(key), host.path(ca))


def _client_tls(host: _Host, found: _Found) -> TLSFiles | None:
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


def _cert_specs(host: _Host, found: _Found) -> list[CertSpec]:
    """kubeadm's etcd cert list (ETCD_FACTS §4), at the paths the manifests name."""
    cfg, api, node = found.cfg, found.api, found.cfg.name
    ca = cfg.trusted_ca_file or f"{PKI}/etcd/ca.crt"
    wanted = [
        ("etcd-ca", ca, None, None, None),
        ("etcd-server", cfg.cert_file or f"{PKI}/etcd/server.crt",
         cfg.key_file or f"{PKI}/etcd/server.key", ca, cfg.name),
        ("etcd-peer", cfg.peer_cert_file or f"{PKI}/etcd/peer.crt",
         cfg.peer_key_file or f"{PKI}/etcd/peer.key", cfg.peer_trusted_ca_file or ca, cfg.name),
        ("etcd-healthcheck-client", f"{PKI}/etcd/healthcheck-client.crt",
         f"{PKI}/etcd/healthcheck-client.key", ca, None),
        ("apiserver-etcd-client",
         (api.etcd_certfile if api else None) or f"{PKI}/apiserver-etcd-client.crt",
         (api.etcd_keyfile if api else None) or f"{PKI}/apiserver-etcd-client.key",
         (api.etcd_cafile if api else None) or ca, None),
    ]
    named = {cfg.cert_file, cfg.peer_cert_file, cfg.trusted_ca_file,
             api.etcd_certfile if api else None}
    out = []
    for role, path, key, role_ca, member in wanted:
        real = host.path(path)
        # A file a manifest names is checked even when missing (that is a finding);
        # kubeadm's defaults only when they exist.
        if path in named or os.path.isfile(real):
            out.append(CertSpec(node=node, role=role, path=real,
                                key=host.path(key) if key else None,
                                ca=host.path(role_ca) if role_ca else None, member=member))
    return out


def _log_sources(host: _Host, found: _Found) -> list[LogSource]:
    node = found.cfg.name
    if found.kubeadm:  # a kubeadm master: the apiserver is a static pod, logged by the CRI
        return [LogSource(node=node, kind="cri", path=host.under(APISERVER_LOGS))]
    if host.read("/etc/systemd/system/kube-apiserver.service") or host.read(
            "/lib/systemd/system/kube-apiserver.service"):
        return [LogSource(node=node, kind="journald", unit="kube-apiserver")]
    return []


def _backup_dirs(host: _Host) -> tuple[str, ...]:
    return tuple(host.path(d) for d in BACKUP_DIRS if os.path.isdir(host.path(d)))
