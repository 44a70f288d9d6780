"""The model from a blackstart.toml (docs/inventory.md): read the file, validate it with the
schema (toml_schema), map it onto checks.model. Every problem is an `InventoryError` that
names the file, with one line per bad field."""

from __future__ import annotations

import os
import tomllib
from typing import Any

from blackstart.checks.discovery import InventoryError
from blackstart.checks.discovery.backups_toml import (
    BackupConfigError,
    parse_backups,
    parse_policy,
)
from blackstart.checks.discovery.toml_schema import (
    CertTable,
    InventoryFile,
    LogTable,
    MemberTable,
    NodeTable,
    ServiceTable,
    TlsTable,
    validate,
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

MAX_INVENTORY_BYTES = 16 << 20


def load_toml(path: str) -> Cluster:
    import stat

    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):  # checked before open: a FIFO would block forever
            raise InventoryError(f"{path}: not a regular file; refusing to read it")
        if st.st_size > MAX_INVENTORY_BYTES:
            raise InventoryError(f"{path}: {st.st_size:,} bytes is not an inventory")
        with open(path, "rb") as fh:
            data = tomllib.loads(fh.read().decode("utf-8"))
    except FileNotFoundError as exc:
        raise InventoryError(f"{path}: no such file") from exc
    except OSError as exc:
        raise InventoryError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise InventoryError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InventoryError(f"{path}: not valid TOML ({exc})") from exc
    except RecursionError as exc:
        raise InventoryError(f"{path}: nested too deeply to be an inventory") from exc
    return cluster_from_toml(data, path)


def cluster_from_toml(data: dict[str, Any], path: str) -> Cluster:
    """Parsed TOML → Cluster, exactly as docs/inventory.md; pure."""
    doc, problems = validate(data)
    if doc is None:
        raise InventoryError("\n".join(problems) if len(problems) == 1 else
                             f"{len(problems)} problems:\n  " + "\n  ".join(problems),
                             where=path)
    retention = Retention(keep=doc.retention.keep, hot_days=doc.retention.hot_days,
                          cold_days=doc.retention.cold_days)
    try:
        backups = parse_backups(data.get("backups"), path, retention,
                                {n.name for n in doc.nodes})
        policy = parse_policy(data.get("backup_policy"), path)
    except BackupConfigError as exc:
        raise InventoryError(str(exc)) from exc
    return _cluster(doc, retention, path, backups=backups, backup_policy=policy)


def _cluster(doc: InventoryFile, retention: Retention, path: str, **backups: Any) -> Cluster:
    return Cluster(
        name=doc.cluster.name,
        nodes=tuple(_node(n) for n in doc.nodes),
        members=tuple(_member(m) for m in doc.members),
        client=_tls(doc.client),
        certificates=tuple(_cert(c) for c in doc.certificates),
        logs=tuple(_log(x) for x in doc.logs),
        services=tuple(_service(s) for s in doc.services),
        state_dir=doc.cluster.state_dir,
        read_only=doc.cluster.read_only,
        token=doc.cluster.token,
        retention=retention,
        source=os.path.abspath(path),
        **backups,
    )


def _node(n: NodeTable) -> Node:
    ssh = None if n.ssh is None else SSHTarget(
        host=n.ssh.host, port=n.ssh.port, user=n.ssh.user, key_file=n.ssh.key,
        known_hosts=n.ssh.known_hosts)
    # etcdutl "" = this node has no etcdutl (etcd 3.4 builds); callers fall back to etcdctl.
    return Node(name=n.name, ssh=ssh, backup_dirs=tuple(n.backup_dirs), etcdctl=n.etcdctl,
                etcdutl=n.etcdutl)


def _tls(t: TlsTable | None) -> TLSFiles | None:
    if t is None:
        return None
    return TLSFiles(cert=t.cert, key=t.key, ca=t.cacert or t.ca or "")


def _member(m: MemberTable) -> Member:
    return Member(name=m.name, node=m.node, client_url=m.client_url, peer_url=m.peer_url,
                  data_dir=m.data_dir, metrics_url=m.metrics_url, server=_tls(m.server),
                  peer=_tls(m.peer), manifest=m.manifest, unit=m.unit)


def _cert(c: CertTable) -> CertSpec:
    return CertSpec(node=c.node, role=c.role, path=c.path, key=c.key, ca=c.ca, member=c.member)


def _log(x: LogTable) -> LogSource:
    return LogSource(node=x.node, kind=x.kind, path=x.path, unit=x.unit,
                     component=x.component)


def _service(s: ServiceTable) -> Service:
    return Service(node=s.node, name=s.name, kind=s.kind, start=tuple(s.start),
                   stop=tuple(s.stop), unit=s.unit, manifest=s.manifest, member=s.member)
