"""The `blackstart` command. Each command family lives in its own module and attaches
itself to the groups defined here; this module only wires them together.

The modules are imported when a command line first needs one, not when `blackstart`
starts: the offline verifiers (`snapshot verify`, `wal verify`) load their own module
alone, so their start-up costs a fraction of loading every command (bench/snapshot_verify
measures `snapshot verify` of a 500 MB file against a bare sha256 of it, start-up included).
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from blackstart.cli.errors import BlackstartGroup
from blackstart.cli.options import INVENTORY_KEYS, inventory_options, tui_options

# "group command" -> the one module it needs; any other command loads them all. `check`
# and the cockpit need none of the runbook's commands (plan runner, journals, lab).
_OWN_MODULE = {"snapshot verify": "verify", "wal verify": "verify", "cli check": "check",
               "cli tui": "tui"}
_MODULES = ("lab", "verify", "check", "runbook", "journal_commands", "report", "tui", "backups")


def _register() -> None:
    # Import for side effects: each module attaches its commands to the groups below.
    for mod in _MODULES:
        importlib.import_module(f"blackstart.cli.{mod}")


class LazyGroup(BlackstartGroup):
    """A group whose commands are attached by modules imported on first need."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            own = _OWN_MODULE.get(f"{self.name} {cmd_name}")
            if own is not None:
                importlib.import_module(f"blackstart.cli.{own}")
            if cmd_name not in self.commands:
                _register()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        _register()
        return super().list_commands(ctx)


@click.group(cls=LazyGroup, invoke_without_command=True)
@inventory_options
@tui_options
@click.pass_context
def cli(ctx: click.Context, /, **kw: Any) -> None:
    """blackstart: bring an etcd / Kubernetes control plane back after an outage.

    With no command, opens the TUI: `sudo blackstart --read-only`, `blackstart --config F`.
    Inventory options given here are also the defaults of the command that follows."""
    given = {k: v for k, v in kw.items() if k in INVENTORY_KEYS and v is not None}
    if kw.get("read_only"):
        given["read_only"] = True  # commands that take --read-only get it from here too
    if given:
        _register()  # every command that takes these options, loaded or not yet
        ctx.default_map = _defaults_for(cli, given)
    if ctx.invoked_subcommand is None:
        tui_cmd = cli.get_command(ctx, "tui")
        assert tui_cmd is not None  # registered below
        ctx.invoke(tui_cmd, **kw)


def _defaults_for(group: click.Group, given: dict[str, Any]) -> dict[str, Any]:
    """A click default_map giving every (sub)command that takes these options their value."""
    out: dict[str, Any] = {}
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            out[name] = _defaults_for(cmd, given)
        else:
            params = {p.name for p in cmd.params}
            out[name] = {k: v for k, v in given.items() if k in params}
    return out


@cli.group(cls=LazyGroup)
def snapshot() -> None:
    """Verify, save and prune etcd snapshots."""


@cli.group(cls=LazyGroup)
def wal() -> None:
    """Inspect a member's write-ahead log."""


@cli.group(cls=LazyGroup)
def certs() -> None:
    """Inspect and renew etcd certificates."""


def main() -> None:
    import os

    # blackstart's own files (snapshots, journals, audit, reports) are for root alone:
    # 0600/0700 even where a file is made without an explicit mode
    os.umask(0o077)
    cli()
