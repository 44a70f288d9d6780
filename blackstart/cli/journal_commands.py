"""Commands on what a plan left behind: `resume` continues an interrupted or failed plan
from its journal (re-planned from the inventory as it is now), `rollback` undoes its done
steps newest first (a finished plan only by name, with the cluster name typed), and
`unlock` clears the lock record a dead holder left. Apart from the commands that make
plans because they start from a journal, not a request.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from blackstart.checks.loops import run_on_own_loop
from blackstart.checks.model import Cluster
from blackstart.cli import cli
from blackstart.cli.check import cluster_from_options
from blackstart.cli.options import inventory_options
from blackstart.cli.plan_runner import confirm, finish, injected_hooks, print_event
from blackstart.runbook.preflight import PlanRefused


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
    confirm(cluster, yes)
    res = run_on_own_loop(execute(j.plan, cluster, operator=operator_name(),
                                  on_event=print_event, journal=j, hooks=injected_hooks()))
    finish(res)


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
        confirm(cluster, yes)
    res = run_on_own_loop(rollback(j, cluster, operator=operator_name(),
                                   on_event=print_event))
    finish(res)
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
    _unlock_remotes(cluster)


def _unlock_remotes(cluster: Cluster) -> None:
    """The same on every SSH node: a record a dead holder left there is cleared and told;
    a live holder is never broken (exit 2 once every node has answered)."""
    from blackstart.runbook import lock_plan
    from blackstart.runbook.audit import append, audit_record, operator_name

    live = []
    for node, ans in run_on_own_loop(lock_plan.clear_remote_locks(cluster)):
        line = lock_plan.describe_cleared(node, ans, cluster.state_dir)
        click.echo(line)
        live += [line] if ans.state == "busy" else []
        append(cluster.state_dir, audit_record(
            operator=operator_name(), plan_id="", action="unlock", node=node, step="unlock",
            op="unlock", command="blackstart unlock --yes", exit_code=0 if ans.state == "free"
            else 1, duration=0.0, output=line.encode(), status="ok" if ans.state == "free"
            else "failed", error=None if ans.state == "free" else line))
    if live:
        raise PlanRefused("; ".join(live))
