"""How far a restore moves the cluster's revision back, and the bump that hides it:
`--bump-revision N --mark-compacted` where every node's tool has it (sized from the newest
revision the checks saw), else a warning that every client must be restarted.
"""

from __future__ import annotations

from blackstart.checks.conclusions import Report
from blackstart.runbook.preflight import RestoreTool, bump_amount
from blackstart.runbook.restore_planner import Planner
from blackstart.runbook.restore_source import Source

BUMP_WARNING = (
    "{tool} {version} on {node} has no --bump-revision/--mark-compacted (etcdutl ≥ 3.5.10, "
    "etcdctl ≥ 3.4.27): after the restore the revision goes back{by}, so clients see "
    "resourceVersions move backwards and watch caches keyed on them go stale; restart every "
    "kube-apiserver, controller-manager and scheduler (the plan does) and any other client "
    "that watches etcd.")


def revision_back(report: Report | None, src: Source) -> int | None:
    newest = _newest_seen(report)
    if newest is None or src.revision is None:
        return None
    return max(0, newest - src.revision)


def back_note(back: int, bump: int | None, src: Source) -> str:
    head = (f"the revision moves back by {back:,} (snapshot {src.revision:,}, newest seen "
            f"{(src.revision or 0) + back:,})")
    if bump:
        return head + f"; bumped {bump:,} past it with --mark-compacted, so watches relist"
    return head + ("; without a bump clients see resourceVersions go backwards: every "
                   "control-plane component is restarted" if back else "")


def _newest_seen(report: Report | None) -> int | None:
    if report is None:
        return None
    # a source's revision plus what it is behind = the newest the ranking saw (WAL too)
    revs = [s.revision + (s.behind_revisions or 0) for s in report.restore_sources
            if s.valid and s.revision]
    revs += [m.revision for m in report.members if m.revision]
    revs += [s.revision for s in report.snapshots if s.valid and s.revision]
    return max(revs) if revs else None


def plan_bump(p: Planner, src: Source, tools: dict[str, RestoreTool]) -> tuple[int | None,
                                                                          list[str]]:
    newest = _newest_seen(p.report)
    n = bump_amount(src.revision, newest)
    lacking = [(node, t) for node, t in tools.items() if not t.bump]
    if lacking:
        node, t = lacking[0]
        by = (f" by {newest - (src.revision or 0):,} revisions (newest seen {newest:,}, "
              f"snapshot {src.revision:,}; with the flags N would be {n:,})"
              if n is not None and newest is not None and src.revision is not None else "")
        return None, [BUMP_WARNING.format(tool=t.name, version=t.version, node=node, by=by)]
    if n is None and newest is None:
        n = 1_000_000_000  # nothing seen to size it: the upstream guide's one-week figure
    return n, ([f"revision bump N = {n:,} with --mark-compacted: watches break and clients "
                "relist instead of serving stale caches"] if n else [])
