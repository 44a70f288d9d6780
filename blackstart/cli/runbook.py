"""Runbook commands: snapshot save, restore, recover, start, member replace, restart, certs
renew, alarm disarm, defrag. Each builds the same typed request the TUI does
(checks.requests), plans it, shows every step, asks for confirmation when it changes
things (`--yes`, or the cluster name typed at a terminal), runs it with live step status
(`plan_runner`), and leaves a journal and audit lines in the state dir. What a plan leaves
behind (resume, rollback, unlock) is in `journal_commands`.

Exit codes: 0 done, 1 a step failed (the journal says which; `resume`/`rollback`),
2 refused before any change (the reason is printed), 3 no inventory.
"""

from __future__ import annotations

import json
from typing import Any

import click

from blackstart.checks.model import Cluster
from blackstart.checks.requests import (
    ALARM_TYPES,
    ALL_ALARMS,
    BestSource,
    Defrag,
    Disarm,
    Recover,
    Renew,
    ReplaceMember,
    RestartService,
    Restore,
    SnapshotSave,
    SourceRef,
    StartMembers,
)
from blackstart.cli import certs, cli, snapshot
from blackstart.cli.check import cluster_from_options
from blackstart.cli.options import inventory_options
from blackstart.cli.plan_runner import (
    NothingToDo,
    check_report,
    confirm,
    execute_plan,
    make_plan,
    run_request,
)


def source_ref(cluster: Cluster, value: str, from_node: str | None) -> SourceRef:
    """`NODE:PATH` or a PATH (on --from-node, else on this machine)."""
    node, path = from_node or "", value
    head, sep, rest = value.partition(":")
    if sep and not from_node and head in {n.name for n in cluster.nodes}:
        node, path = head, rest
    elif sep and not from_node and head in {b.name for b in cluster.backup_locations()
                                             if b.kind == "s3"}:
        return SourceRef(f"s3:{head}", rest)  # LOCATION:NAME, an object below its prefix
    kind = "member-db" if path.rstrip("/").endswith("member/snap/db") else "backup"
    return SourceRef(node, path, kind)


# --------------------------------------------------------------------------- commands


@snapshot.command("save")
@inventory_options
@click.option("--prune", is_flag=True, help="Apply each location's retention policy too.")
@click.option("--delete", is_flag=True,
              help="With --prune: delete pruned files (default: move them to pruned/).")
@click.option("--upload", multiple=True, metavar="LOCATION",
              help="Copy to these [[backups]] locations besides the dirs (repeatable; "
                   "default: every location; 'all' for every one).")
@click.option("--kit", is_flag=True, help="Archive the restore kit beside the snapshot.")
@click.option("--kit-recipient", metavar="AGE_PUBKEY",
              help="Encrypt the kit's private keys to this age recipient.")
@click.option("--kit-passphrase-env", metavar="VAR",
              help="Encrypt the kit's private keys with the passphrase in $VAR.")
@click.option("--kit-no-keys", is_flag=True, help="Leave the private keys out of the kit.")
@click.option("--json", "as_json", is_flag=True, help="Print {path, revision, total_keys, "
                                                      "sha256, copies, uploads} only.")
@click.option("--yes", is_flag=True, help="Needed with --delete.")
def snapshot_save(*, prune: bool, delete: bool, upload: tuple[str, ...], kit: bool,
                  kit_recipient: str | None, kit_passphrase_env: str | None,
                  kit_no_keys: bool, as_json: bool, yes: bool, **kw: Any) -> None:
    """Save a snapshot from a healthy member, verify it, copy it to every backup location
    (dirs on nodes, S3), prune each by its own retention. Exit 1 when a copy fails."""
    cluster = cluster_from_options(**kw)
    keys = (f"recipient:{kit_recipient}" if kit_recipient else
            f"passphrase-env:{kit_passphrase_env}" if kit_passphrase_env else
            "omit" if kit_no_keys else "")
    plan = make_plan(SnapshotSave(prune=prune, delete=delete and prune, upload=tuple(upload),
                                  kit=kit, kit_keys=keys), cluster)
    if not as_json:
        click.echo("\n".join(plan.preview_lines()))
    if plan.destructive:
        confirm(cluster, yes)
    res = execute_plan(plan, cluster, plan.digest(), quiet=as_json)
    info = json.loads(res.outputs[plan.steps[0].id].strip().splitlines()[-1])
    info["copies"] = [s.args["dst"] for s in plan.steps if s.op == "copy"]
    info["uploads"] = [f"{s.args['location']}:{s.args['name']}" for s in plan.steps
                       if s.op == "upload"]
    if as_json:
        click.echo(json.dumps(info))
    else:
        click.echo(f"saved {info['path']} (revision {info['revision']}, "
                   f"{info['total_keys']} keys, sha256 {info['sha256']}); copies in "
                   f"{', '.join(plan.info.get('locations', [])) or 'no location'}")


@cli.command("restore")
@inventory_options
@click.option("--snapshot", "snapshot_path",
              help="NODE:PATH of a backup or member db, LOCATION:NAME of an S3 copy (or a "
                   "PATH on --from-node / here).")
@click.option("--from-node", help="The --snapshot PATH is on this node.")
@click.option("--best", is_flag=True, help="Restore from the best-ranked valid source.")
@click.option("--force", "force_reason", default="",
              help="REASON: restore although the cluster has quorum (audited).")
@click.option("--dry-run", is_flag=True, help="Verify in place, show every step; change "
                                              "nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the request, digest and plan.")
@click.option("--yes", is_flag=True, help="Run without typing the cluster name.")
@click.option("--stop-timeout", default=30.0, show_default=True,
              help="Seconds to wait for each etcd to be confirmed stopped.")
