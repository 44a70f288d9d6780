"""Discovery from systemd: an etcd.service unit (its Environment/EnvironmentFile and
ExecStart flags), else /etc/etcd/etcd.conf alone (ETCD_* variables, as distro packages)."""

from __future__ import annotations

import os
import socket

from blackstart.checks.discovery import InventoryError
from blackstart.checks.discovery.node_root import Found, NodeRoot
from blackstart.checks.formats.manifests import (
    etcd_config,
    etcd_env_flags,
    expand_exec,
    optional_env_file,
    parse_env_file,
    parse_flags,
    parse_systemd_unit,
)
from blackstart.checks.model import Service

UNIT_PATHS = ("/etc/systemd/system/etcd.service", "/lib/systemd/system/etcd.service",
              "/usr/lib/systemd/system/etcd.service")
ETCD_CONF = "/etc/etcd/etcd.conf"


def from_systemd(host: NodeRoot) -> Found | None:
    for unit_path in UNIT_PATHS:
        got = host.read(unit_path)
        if got is not None:
            return _from_unit(host, *got)
    got = host.read(ETCD_CONF)
    if got is None:
        return None
    cfg = etcd_config(etcd_env_flags(parse_env_file(got[1], got[0])), got[0])
    return Found(cfg, got[0], [Service(node=cfg.name, name="etcd", kind="systemd",
                                        unit="etcd.service", member=cfg.name)],
                  unit="etcd.service")


def _from_unit(host: NodeRoot, path: str, text: str) -> Found:
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
    return Found(cfg, path, [Service(node=cfg.name, name="etcd", kind="systemd", unit=name,
                                      member=cfg.name)], unit=name)


def _hostname(host: NodeRoot) -> str:
    """The node's hostname: its /etc/hostname under root, else this machine's."""
    got = host.read("/etc/hostname")
    name = got[1].strip() if got else ""
    return name or socket.gethostname()
