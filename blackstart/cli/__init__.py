"""The `blackstart` command. Each command family lives in its own module and attaches
itself to the groups defined here; this module only wires them together."""

from __future__ import annotations

import click


@click.group(invoke_without_command=True)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """blackstart: bring an etcd / Kubernetes control plane back after an outage.

    With no command, opens the TUI (same options as `blackstart tui`)."""
    if ctx.invoked_subcommand is None:
        tui_cmd = cli.get_command(ctx, "tui")
        if tui_cmd is None:
            click.echo(ctx.get_help())
            return
        ctx.invoke(tui_cmd)


@cli.group()
def snapshot() -> None:
    """Verify, save and prune etcd snapshots."""


@cli.group()
def wal() -> None:
    """Inspect a member's write-ahead log."""


@cli.group()
def certs() -> None:
    """Inspect and renew etcd certificates."""


def _register() -> None:
    # Import for side effects: each module attaches its commands to the groups above.
    import importlib

    for mod in ("lab", "verify", "check", "runbook", "tui"):
        importlib.import_module(f"blackstart.cli.{mod}")


_register()


def main() -> None:
    cli()
