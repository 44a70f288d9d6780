"""`blackstart check`: every probe once, the diagnosis, a readable report or JSON.

Also home of the inventory options every command shares (`inventory_options` and
`cluster_from_options`): the TUI and runbook commands import them from here.
Exit codes: 0 ok, 1 warning, 2 critical, 3 no inventory could be built.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from typing import Any

import click

from blackstart.checks.model import Cluster
from blackstart.checks.severity import Severity
from blackstart.cli import cli
from blackstart.cli.options import inventory_options

EXIT_NO_INVENTORY = 3
_EXIT_BY_LEVEL = {Severity.OK: 0, Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


def cluster_from_options(
    *,
    config: str | None = None,
    root: str | None = None,
    endpoints: str | None = None,
    cacert: str | None = None,
    cert: str | None = None,
    key: str | None = None,
    read_only: bool = False,
    **_: Any,
) -> Cluster:
    """The Cluster for these options; any failure is an InventoryError naming the file."""
    # An InventoryError exits 3 (no inventory) with its message: blackstart.cli.errors.
    from blackstart.checks.discovery.inventory import InventoryError, load_inventory

    where = config or "the inventory"
    env = os.environ
    try:
        cluster = load_inventory(config=config, root=root, endpoints=endpoints,
                                 cacert=cacert or env.get("ETCDCTL_CACERT"),
                                 cert=cert or env.get("ETCDCTL_CERT"),
                                 key=key or env.get("ETCDCTL_KEY"), env=env)
        return dataclasses.replace(cluster, read_only=True) if read_only else cluster
    except InventoryError as exc:
        raise InventoryError(_name_file(str(exc), where)) from exc
    except (OSError, ValueError) as exc:
        raise InventoryError(f"{where}: {exc}") from exc


def _name_file(message: str, where: str) -> str:
    return message if where in message else f"{where}: {message}"


def exit_code(level: Severity) -> int:
    return _EXIT_BY_LEVEL[level]


@cli.command("check")
@inventory_options
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--deadline", type=float, default=5.0, show_default=True,
              help="Seconds each call to a member or node may take.")
@click.option("--textfile", type=click.Path(file_okay=False),
              help="Also write Prometheus metrics to DIR/blackstart.prom (node_exporter "
                   "textfile collector; see docs/alerts.md).")
def check(as_json: bool, deadline: float, textfile: str | None, **inv: Any) -> None:
    """Check the cluster once: verdict, findings, next steps (read-only)."""
    from blackstart.checks.reasoning.report_text import render

    cluster = cluster_from_options(**inv)
    report = run_with_cache(cluster, deadline, read_only=cluster.read_only)
    if not cluster.read_only:
        _observe(cluster, report)
        _remember_backups(cluster, report)
    if textfile and cluster.read_only:
        click.echo(f"read-only: {textfile}/blackstart.prom not written", err=True)
    elif textfile:
        from blackstart.runbook.textfile import write_textfile

        write_textfile(textfile, report, report.taken_at)
    if as_json:
        # Not click.echo: off a terminal it runs an ANSI-stripping regex over the whole
        # text (megabytes with every log line), and JSON never holds a raw escape.
        sys.stdout.write(json.dumps(report.to_json(), indent=2, default=str) + "\n")
    else:
        click.echo(render(report), nl=False)
    raise SystemExit(exit_code(report.verdict.level))


def _remember_backups(cluster: Cluster, report: Any) -> None:
    """S3 listings and verdicts into the state dir: the next check shows them at once."""
    from blackstart.runbook.backup_cache import remember

    try:
        remember(cluster.state_dir, report.backups)
    except OSError as exc:
        click.echo(f"note: could not cache the backup listings in {cluster.state_dir}: "
                   f"{exc}", err=True)


def run_with_cache(cluster: Cluster, deadline: float, *, read_only: bool) -> Any:
    """All probes, with the verification cache of the state dir (read, and written back
    unless read-only); the parsing workers are stopped before the report is printed."""
    from blackstart.checks.probes import workers
    from blackstart.checks.probes.engine import run_checks_sync
    from blackstart.runbook.verify_cache import VerifyCache

    store = VerifyCache(cluster.state_dir, read_only=read_only)
    try:
        return run_checks_sync(cluster, deadline=deadline, store=store)
    finally:
        workers.shutdown()
        store.save()


def _observe(cluster: Cluster, report: Any) -> None:
    """Keep what was seen for the post-mortem (`blackstart report`); a state dir that
    cannot be written is said on stderr and never fails the check itself."""
    from blackstart.runbook.observations import record

    try:
        record(cluster.state_dir, report)
    except OSError as exc:
        click.echo(f"note: could not record this check in {cluster.state_dir}: {exc}",
                   err=True)