def restore_cmd(snapshot_path: str | None, best: bool, dry_run: bool, **kw: Any) -> None:
    """Restore every member from one verified snapshot (preflight first)."""
    if bool(snapshot_path) == best:
        raise click.UsageError("give exactly one of --snapshot NODE:PATH and --best")
    yes, stop_timeout, node = kw.pop("yes"), kw.pop("stop_timeout"), kw.pop("from_node")
    force, as_json = kw.pop("force_reason"), kw.pop("as_json")
    cluster = cluster_from_options(**kw)
    report = check_report(cluster)  # --best picks from it; both size the revision bump from it
    src = BestSource() if best else source_ref(cluster, str(snapshot_path), node)
    plan = run_request(Restore(src, force_reason=force), cluster, yes=yes, dry_run=dry_run,
                       report=report, as_json=as_json, stop_timeout=stop_timeout)
    if not dry_run and not as_json:
        click.echo(f"restored. new --initial-cluster-token: {plan.info['token']} "
                   f"(the inventory's token = {cluster.token!r} is informational)")


@cli.command("recover")
@inventory_options
@click.option("--strategy", default="", help="start | replace | force-new-cluster | "
                                             "restore-member-db | "
                                             "restore-backup (default: the recommended one).")
@click.option("--dry-run", is_flag=True, help="Show the strategies and the plan; change "
                                              "nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the request, digest and plan.")
@click.option("--yes", is_flag=True, help="Run without typing the cluster name.")
def recover_cmd(strategy: str, dry_run: bool, as_json: bool, yes: bool, **kw: Any) -> None:
    """Run a recovery strategy end to end: the recommended one (least data lost), or the
    one named."""
    cluster = cluster_from_options(**kw)
    report = check_report(cluster)
    if not as_json:
        for s in report.verdict.strategies:
            mark = "*" if s.name == report.verdict.recommended else " "
            click.echo(f"{mark} {s.name}: {s.title}" + (f"  [{s.blocked}]" if s.blocked else ""))
    if not report.verdict.strategies:
        raise NothingToDo(f"no recovery needed: {report.verdict.summary}")
    run_request(Recover(strategy), cluster, yes=yes, dry_run=dry_run, report=report,
                as_json=as_json)


@cli.command("start")
@inventory_options
@click.argument("members", nargs=-1, required=True)
@click.option("--dry-run", is_flag=True)
@click.option("--yes", is_flag=True)
def start_cmd(members: tuple[str, ...], dry_run: bool, yes: bool, **kw: Any) -> None:
    """Start etcd on exactly these MEMBERS (none other), then wait for quorum."""
    run_request(StartMembers(members), cluster_from_options(**kw), yes=yes, dry_run=dry_run)


@cli.group("member")
def member_group() -> None:
    """etcd membership."""


@member_group.command("replace")
@inventory_options
@click.argument("name")
@click.option("--dry-run", is_flag=True)
@click.option("--yes", is_flag=True)
def member_replace(name: str, dry_run: bool, yes: bool, **kw: Any) -> None:
    """Replace lost member NAME from the quorum: member remove, data dir aside, member add,
    start with --initial-cluster-state=existing, wait until it caught up, hashkv."""
    cluster = cluster_from_options(**kw)
    run_request(ReplaceMember(name), cluster, yes=yes, dry_run=dry_run,
                report=check_report(cluster))


@cli.command("restart")
@inventory_options
@click.argument("service")
@click.option("--node", help="Only on this node (default: every node running it).")
@click.option("--yes", is_flag=True)
def restart_cmd(service: str, node: str | None, yes: bool, **kw: Any) -> None:
    """Restart SERVICE (etcd, kube-apiserver, …) as the inventory says: command, systemd or
    static pod."""
    run_request(RestartService(node, service), cluster_from_options(**kw), yes=yes)


@certs.command("renew")
@inventory_options
@click.option("--member", help="Renew this member's server and peer certificates.")
@click.option("--expired", is_flag=True, help="Renew every expired or not-yet-valid cert.")
@click.option("--path", "cert_path", help="Renew the inventory certificate at this path.")
@click.option("--node", help="The node the --path is on (same paths on every node).")
@click.option("--dry-run", is_flag=True)
@click.option("--yes", is_flag=True)
def certs_renew(member: str | None, expired: bool, cert_path: str | None, **kw: Any) -> None:
    """Re-sign certificates from the CA key, keeping subject, SANs and EKU."""
    if not (member or expired or cert_path):
        raise click.UsageError("say which: --member NAME, --expired or --path FILE")
    node, dry_run, yes = kw.pop("node"), kw.pop("dry_run"), kw.pop("yes")
    run_request(Renew(node or "", cert_path or "", member=member, expired=expired),
                cluster_from_options(**kw), yes=yes, dry_run=dry_run)


@cli.group()
def alarm() -> None:
    """etcd alarms (NOSPACE, CORRUPT)."""


@alarm.command("disarm")
@inventory_options
@click.argument("kind", required=False, default=ALL_ALARMS,
                type=click.Choice((ALL_ALARMS, *ALARM_TYPES), case_sensitive=False))
@click.option("--yes", is_flag=True)
def alarm_disarm(kind: str, yes: bool, **kw: Any) -> None:
    """Disarm the active alarms: every one (the default), or only NOSPACE or CORRUPT."""
    run_request(Disarm(kind), cluster_from_options(**kw), yes=yes)


@cli.command("defrag")
@inventory_options
@click.argument("members", nargs=-1)
@click.option("--yes", is_flag=True)
def defrag_cmd(members: tuple[str, ...], yes: bool, **kw: Any) -> None:
    """Defragment MEMBERS (default every member), one at a time, the leader last."""
    run_request(Defrag(members), cluster_from_options(**kw), yes=yes)
