"""How every runbook command runs a request, the same way: plan it (a refusal exits 2, a
`--best` restore with nothing to do exits 0), show every step and the plan's digest, ask
for confirmation when it changes things (`--yes`, or the cluster name typed at a
terminal), execute it with live step status, and exit 1 when a step failed. Kept apart
from the commands so `runbook` and `journal_commands` share one path.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from blackstart.checks.conclusions import Report
from blackstart.checks.loops import run_on_own_loop
from blackstart.checks.model import Cluster
from blackstart.checks.requests import Request
from blackstart.runbook.preflight import PlanRefused

EXIT_FAILED = 1  # refusals exit 2 (PlanRefused.exit_code), via cli.errors
PLAN_DEADLINE = 30.0  # per-call deadline of the checks a plan is made from


class NothingToDo(click.ClickException):
    exit_code = 0

    def show(self, file: Any = None) -> None:
        click.echo(self.message)


def make_plan(request: Request, cluster: Cluster, report: Report | None = None,
              stop_timeout: float = 30.0) -> Any:
    from blackstart.runbook.planner import NothingToRestore, plan_for

    try:  # a PlanRefused is shown by blackstart.cli.errors (exit 2)
        return plan_for(request, cluster, report, stop_timeout=stop_timeout, hooks=injected_hooks())
    except NothingToRestore as exc:
        raise NothingToDo(exc.reason) from exc


def injected_hooks() -> Any:
    """The fault hooks the caller of `cli.main(obj=...)` injected (tests only), else none."""
    from blackstart.runbook.hooks import NO_HOOKS, Hooks

    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    return obj if isinstance(obj, Hooks) else NO_HOOKS


def check_report(cluster: Cluster) -> Report:
    from blackstart.checks.probes.engine import run_checks_sync

    # Before changing anything, the facts: whole WAL segments and dbs over SSH get the time
    # they need (a probe that still runs out of it is "unknown", and nothing destructive
    # is recommended on unknowns).
    click.echo("checking the cluster (every probe once)…", err=True)
    report = run_checks_sync(cluster, deadline=PLAN_DEADLINE)
    for name, err in sorted(report.probe_errors.items()):
        click.echo(f"probe {name}: {err}", err=True)
    return report


def confirm(cluster: Cluster, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise PlanRefused("this plan changes the cluster: add --yes, or run it at a terminal "
                      "and type the cluster name")
    typed = click.prompt(f"Type the cluster name ({cluster.name}) to run this plan",
                         default="", show_default=False)
    if typed.strip() != cluster.name:
        raise PlanRefused(f"typed {typed!r}, not {cluster.name!r}")


def print_event(e: Any) -> None:
    if e.status == "output":
        click.echo(f"      {e.line}")
    elif e.status == "running":
        click.echo(f"[{e.index + 1:>2}] {e.step.node}: {e.step.title} …")
    else:
        tail = f": {e.line}" if e.line else ""
        click.echo(f"[{e.index + 1:>2}] {e.step.node}: {e.step.title} -> {e.status}{tail}")


def execute_plan(plan: Any, cluster: Cluster, confirmed: str, quiet: bool = False) -> Any:
    from blackstart.runbook.audit import operator_name
    from blackstart.runbook.executor import execute

    res = run_on_own_loop(execute(plan, cluster, operator=operator_name(),
                                  on_event=None if quiet else print_event,
                                  confirmed=confirmed, hooks=injected_hooks()))
    finish(res)
    return res


def finish(res: Any) -> None:
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


def run_request(request: Request, cluster: Cluster, *, yes: bool, dry_run: bool = False,
                report: Report | None = None, as_json: bool = False,
                stop_timeout: float = 30.0) -> Any:
    plan = make_plan(request, cluster, report, stop_timeout)
    digest = _show(plan, as_json)
    if dry_run:
        if not as_json:
            click.echo("dry run: nothing was changed")
        return plan
    if plan.destructive:
        confirm(cluster, yes)
    _audit_force(cluster, plan)
    execute_plan(plan, cluster, digest, quiet=as_json)
    return plan
