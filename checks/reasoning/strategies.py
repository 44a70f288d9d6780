"""The ways out of an outage, each a list of typed requests, ranked by data lost then risk.

- start: start (and first renew the expired certs of) members whose data is intact;
- replace: start the intact ones, then replace each lost member from the quorum
  (member remove, data dir aside, member add, start with --initial-cluster-state=existing,
  wait until it caught up, hashkv);
- force-new-cluster: one intact member, fresher than every backup, as a new one-member
  cluster, the others added back (refused when its consistent index is ahead of its WAL);
- restore-member-db: every member restored from the freshest intact member db;
- restore-backup: every member restored from the newest valid backup.

At equal loss a forced new cluster ranks above the restore from a member db (both
rewrite data dirs): it keeps the forced member's own data, revision and cluster ID (no
revision bump, clients' watches stay valid), applies what its WAL holds committed past
the db, and
its data dir as it was is kept aside for a rollback; only the lost members start empty.

Pure: a report in, strategies out. The recommendation is the first one that can run and
that no less lossy one beats; a strategy that rewrites data dirs is never recommended
while quorum holds, while a member's facts are unknown, or while one loses less.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from blackstart.checks.conclusions import Quorum, Report, Strategy
from blackstart.checks.probe_results import RestoreSource
from blackstart.checks.reasoning.facts import (
    HEALTHY,
    INTACT,
    LOST,
    UNKNOWN,
    MemberFact,
    db_of,
    member_facts,
    quorum_of,
)
from blackstart.checks.requests import (
    ForceNewCluster,
    Renew,
    ReplaceMember,
    Request,
    Restore,
    SourceRef,
    StartMembers,
)

RENEW_PROBLEMS = ("expired", "not-yet-valid")


def _cert_renewals(report: Report, members: Sequence[str]) -> list[Renew]:
    """The time-invalid server/peer certs of these members: renewed before they start."""
    out = []
    for c in report.certificates:
        if c.member in members and c.role in ("etcd-server", "etcd-peer") and any(
                p in RENEW_PROBLEMS for p in c.problems):
            out.append(Renew(c.node, c.path, member=c.member))
    return out


def _names(facts: dict[str, MemberFact], status: str) -> list[str]:
    return [n for n, f in facts.items() if f.status == status]


def _start_part(report: Report, down: list[str]) -> tuple[list[Request], list[str]]:
    """Renew the time-invalid certs of these members, then start the ones not running
    (a member that runs but fails TLS answers again once its certificate is renewed: the
    renewal restarts it)."""
    tls = {m.name for m in report.members if m.error_class == "tls"}
    start = [n for n in down if n not in tls]
    renew = _cert_renewals(report, down)
    reqs: list[Request] = [*renew, StartMembers(tuple(start))] if start else [*renew]
    steps = []
    if renew:
        steps.append("renew " + ", ".join(f"{r.path} on {r.node}" for r in renew)
                     + " (the old files are kept beside)")
    if start:
        steps.append(f"start etcd on {', '.join(start)}: nothing shows their data is lost "
                     "(etcd repairs a torn WAL tail itself)")
    if tls & set(down):
        names = ", ".join(n for n in down if n in tls)
        steps.append(f"once the certificates are fixed, check that {names} answers again "
                     "(restart etcd there if not)")
    return reqs, steps


def _loss_free(report: Report, facts: dict[str, MemberFact], q: Quorum) -> list[Strategy]:
    healthy, intact = _names(facts, HEALTHY), _names(facts, INTACT)
    lost, unknown = _names(facts, LOST), _names(facts, UNKNOWN)
    if not intact and not lost and not unknown:
        return []
    reachable_unknown = [n for n in unknown if _reachable(report, n)]
    if len(healthy) + len(intact) + len(reachable_unknown) < q.needed:
        return []
    down = intact + reachable_unknown
    reqs, steps = _start_part(report, down)
    blocked = "" if reqs or lost or any(m.error_class == "tls" for m in report.members) \
        else "nothing to start"
    if reachable_unknown and len(healthy) + len(intact) < q.needed:
        steps.append(f"quorum needs {', '.join(reachable_unknown)} too, whose data is not "
                     "known: read their data dirs, or start them and read their etcd log")
    if not lost:
        return [Strategy("start", f"start {'+'.join(down) or 'nothing'} — loses nothing", 0, 0,
                         False, tuple(reqs), tuple(steps), blocked=blocked, touches=tuple(down))]
    if len(healthy) + len(intact) < q.needed:
        blocked = (f"replacing {', '.join(lost)} needs a quorum of intact members first; "
                   f"{', '.join(reachable_unknown)} is not known to be intact")
    reqs += [ReplaceMember(m) for m in lost]
    steps += [f"replace the lost member {m} once quorum holds: member remove, move its data "
              "dir aside, member add, start with --initial-cluster-state=existing, wait until "
              "it caught up, compare hashkv" for m in lost]
    title = (f"start {'+'.join(down)}, replace {'+'.join(lost)} — loses nothing" if down
             else f"replace {'+'.join(lost)} — loses nothing")
    return [Strategy("replace", title, 0, 1, False, tuple(reqs), tuple(steps), blocked=blocked,
                     touches=tuple(down + lost))]


def _reachable(report: Report, member: str) -> bool:
    node = next((w.node for w in report.wal if w.member == member), None)
    if node is None:
        return False
    blind = set(report.nodes_without_access) | {a.node for a in report.access if not a.ok}
    return node not in blind


def _source_ref(s: RestoreSource) -> SourceRef:
    return SourceRef(s.node, s.path, s.kind, s.member)


def _restore(s: RestoreSource, name: str, risk: int, everyone: tuple[str, ...]) -> Strategy:
    what = (f"{s.member or s.node}'s db" if s.kind == "member-db"
            else f"backup {s.path} on {s.node}")
    loss = s.behind_revisions
    st = Strategy(name, "", loss, risk, True, (Restore(_source_ref(s)),),
                  (f"stop etcd everywhere, move every data dir aside, restore every member "
                   f"from {what} (revision {s.revision}), bump the revision past the newest "
                   "seen, start them, restart the control plane",), s.window, touches=everyone)
    return replace(st, title=f"restore from {what} — {st.loss_text()}")


def _restores(sources: Sequence[RestoreSource], everyone: tuple[str, ...]) -> list[Strategy]:
    valid = [s for s in sources if s.valid]
    out = []
    db = next((s for s in valid if s.kind == "member-db"), None)
    if db is not None:
        out.append(_restore(db, "restore-member-db", 2, everyone))
    backup = next((s for s in valid if s.kind == "backup"), None)
    if backup is not None:
        out.append(_restore(backup, "restore-backup", 3, everyone))
    return out


def _force_loss(report: Report, member: str, src: RestoreSource) -> int | None:
    """What forcing a new cluster from `member` loses: its db's lag behind the newest
    revision seen, less the entries its WAL holds committed past the db (etcd applies
    them on the forced start and discards only the uncommitted ones; a restore from the db
    file alone would lose them too). Without a known commit index nothing is subtracted."""
    if src.behind_revisions is None:
        return None
    w = next((x for x in report.wal if x.member == member), None)
    d = db_of(report, member)
    extra = 0
    if w is not None and d is not None and w.commit is not None \
            and d.consistent_index is not None:
        extra = max(0, w.commit - d.consistent_index)
    return max(0, src.behind_revisions - extra)


def _ci_ahead(report: Report, member: str) -> str:
    """Why --force-new-cluster would brick this member ("" = it would not, as far as known)."""
    w = next((x for x in report.wal if x.member == member), None)
    d = db_of(report, member)
    if w is not None and d is not None and d.consistent_index is not None and (
            w.last_index is not None and d.consistent_index > w.last_index):
        return (f"{member}'s db consistent index {d.consistent_index} is ahead of its WAL "
                f"({w.last_index}): --force-new-cluster would brick it (etcd#22686)")
    return ""


def _force_new(report: Report, facts: dict[str, MemberFact], q: Quorum,
               sources: Sequence[RestoreSource]) -> list[Strategy]:
    intact, healthy = _names(facts, INTACT), _names(facts, HEALTHY)
    if q.held or not intact or len(intact) + len(healthy) >= q.needed:
        return []  # quorum holds, or can be rebuilt without forcing anything
    by_member = {s.member: s for s in sources if s.kind == "member-db" and s.valid}
    losses = {n: _force_loss(report, n, by_member[n]) for n in intact if n in by_member}
    if not losses:
        return []
    best = min(losses, key=lambda n: _loss_key(losses[n]))
    others = [n for n in facts if n != best]
    st = Strategy("force-new-cluster", "", losses[best], 2, True, (ForceNewCluster(best),),
                  (f"stop etcd on every member, keep a copy of {best}'s data dir aside, start "
                   f"{best} alone with --force-new-cluster (it keeps its data and drops the "
                   "other members), wait until it is healthy, restart it without the flag",
                   *(f"add {n} back: member add, move its data dir aside, start it with "
                     "--initial-cluster-state=existing, wait until it caught up" for n in others),
                   "compare hashkv on every member"),
                  blocked=_ci_ahead(report, best), touches=tuple(facts))
    return [replace(st, title=f"force a new cluster from {best} — {st.loss_text()}")]


def _loss_key(loss: int | None) -> float:
    return float("inf") if loss is None else float(loss)


def _rank_key(s: Strategy) -> tuple[float, int]:
    return (_loss_key(s.loss_revisions), s.risk)


def strategies(report: Report, sources: Sequence[RestoreSource]) -> list[Strategy]:
    """Every strategy that applies, best first (least data lost, then least risk)."""
    facts, q = member_facts(report), quorum_of(report)
    if not q.known or all(f.status == HEALTHY for f in facts.values()):
        return []
    everyone = tuple(facts)
    out = _loss_free(report, facts, q)
    out += [_guard(report, facts, q, s) for s in
            _force_new(report, facts, q, sources) + _restores(sources, everyone)]
    return sorted(out, key=_rank_key)


def _guard(report: Report, facts: dict[str, MemberFact], q: Quorum, s: Strategy) -> Strategy:
    """A restore (or a forced new cluster) stays possible by explicit choice, but is never
    recommended on unknowns or while quorum holds. A block already there (a forced new
    cluster that would brick its member) stays first."""
    unknown = [f"{n} ({f.why})" for n, f in facts.items() if f.status == UNKNOWN]
    why = ""
    if q.held:
        why = "quorum holds: nothing needs restoring (restore --force REASON to do it anyway)"
    elif unknown:
        why = "facts unknown for " + "; ".join(unknown) + ": get them first (fix access)"
    return replace(s, blocked=s.blocked or why) if why else s


def recommend(ranked: Sequence[Strategy]) -> Strategy | None:
    """The first strategy that can run, unless a less lossy one is only blocked: then a
    data-dir-rewriting one is not recommended (the next step is to unblock the better one)."""
    for i, s in enumerate(ranked):
        if s.blocked:
            continue
        better_blocked = any(_rank_key(b)[0] < _rank_key(s)[0] for b in ranked[:i])
        if s.rewrites_data and better_blocked:
            return None
        return s
    return None
