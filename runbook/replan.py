"""`resume` re-plans: the steps still to run are rebuilt from the inventory as it is now,
after the same inventory preflight a new plan gets. An interrupted restore whose peer URL
was wrong is resumed with the fixed URL, never by replaying the stale argv."""

from __future__ import annotations

from blackstart.checks.model import Cluster
from blackstart.runbook.journal import Journal
from blackstart.runbook.plan import Step
from blackstart.runbook.preflight import PlanRefused, refuse_bad_inventory


def restore_argv(old: tuple[str, ...], cluster: Cluster, member: str) -> tuple[str, ...]:
    """The restore command for `member` from the current inventory, keeping what the plan
    chose (tool, snapshot, token, hash check, revision bump)."""
    m = cluster.member(member)
    argv = list(old)
    tool = argv[: argv.index("snapshot")]
    snap = argv[argv.index("restore") + 1]
    token = argv[argv.index("--initial-cluster-token") + 1]
    tail = ["--skip-hash-check"] if "--skip-hash-check" in argv else []
    if "--bump-revision" in argv:
        tail += ["--bump-revision", argv[argv.index("--bump-revision") + 1], "--mark-compacted"]
    initial = ",".join(f"{x.name}={x.peer_url}" for x in cluster.members)
    return (*tool, "snapshot", "restore", snap, "--name", m.name, "--data-dir", m.data_dir,
            "--initial-cluster", initial, "--initial-cluster-token", token,
            "--initial-advertise-peer-urls", m.peer_url, *tail)


def _service_argv(cluster: Cluster, step: Step) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    name = step.id.split("-", 1)[-1]
    for verb in ("stop-", "start-"):
        if name.startswith(verb):
            svc_name = name[len(verb):]
            break
    else:
        return None
    for s in cluster.services:
        if s.node == step.node and s.name == svc_name and s.kind == "command":
            return (s.stop, s.start) if verb == "stop-" else (s.start, s.stop)
    return None


def refresh_pending(cluster: Cluster, j: Journal) -> list[str]:
    """Rebuild the pending `run` steps of `j` in place; lines saying what changed."""
    refuse_bad_inventory(cluster)
    changed: list[str] = []
    for step in j.plan.steps[j.first_pending():]:
        if step.op != "run":
            continue
        name = step.id.split("-", 1)[-1]
        new: tuple[tuple[str, ...], tuple[str, ...]] | None
        if name.startswith("restore-") and "snapshot" in step.argv:
            try:
                new = (restore_argv(step.argv, cluster, name[len("restore-"):]), step.undo_argv)
            except KeyError as exc:
                raise PlanRefused(f"resume: member {name[len('restore-'):]!r} of plan "
                                  f"{j.plan.id} is no longer in the inventory") from exc
        else:
            new = _service_argv(cluster, step)
        if new is None or (new[0], new[1]) == (step.argv, step.undo_argv):
            continue
        step.argv, step.undo_argv = new
        changed.append(f"{step.id} on {step.node}: {step.describe()}")
    if changed:
        # the operator confirms the re-planned steps before resume runs them: that
        # confirmation is what the journal now records
        j.digest = j.plan.digest()
        j.fingerprints = [s.fingerprint() for s in j.plan.steps]
        j.save()
    return changed
