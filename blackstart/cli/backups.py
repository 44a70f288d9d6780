"""`blackstart drill` and `blackstart backups list|verify`: the backup plane's commands."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from typing import Any

import click

from blackstart.checks.model import Cluster
from blackstart.cli import cli
from blackstart.cli.check import cluster_from_options
from blackstart.cli.options import inventory_options


@cli.command("drill")
@inventory_options
@click.option("--location", "names", multiple=True, metavar="NAME",
              help="Drill this backup location (repeatable).")
@click.option("--all", "every", is_flag=True,
              help="Every location, the nodes' default dirs too (default: the [[backups]]).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Loopback address the throwaway etcd listens on (random free ports).")
@click.option("--etcd", "etcd_bin", help="etcd binary (default: beside etcdutl, or PATH).")
@click.option("--etcdutl", "etcdutl_bin", help="etcdutl binary (default: the inventory's).")
@click.option("--json", "as_json", is_flag=True, help="One JSON record per location.")
def drill_cmd(*, names: tuple[str, ...], every: bool, host: str, etcd_bin: str | None,
              etcdutl_bin: str | None, as_json: bool, **kw: Any) -> None:
    """Restore the newest copy of each location into a throwaway etcd and check it.

    Exit 0 when every drill passed, 1 when one failed. Each result is recorded in the
    state dir; `blackstart check` warns when a location was never drilled."""
    from blackstart.runbook.drill import drill_one, locations, record

    cluster = cluster_from_options(**kw)
    if not host.startswith("127."):
        raise click.UsageError("--host must be a loopback address (127.x.y.z)")
    try:
        locs = locations(cluster, names, every)
    except KeyError as exc:
        raise click.UsageError(str(exc.args[0])) from exc
    failed = 0
    for loc in locs:
        rec = drill_one(cluster, loc, host=host, etcd=etcd_bin, etcdutl=etcdutl_bin)
        record(cluster.state_dir, rec)
        failed += not rec.ok
        if as_json:
            click.echo(json.dumps(asdict(rec)))
        else:
            click.echo(f"{'PASS' if rec.ok else 'FAIL'} {loc.name}: {rec.copy} "
                       f"({rec.duration:.1f}s) {rec.detail}")
    sys.exit(1 if failed else 0)


@cli.group()
def backups() -> None:
    """Every copy in every backup location: list, verify on demand."""


def _inventory(cluster: Cluster, deadline: float) -> Any:
    from blackstart.checks.probes.engine import run_checks_sync

    return run_checks_sync(cluster, deadline=deadline, probes=["backups", "drills"])


@backups.command("list")
@inventory_options
@click.option("--deadline", type=float, default=5.0, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def backups_list(deadline: float, as_json: bool, **kw: Any) -> None:
    """Each location, its failure domain and its copies (newest first) with their state."""
    from blackstart.checks.reasoning.backup_findings import last_drill
    from blackstart.runbook.backup_cache import remember

    cluster = cluster_from_options(**kw)
    report = _inventory(cluster, deadline)
    remember(cluster.state_dir, report.backups)
    if as_json:
        click.echo(json.dumps([asdict(s) for s in report.backups], default=str))
        return
    now = time.time()
    for s in report.backups:
        d = last_drill(report.drills, s.name)
        drilled = ("never drilled" if d is None else
                   f"last drill {'passed' if d.ok else 'FAILED'} {int(now - d.when)}s ago")
        click.echo(f"{s.name} [{s.kind}, {s.domain}] {len(s.copies)} copies; {drilled}"
                   + (f"; ERROR: {s.error}" if s.error else "") + (" (cached)" if s.stale
                                                                    else ""))
        for c in s.copies:
            kit = f" kit: {', '.join(c.kit)}" if c.kit else ""
            click.echo(f"  {c.state:<10} {c.name} {c.size:,} B "
                       f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime(c.mtime))}Z "
                       f"{c.detail}{kit}")


@backups.command("verify")
@inventory_options
@click.option("--location", "name", required=True, help="The S3 location.")
@click.argument("names", nargs=-1)
def backups_verify(name: str, names: tuple[str, ...], **kw: Any) -> None:
    """Download and verify S3 copies in full (default: every copy), then remember it."""
    from blackstart.checks.probes import s3read
    from blackstart.runbook.backup_verify import verify_all

    cluster = cluster_from_options(**kw)
    try:
        loc = cluster.backup_location(name)
        results = verify_all(cluster, loc, names)
    except KeyError as exc:
        raise click.UsageError(str(exc.args[0])) from exc
    except s3read.S3Error as exc:
        raise click.ClickException(str(exc)) from exc
    bad = 0
    for c in results:
        bad += c.state != "verified"
        click.echo(f"{c.state:<10} {c.where}: {c.detail}")
    sys.exit(1 if bad else 0)
