"""The options every command that reads an inventory shares, and the TUI's own.

Kept apart from the command group so that the group itself (bare `blackstart`, which
opens the TUI) can take them as well as `blackstart tui` and every subcommand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

INVENTORY_KEYS = ("config", "root", "endpoints", "cacert", "cert", "key")

_OPTIONS = (
    click.option("--config", "-c", type=click.Path(dir_okay=False), envvar="BLACKSTART_CONFIG",
                 help="blackstart.toml to read (default: ./blackstart.toml, "
                      "/etc/blackstart/blackstart.toml, $ETCDCTL_ENDPOINTS, then discovery)."),
    click.option("--root", type=click.Path(file_okay=False), default=None,
                 help="Prefix for discovery paths (a copy of a master's filesystem)."),
    # ETCDCTL_ENDPOINTS is read by the inventory itself, after any blackstart.toml: a
    # click envvar here would make it win over the file.
    click.option("--endpoints", help="etcd client URLs, comma-separated (as etcdctl; "
                                     "default $ETCDCTL_ENDPOINTS)."),
    click.option("--cacert", help="CA bundle for etcd (default $ETCDCTL_CACERT)."),
    click.option("--cert", help="Client certificate (default $ETCDCTL_CERT)."),
    click.option("--key", help="Client key (default $ETCDCTL_KEY)."),
)


READ_ONLY = click.option("--read-only", is_flag=True,
                         help="Observer mode: change nothing, write nothing (also "
                              "`read_only = true` in the inventory's [cluster]).")


def inventory_options(f: F) -> F:
    """Add --config/-c, --root, --endpoints, --cacert, --cert, --key (ETCDCTL_* too) and
    --read-only (unless the command has it already, as the TUI's options bring it)."""
    names = {getattr(p, "name", None) for p in getattr(f, "__click_params__", [])}
    for option in reversed(_OPTIONS):
        f = option(f)
    if "read_only" not in names:
        f = READ_ONLY(f)
    return f



TUI_OPTIONS = (
    click.option("--read-only", is_flag=True,
                 help="Observer mode: every action hidden and blocked."),
    click.option("--theme", default=None, help="Theme name, e.g. blackstart-high-contrast."),
)


def tui_options(f: F) -> F:
    """Add --read-only and --theme."""
    for option in reversed(TUI_OPTIONS):
        f = option(f)
    return f
