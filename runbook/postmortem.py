"""The post-mortem: what happened, from what blackstart wrote down while it happened.

Built from three records in the state dir, CLI and TUI alike and across restarts: the
observations (runbook.observations: the cluster's state each time it changed), the
journals (each plan, its steps and their outcome) and the audit log (each executed step:
when, who, where, how long). Pure over those records; `load(state_dir)` reads them.
"""

from __future__ import annotations

import calendar
import json
import time
from dataclasses import dataclass, field
from typing import Any

from blackstart.runbook.audit import read_audit
from blackstart.runbook.journal import JournalError, journal_dir, load_journal
from blackstart.runbook.observations import read_observations

BAD_LEVELS = ("warning", "critical")
RANK = {"ok": 0, "info": 1, "warning": 2, "critical": 3}


@dataclass
class ActionRecord:
    plan: str
    action: str
    title: str
    target: str
    operator: str
    state: str
    started: float
    ended: float | None
    steps_run: int
    steps_failed: int
    stated_loss: list[str]
    revision_before: int | None
    revision_after: int | None
    moved_aside: list[tuple[str, str, str]]  # node, from, to
    findings_before: list[dict[str, Any]]

    @property
    def revisions_lost(self) -> int | None:
        if self.revision_before is None or self.revision_after is None:
            return None
        return max(0, self.revision_before - self.revision_after)


@dataclass
class PostMortem:
    cluster: str
    first_seen: dict[str, Any] | None
    recovered_at: float | None
    final: dict[str, Any] | None
    actions: list[ActionRecord] = field(default_factory=list)
    timeline: list[tuple[float, str]] = field(default_factory=list)


def _stated_loss(plan: dict[str, Any]) -> list[str]:
    info = plan.get("info") or {}
    said = [str(info[k]) for k in ("loss", "stated_loss") if info.get(k)]
    words = ("lose", "loss", "lost", "behind", "revision")
    said += [w for w in plan.get("warnings", []) if any(x in w.lower() for x in words)]
    return said or ["none stated"]


def _moved(plan: dict[str, Any], status: dict[str, str]) -> list[tuple[str, str, str]]:
    out = []
    for s in plan.get("steps", []):
        args = s.get("args") or {}
        if s.get("op") == "rename" and status.get(s.get("id", "")) == "ok" and "dst" in args:
            out.append((s.get("node", "?"), str(args.get("src")), str(args["dst"])))
    return out


def _before(obs: list[dict[str, Any]], t: float) -> dict[str, Any] | None:
    earlier = [o for o in obs if o["time"] <= t]
    return earlier[-1] if earlier else None


def _revision_before(obs: list[dict[str, Any]], t: float) -> int | None:
    """The last revision seen before t (members are often all down right before a plan)."""
    known = [o["revision"] for o in obs if o["time"] <= t and o.get("revision") is not None]
    return int(known[-1]) if known else None


def _restored_revision(plan: dict[str, Any], obs: list[dict[str, Any]], ended: float | None
                       ) -> int | None:
    """What the data went back to: a restore's source revision (a revision bump would hide
    it in what members report afterwards), else the first revision seen after the plan."""
    info = plan.get("info") or {}
    if plan.get("action") == "restore" and isinstance(info.get("revision"), int):
        return int(info["revision"])
    return _after_revision(obs, ended)


def _after_revision(obs: list[dict[str, Any]], t: float | None) -> int | None:
    if t is None:
        return None
    for o in obs:
        if o["time"] >= t and o.get("revision") is not None:
            return int(o["revision"])
    return None


def _action(j: dict[str, Any], audit: list[dict[str, Any]], obs: list[dict[str, Any]]
            ) -> ActionRecord:
    plan = j["plan"]
    lines = [a for a in audit if a.get("plan") == plan["id"]]
    started = float(j.get("started") or 0.0)
    ended = float(j["updated"]) if j.get("state") != "running" and j.get("updated") else None
    before = _before(obs, started)
    return ActionRecord(
        plan=plan["id"], action=plan.get("action", "?"), title=plan.get("title", ""),
        target=plan.get("target", ""), operator=j.get("operator", "?"),
        state=j.get("state", "?"), started=started, ended=ended, steps_run=len(lines),
        steps_failed=sum(1 for a in lines if a.get("status") == "failed"),
        stated_loss=_stated_loss(plan),
        revision_before=_revision_before(obs, started),
        revision_after=_restored_revision(plan, obs, ended),
        moved_aside=_moved(plan, j.get("status") or {}),
        findings_before=list(before["findings"]) if before else [],
    )


def build(cluster: str, observations: list[dict[str, Any]], journals: list[dict[str, Any]],
          audit: list[dict[str, Any]]) -> PostMortem:
    obs = sorted(observations, key=lambda o: o["time"])
    first = next((o for o in obs if o["level"] in BAD_LEVELS), None)
    pm = PostMortem(cluster, first, _recovered_at(obs), obs[-1] if obs else None)
    pm.actions = [_action(j, audit, obs) for j in sorted(journals, key=lambda j: j["started"])]
    pm.timeline = _timeline(obs, pm.actions, audit)
    return pm


