"""`blackstart report`: the post-mortem of the incident, Markdown or JSON, from what the
state dir recorded (observations, journals, audit log) across CLI and TUI sessions."""

from __future__ import annotations

from typing import Any

import click

from blackstart.cli import cli
from blackstart.cli.check import cluster_from_options
from blackstart.cli.options import inventory_options


@cli.command("report")
@inventory_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of Markdown.")
def report_cmd(as_json: bool, **inv: Any) -> None:
    """Print the post-mortem: timeline, findings, actions, losses, moved-aside paths."""
    from blackstart.runbook.postmortem import load, render_markdown, to_json

    cluster = cluster_from_options(**inv)
    pm = load(cluster.state_dir, cluster.name)
    click.echo(to_json(pm) if as_json else render_markdown(pm), nl=not as_json)
