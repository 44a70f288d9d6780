"""The cluster model: what the inventory says the cluster is.

Plain, frozen dataclasses built by `checks.discovery` (a toml file, etcdctl flags,
kubeadm manifests, systemd units): the `Cluster` with its nodes, members, certificates,
log sources, services and backup locations, and `majority`, the one place the quorum
arithmetic is written. Everything here is data: no I/O, no Textual, no etcd client.

What the probes return is in `checks.probe_results`; what diagnosis concludes, and the
`Report` that carries both, is in `checks.conclusions`; the severity scale is in
`checks.severity`.
"""

from __future__ import annotations

from dataclasses import dataclass


def majority(members: int) -> int:
    """How many of `members` configured etcd members raft needs to agree (quorum): the one
    place this is written."""
    return members // 2 + 1


# --------------------------------------------------------------------------- inventory


@dataclass(frozen=True)
class SSHTarget:
    host: str
    port: int = 22
    user: str = "root"
    key_file: str | None = None
    known_hosts: str | None = None  # None: the user's ~/.ssh/known_hosts


@dataclass(frozen=True)
class Node:
    """A machine. `ssh` is None for the machine blackstart runs on."""

    name: str
    ssh: SSHTarget | None = None
    backup_dirs: tuple[str, ...] = ()
    etcdctl: str = "etcdctl"
    etcdutl: str = "etcdutl"
    # False when the node is known (e.g. from --initial-cluster) but blackstart has no way
    # in (not this machine, no ssh configured): its files are not probed, and a finding says so.
    has_access: bool = True

    @property
    def is_local(self) -> bool:
        return self.ssh is None


@dataclass(frozen=True)
class TLSFiles:
    """A certificate, its key and the CA that should have signed it."""

    cert: str
    key: str
    ca: str


@dataclass(frozen=True)
class Member:
    name: str
    node: str  # Node.name
    client_url: str
    peer_url: str
    data_dir: str
    metrics_url: str | None = None
    server: TLSFiles | None = None
    peer: TLSFiles | None = None
    manifest: str | None = None  # kubeadm static pod manifest, if any
    unit: str | None = None  # systemd unit, if any


@dataclass(frozen=True)
class CertSpec:
    """A certificate file to check. `role` is kubeadm's name for it."""

    node: str
    role: str  # etcd-ca | etcd-server | etcd-peer | etcd-healthcheck-client | apiserver-etcd-client
    path: str
    key: str | None = None
    ca: str | None = None
    member: str | None = None  # the member whose URLs the SANs must cover


@dataclass(frozen=True)
class LogSource:
    node: str
    kind: str  # cri | journald | file
    path: str | None = None  # cri/file: a file or a glob
    unit: str | None = None  # journald
    component: str = "kube-apiserver"


@dataclass(frozen=True)
class Service:
    """How to stop and start one component on one node."""

    node: str
    name: str  # etcd | kube-apiserver | kube-controller-manager | kube-scheduler
    kind: str  # command | systemd | static-pod
    start: tuple[str, ...] = ()
    stop: tuple[str, ...] = ()
    unit: str | None = None
    manifest: str | None = None
    member: str | None = None  # for etcd: which member this is


@dataclass(frozen=True)
class Retention:
    keep: int = 14
    hot_days: int = 7
    cold_days: int = 30


@dataclass(frozen=True)
class BackupLocation:
    """Where snapshot copies live: a dir on a node, or an S3 bucket/prefix. `domain` is
    the failure domain (node:NAME | site:NAME | offsite | offline): copies in one domain
    die together. S3 credentials come from the AWS chain or `profile`, never from here."""

    name: str
    kind: str  # dir | s3
    domain: str
    node: str | None = None  # dir
    path: str | None = None  # dir
    endpoint: str | None = None  # s3; None: AWS's own
    bucket: str | None = None
    prefix: str = ""
    region: str | None = None
    profile: str | None = None
    retention: Retention = Retention()
    implicit: bool = False  # made from a node's backup_dirs (kubeadm discovery, old tomls)


@dataclass(frozen=True)
class BackupPolicy:
    rpo_seconds: float = 3600.0  # newest verified copy older than this is a finding
    drill_max_age_seconds: float = 7 * 86400.0  # last drill of a location older: a finding


@dataclass(frozen=True)
class Cluster:
    name: str
    nodes: tuple[Node, ...]
    members: tuple[Member, ...]
    client: TLSFiles | None = None  # what blackstart uses to talk to etcd
    certificates: tuple[CertSpec, ...] = ()
    logs: tuple[LogSource, ...] = ()
    services: tuple[Service, ...] = ()
    state_dir: str = "/var/lib/blackstart"
    token: str = "etcd-cluster"
    retention: Retention = Retention()
    backups: tuple[BackupLocation, ...] = ()  # [[backups]]; see backup_locations()
    backup_policy: BackupPolicy = BackupPolicy()
    source: str = ""  # where this model came from (file path, "flags", "discovery")
    # observer mode (`--read-only` or `read_only = true`): nothing is written anywhere
    read_only: bool = False

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(f"no node named {name!r} in the inventory")

    def member(self, name: str) -> Member:
        for m in self.members:
            if m.name == name:
                return m
        raise KeyError(f"no member named {name!r} in the inventory")

    def services_named(self, name: str) -> list[Service]:
        return [s for s in self.services if s.name == name]

    def backup_locations(self) -> list[BackupLocation]:
        """[[backups]] plus each node's backup_dirs not already named there (those are
        in the node's own failure domain, under the cluster's retention)."""
        named = {(b.node, b.path) for b in self.backups if b.kind == "dir"}
        out = list(self.backups)
        for n in self.nodes:
            for d in n.backup_dirs:
                if (n.name, d) not in named:
                    out.append(BackupLocation(f"{n.name}:{d}", "dir", f"node:{n.name}",
                                              node=n.name, path=d, retention=self.retention,
                                              implicit=True))
        return out

    def backup_location(self, name: str) -> BackupLocation:
        for b in self.backup_locations():
            if b.name == name:
                return b
        known = ", ".join(b.name for b in self.backup_locations()) or "none"
        raise KeyError(f"no backup location named {name!r} (known: {known})")

    @property
    def quorum(self) -> int:
        return majority(len(self.members))
