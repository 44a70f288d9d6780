"""A master node's files seen from `root` (its root dir in the lab or a mounted disk, "/"
on the node itself), and `Found`: what one discovery source learnt about its etcd. Shared
by the kubeadm, systemd and process sources and by the model built from them."""

from __future__ import annotations

import os
from dataclasses import dataclass

from blackstart.checks.discovery import InventoryError
from blackstart.checks.formats.manifests import ApiserverConfig, EtcdConfig
from blackstart.checks.model import Service


class NodeRoot:
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
class Found:
    """What one discovery source found about the local etcd."""

    cfg: EtcdConfig
    source: str
    services: list[Service]
    api: ApiserverConfig | None = None
    kubeadm: bool = False
    unit: str | None = None
