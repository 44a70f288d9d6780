"""Runbook commands: snapshot save, restore, recover, start, member replace, restart, certs
renew, alarm disarm, defrag, resume, rollback. Each builds the same typed request the TUI
does (checks.requests), plans it, shows every step, asks for confirmation when it
changes things (`--yes`, or the cluster name typed at a terminal), runs it with live step
status, and leaves a journal and audit lines in the state dir.

Exit codes: 0 done, 1 a step failed (the journal says which; `resume`/`rollback`),
2 refused before any change (the reason is printed), 3 no inventory.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from blackstart.checks.conclusions import Report
from blackstart.checks.loops import run_on_own_loop
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
    Request,
    RestartService,
    Restore,
    SnapshotSave,
    SourceRef,
    StartMembers,
)
from blackstart.cli import certs, cli, snapshot
from blackstart.cli.check import cluster_from_options
from blackstart.cli.options import inventory_options
from blackstart.runbook.preflight import PlanRefused

EXIT_FAILED = 1  # refusals exit 2 (PlanRefused.exit_code), via cli.errors
PLAN_DEADLINE = 30.0  # per-call deadline of the checks a plan is made from


class NothingToDo(click.ClickException):
    exit_code = 0

    def show(self, file: Any = None) -> None:
        click.echo(self.message)


def _plan(request: Request, cluster: Cluster, report: Report | None = None,
          stop_timeout: float = 30.0) -> Any:
    from blackstart.runbook.planner import NothingToRestore, plan_for

    try:  # a PlanRefused is shown by blackstart.cli.errors (exit 2)
        return plan_for(request, cluster, report, stop_timeout=stop_timeout, hooks=_hooks())
    except NothingToRestore as exc:
        raise NothingToDo(exc.reason) from exc


def _hooks() -> Any:
    """The fault hooks the caller of `cli.main(obj=...)` injected (tests only), else none."""
    from blackstart.runbook.hooks import NO_HOOKS, Hooks

    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    return obj if isinstance(obj, Hooks) else NO_HOOKS


def _report(cluster: Cluster) -> Report:
    from blackstart.checks.probes.engine import run_checks_sync

    # Before changing anything, the facts: whole WAL segments and dbs over SSH get the time
    # they need (a probe that still runs out of it is "unknown", and nothing destructive
    # is recommended on unknowns).
    click.echo("checking the cluster (every probe once)…", err=True)
    report = run_checks_sync(cluster, deadline=PLAN_DEADLINE)
    for name, err in sorted(report.probe_errors.items()):
        click.echo(f"probe {name}: {err}", err=True)
    return report


def _confirm(cluster: Cluster, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise PlanRefused("this plan changes the cluster: add --yes, or run it at a terminal "
                      "and type the cluster name")
    typed = click.prompt(f"Type the cluster name ({cluster.name}) to run this plan",
                         default="", show_default=False)
    if typed.strip() != cluster.name:
        raise PlanRefused(f"typed {typed!r}, not {cluster.name!r}")


def _print_event(e: Any) -> None:
    if e.status == "output":
        click.echo(f"      {e.line}")
    elif e.status == "running":
        click.echo(f"[{e.index + 1:>2}] {e.step.node}: {e.step.title} …")
    else:
        tail = f": {e.line}" if e.line else ""
        click.echo(f"[{e.index + 1:>2}] {e.step.node}: {e.step.title} -> {e.status}{tail}")


def _execute(plan: Any, cluster: Cluster, confirmed: str, quiet: bool = False) -> Any:
    from blackstart.runbook.audit import operator_name
    from blackstart.runbook.executor import execute

    res = run_on_own_loop(execute(plan, cluster, operator=operator_name(),
                                  on_event=None if quiet else _print_event,
                                  confirmed=confirmed, hooks=_hooks()))
    _finish(res)
    return res


def _finish(res: Any) -> None:
    if res.refused:
        raise PlanRefused(res.error or "refused")
    if not res.ok:
        where = f" (journal {res.journal})" if res.journal else ""
        click.echo(f"FAILED: {res.error}{where}\n"
                   "`blackstart resume` continues from this step once the cause is fixed; "
                   "`blackstart rollback` undoes the steps done.", err=True)
        sys.exit(EXIT_FAILED)


def _audit_force(cluster: Cluster, plan: Any) -> None:
    from blackstart.runbook.audit import append, audit_record, operator_name

    reason = plan.info.get("force_reason")
    if reason:
        append(cluster.state_dir, audit_record(
            operator=operator_name(), plan_id=plan.id, action=plan.action, node="",
            step="confirm", op="force", command="", exit_code=None, duration=0.0,
            output=reason.encode(), status="forced", error=f"forced: {reason}"))


def _show(plan: Any, as_json: bool) -> str:
    digest: str = plan.digest()
    if as_json:
        click.echo(json.dumps({"request": plan.request, "digest": digest,
                               "plan": plan.to_json()}, indent=1))
    else:
        click.echo("\n".join(plan.preview_lines()))
        click.echo(f"plan digest: {digest}")
    return digest


def _run(request: Request, cluster: Cluster, *, yes: bool, dry_run: bool = False,
         report: Report | None = None, as_json: bool = False, stop_timeout: float = 30.0
         ) -> Any:
    plan = _plan(request, cluster, report, stop_timeout)
    digest = _show(plan, as_json)
    if dry_run:
        if not as_json:
            click.echo("dry run: nothing was changed")
        return plan
    if plan.destructive:
        _confirm(cluster, yes)
    _audit_force(cluster, plan)
    _execute(plan, cluster, digest, quiet=as_json)
    return plan


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
    plan = _plan(SnapshotSave(prune=prune, delete=delete and prune, upload=tuple(upload),
                              kit=kit, kit_keys=keys), cluster)
    if not as_json:
        click.echo("\n".join(plan.preview_lines()))
    if plan.destructive:
        _confirm(cluster, yes)
    res = _execute(plan, cluster, plan.digest(), quiet=as_json)
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
    report = _report(cluster)  # --best picks from it; both size the revision bump from it
    src = BestSource() if best else source_ref(cluster, str(snapshot_path), node)
    plan = _run(Restore(src, force_reason=force), cluster, yes=yes, dry_run=dry_run,
                report=report, as_json=as_json, stop_timeout=stop_timeout)
    if not dry_run and not as_json:
        click.echo(f"restored. new --initial-cluster-token: {plan.info['token']} "
                   f"(the inventory's token = {cluster.token!r} is informational)")


@cli.command("recover")
@inventory_options
@click.option("--strategy", default="", help="start | replace | restore-member-db | "
                                             "restore-backup (default: the recommended one).")
@click.option("--dry-run", is_flag=True, help="Show the strategies and the plan; change "
                                              "nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the request, digest and plan.")
@click.option("--yes", is_flag=True, help="Run without typing the cluster name.")
def recover_cmd(strategy: str, dry_run: bool, as_json: bool, yes: bool, **kw: Any) -> None:
    """Run a recovery strategy end to end: the recommended one (least data lost), or the
    one named."""
    cluster = cluster_from_options(**kw)
    report = _report(cluster)
    if not as_json:
        for s in report.verdict.strategies:
            mark = "*" if s.name == report.verdict.recommended else " "
            click.echo(f"{mark} {s.name}: {s.title}" + (f"  [{s.blocked}]" if s.blocked else ""))
    if not report.verdict.strategies:
        raise NothingToDo(f"no recovery needed: {report.verdict.summary}")
    _run(Recover(strategy), cluster, yes=yes, dry_run=dry_run, report=report, as_json=as_json)


@cli.command("start")
@inventory_options
@click.argument("members", nargs=-1, required=True)
@click.option("--dry-run", is_flag=True)
@click.option("--yes", is_flag=True)
def start_cmd(members: tuple[str, ...], dry_run: bool, yes: bool, **kw: Any) -> None:
    """Start etcd on exactly these MEMBERS (none other), then wait for quorum."""
    _run(StartMembers(members), cluster_from_options(**kw), yes=yes, dry_run=dry_run)


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
    _run(ReplaceMember(name), cluster, yes=yes, dry_run=dry_run, report=_report(cluster))


@cli.command("restart")
@inventory_options
@click.argument("service")
@click.option("--node", help="Only on this node (default: every node running it).")
@click.option("--yes", is_flag=True)
def restart_cmd(service: str, node: str | None, yes: bool, **kw: Any) -> None:
    """Restart SERVICE (etcd, kube-apiserver, …) as the inventory says: command, systemd or
    static pod."""
    _run(RestartService(node, service), cluster_from_options(**kw), yes=yes)


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
    _run(Renew(node or "", cert_path or "", member=member, expired=expired),
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
    _run(Disarm(kind), cluster_from_options(**kw), yes=yes)


@cli.command("defrag")
@inventory_options
@click.argument("members", nargs=-1)
@click.option("--yes", is_flag=True)
def defrag_cmd(members: tuple[str, ...], yes: bool, **kw: Any) -> None:
    """Defragment MEMBERS (default every member), one at a time, the leader last."""
    _run(Defrag(members), cluster_from_options(**kw), yes=yes)


def _writable(cluster: Cluster) -> Cluster:
    from blackstart.runbook.planner import READ_ONLY_REFUSAL

    if cluster.read_only:
        raise PlanRefused(READ_ONLY_REFUSAL)
    return cluster


def _journal(cluster: Cluster, plan_id: str | None, states: tuple[str, ...]) -> Any:
    from blackstart.runbook.journal import (
        Journal,
        JournalError,
        find_journal,
        journal_dir,
        latest_journal,
    )

    j: Journal | None
    try:
        j = (find_journal(cluster.state_dir, plan_id) if plan_id
             else latest_journal(cluster.state_dir, states))
    except JournalError as exc:
        raise PlanRefused(str(exc)) from exc
    if j is None:
        raise PlanRefused(f"no journal in {journal_dir(cluster.state_dir)} is "
                      + " or ".join(states))
    return j


@cli.command("resume")
@inventory_options
@click.option("--plan", "plan_id", help="Journal to resume (default: the newest unfinished).")
@click.option("--yes", is_flag=True)
def resume_cmd(plan_id: str | None, yes: bool, **kw: Any) -> None:
    """Continue an interrupted or failed plan from its first step not done."""
    from blackstart.runbook.audit import operator_name
    from blackstart.runbook.executor import execute
    from blackstart.runbook.journal import UNFINISHED

    cluster = _writable(cluster_from_options(**kw))
    j = _journal(cluster, plan_id, ("running", "failed"))
    if j.state not in UNFINISHED:
        raise PlanRefused(f"plan {j.plan.id} is {j.state}: only an interrupted or failed plan "
                      "is resumed")
    _replan(cluster, j)
    start = j.first_pending()
    click.echo(f"resuming {j.plan.id} ({j.plan.title}) at step {start + 1} of "
               f"{len(j.plan.steps)}; journal {j.path}")
    click.echo("\n".join(j.plan.preview_lines()))
    _confirm(cluster, yes)
    res = run_on_own_loop(execute(j.plan, cluster, operator=operator_name(),
                                  on_event=_print_event, journal=j, hooks=_hooks()))
    _finish(res)


def _replan(cluster: Cluster, j: Any) -> None:
    """Steps still to run are rebuilt from the inventory as it is now (a fixed peer URL
    or service command is used, not the stale argv), after the same preflight."""
    from blackstart.runbook.replan import refresh_pending

    for line in refresh_pending(cluster, j):
        click.echo(f"re-planned: {line}")


@cli.command("rollback")
@inventory_options
@click.option("--plan", "plan_id",
              help="Journal to roll back (default: the newest interrupted or failed one; a "
                   "finished plan only by name).")
@click.option("--cluster-name", "typed_name",
              help="The cluster name, typed: needed to roll back a finished plan.")
@click.option("--yes", is_flag=True)
def rollback_cmd(plan_id: str | None, typed_name: str | None, yes: bool, **kw: Any) -> None:
    """Undo a plan's done steps, newest first: e.g. put the old data dirs back (the
    restored ones are moved aside, never deleted)."""
    from blackstart.runbook.audit import operator_name
    from blackstart.runbook.executor import rollback
    from blackstart.runbook.journal import JournalError, rollback_candidate

    cluster = _writable(cluster_from_options(**kw))
    if plan_id:
        j = _journal(cluster, plan_id, ())
    else:
        try:
            j = rollback_candidate(cluster.state_dir)
        except JournalError as exc:
            raise PlanRefused(str(exc)) from exc
    if j.state in ("rolled-back",):
        raise PlanRefused(f"plan {j.plan.id} is already rolled back")
    click.echo(f"rolling back {j.plan.id} ({j.plan.title}, {j.state}); journal {j.path}")
    if j.state == "done":
        _confirm_finished(cluster, j, typed_name)
    for s in reversed(j.plan.steps):
        if s.undo_op and j.status.get(s.id) and s.id not in j.undone:
            click.echo(f"  [{s.node}] undo {s.title}: {s.undo}")
    if j.state != "done":
        _confirm(cluster, yes)
    res = run_on_own_loop(rollback(j, cluster, operator=operator_name(),
                                   on_event=_print_event))
    _finish(res)
    click.echo(f"rolled back {j.plan.id}")


def _confirm_finished(cluster: Cluster, j: Any, typed: str | None) -> None:
    """A finished plan is undone only on purpose: by id, with the cluster name typed, after
    reading what is lost."""
    import time as _time

    when = _time.strftime("%Y-%m-%d %H:%M:%SZ", _time.gmtime(j.finished or j.updated))
    click.echo(f"WARNING: {j.plan.id} finished at {when}. Rolling it back puts back what was "
               f"there before it ({j.plan.target}): every write made to cluster "
               f"{cluster.name} since {when} is lost from the live data (the current data "
               "dirs are moved aside, never deleted).")
    if typed is None:
        if not sys.stdin.isatty():
            raise PlanRefused(f"plan {j.plan.id} finished: rolling it back needs the cluster "
                          "name typed (--cluster-name NAME or at a terminal); --yes is not "
                          "enough")
        typed = click.prompt(f"Type the cluster name ({cluster.name}) to lose those writes",
                             default="", show_default=False)
    if typed.strip() != cluster.name:
        raise PlanRefused(f"typed {typed!r}, not {cluster.name!r}")


@cli.command("unlock")
@inventory_options
@click.option("--yes", is_flag=True, help="Clear the record a dead holder left.")
def unlock_cmd(yes: bool, **kw: Any) -> None:
    """Clear the runbook lock's record after its holder died. A live holder is never
    broken: the lock is a kernel lock, released the moment its process ends."""
    from blackstart.runbook import lock
    from blackstart.runbook.audit import append, audit_record, operator_name

    cluster = _writable(cluster_from_options(**kw))
    if not yes:
        raise PlanRefused("unlock clears the runbook lock's record: add --yes")
    left = lock.clear_stale(cluster.state_dir)  # LockHeld is a PlanRefused: exit 2
    what = (lock.describe_holder(left, lock.lock_path(cluster.state_dir)).split(":", 1)[1]
            if left else " nothing (the lock was free)")
    append(cluster.state_dir, audit_record(
        operator=operator_name(), plan_id="", action="unlock", node="", step="unlock",
        op="unlock", command="blackstart unlock --yes", exit_code=0, duration=0.0,
        output=b"", status="ok", error=None))
    click.echo(f"unlocked; the record left was:{what.split('. It is released')[0]}")