def _recovered_at(obs: list[dict[str, Any]]) -> float | None:
    """When the state last left its worst level for good: a cluster whose backups still
    warn (one failure domain, say) has recovered from a lost quorum all the same."""
    ranks = [RANK.get(o["level"], 0) for o in obs]
    worst = max(ranks, default=0)
    if worst < RANK["warning"]:
        return None
    last_worst = max(i for i, r in enumerate(ranks) if r == worst)
    return obs[last_worst + 1]["time"] if last_worst + 1 < len(obs) else None


def _timeline(obs: list[dict[str, Any]], actions: list[ActionRecord],
              audit: list[dict[str, Any]]) -> list[tuple[float, str]]:
    events = [(o["time"], f"{o['level'].upper()}: {o['summary']}") for o in obs]
    for a in actions:
        events.append((a.started, f"{a.operator} started {a.action} ({a.target}) [{a.plan}]"))
        if a.ended is not None:
            events.append((a.ended, f"{a.action} [{a.plan}] ended: {a.state}"))
    for line in audit:
        t = _parse_time(line.get("time"))
        if t is not None:
            events.append((t, f"  {line.get('node')}: {line.get('step')} -> "
                              f"{line.get('status')} ({line.get('duration')} s, "
                              f"{line.get('operator')})"))
    return sorted(events, key=lambda e: e[0])


def _parse_time(s: Any) -> float | None:
    if isinstance(s, int | float):
        return float(s)
    try:
        return float(calendar.timegm(time.strptime(str(s), "%Y-%m-%dT%H:%M:%SZ")))
    except (ValueError, OverflowError):
        return None


def load(state_dir: str, cluster: str) -> PostMortem:
    """Read the state dir's records; an unreadable journal is named in the timeline."""
    journals: list[dict[str, Any]] = []
    broken: list[str] = []
    d = journal_dir(state_dir)
    for p in sorted(d.glob("*.json")) if d.is_dir() else []:
        try:
            journals.append(load_journal(p).to_json())
        except JournalError as exc:
            broken.append(str(exc))
    pm = build(cluster, read_observations(state_dir), journals, _audit(state_dir))
    pm.timeline += [(0.0, f"unreadable: {b}") for b in broken]
    return pm


def _audit(state_dir: str) -> list[dict[str, Any]]:
    try:
        return read_audit(state_dir)
    except (OSError, ValueError):
        return []


def _when(t: float | None) -> str:
    return "—" if t is None else time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))


def render_markdown(pm: PostMortem) -> str:
    out = [f"# Post-mortem: cluster {pm.cluster}", ""]
    out += _summary(pm) + _first_seen(pm) + _actions_md(pm) + _timeline_md(pm)
    return "\n".join(out) + "\n"


def _summary(pm: PostMortem) -> list[str]:
    start = pm.first_seen["time"] if pm.first_seen else None
    took = (f"{(pm.recovered_at - start) / 60:.1f} min"
            if start is not None and pm.recovered_at is not None else "not recovered")
    final = pm.final
    health = f"{final['level'].upper()}: {final['summary']}" if final else "never observed"
    return ["## Summary", "", f"- first seen: {_when(start)}",
            f"- recovered: {_when(pm.recovered_at)} ({took})", f"- final health: {health}",
            f"- actions: {len(pm.actions)}", ""]


def _findings_md(findings: list[dict[str, Any]]) -> list[str]:
    return [f"- **{f['severity']}** `{f['code']}` {f['subject']}: {f['seen']}"
            for f in findings] or ["- none"]


def _first_seen(pm: PostMortem) -> list[str]:
    if pm.first_seen is None:
        return ["## The outage as first seen", "", "No warning or critical state recorded.", ""]
    return ["## The outage as first seen", "", f"{pm.first_seen['summary']}", "",
            *_findings_md(pm.first_seen["findings"]), ""]


def _actions_md(pm: PostMortem) -> list[str]:
    out = ["## Actions", ""]
    for a in pm.actions:
        took = f"{a.ended - a.started:.1f} s" if a.ended is not None else "unfinished"
        lost = "unknown" if a.revisions_lost is None else str(a.revisions_lost)
        out += [f"### {a.title or a.action} [{a.plan}]", "",
                f"- operator: {a.operator}; {_when(a.started)} → {_when(a.ended)} ({took});"
                f" state: {a.state}; steps audited: {a.steps_run} ({a.steps_failed} failed)",
                f"- target: {a.target}",
                f"- stated loss: {'; '.join(a.stated_loss)}",
                f"- measured: revision {a.revision_before} before, {a.revision_after} after;"
                f" revisions lost: {lost}"]
        out += [f"- moved aside on {n}: `{s}` → `{d}`" for n, s, d in a.moved_aside]
        out += ["- findings when it started:", *["  " + f for f in _findings_md(
            a.findings_before)], ""]
    return out if pm.actions else out + ["None.", ""]


def _timeline_md(pm: PostMortem) -> list[str]:
    return ["## Timeline", "", *[f"- {_when(t) if t else '?'} {what}" for t, what in pm.timeline]]


def to_json(pm: PostMortem) -> str:
    actions = [{**a.__dict__, "revisions_lost": a.revisions_lost} for a in pm.actions]
    return json.dumps({"cluster": pm.cluster, "first_seen": pm.first_seen,
                       "recovered_at": pm.recovered_at, "final": pm.final, "actions": actions,
                       "timeline": pm.timeline}, indent=1, default=str)
