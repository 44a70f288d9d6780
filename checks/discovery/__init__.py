"""Where the cluster model comes from: blackstart.toml, etcdctl flags, discovery on a master.

`inventory.load_inventory` picks the source; each source has its module (toml_file,
etcdctl_flags, master_node with kubeadm_manifests, systemd_units, running_processes).
`InventoryError` lives here so every source raises the same error without importing the
entry point."""

from __future__ import annotations

from blackstart.checks.errors import BlackstartError


class InventoryError(BlackstartError):
    """The model could not be built; the message names the file or flag and the problem."""

    exit_code = 3  # the CLI's "no inventory"
