"""runbook.observations and runbook.postmortem over records written here (pure, tmp dirs)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from blackstart.checks.conclusions import Finding, Report, Verdict
from blackstart.checks.probe_results import MemberState
from blackstart.checks.severity import Severity
from blackstart.runbook import observations, postmortem


def _report(t: float, level: Severity, codes: list[str], healthy: int, rev: int | None
            ) -> Report:
    members = [MemberState(f"etcd{i}", f"https://127.0.77.{i}:2379", healthy=i <= healthy,
                           revision=rev if i <= healthy else None) for i in (1, 2, 3)]
    return Report("lab", t, Verdict(level, f"state at {t}"),
                  findings=[Finding(Severity.CRITICAL, c, "etcd1", f"saw {c}") for c in codes],
                  members=members)


def test_only_changes_are_recorded(tmp_path: Path) -> None:
    sd = str(tmp_path / "state")
    assert observations.record(sd, _report(1, Severity.OK, [], 3, 100))
    assert not observations.record(sd, _report(2, Severity.OK, [], 3, 101))  # same state
    assert observations.record(sd, _report(3, Severity.CRITICAL, ["quorum-lost"], 0, None))
    assert [o["time"] for o in observations.read_observations(sd)] == [1, 3]
    assert oct(os.stat(observations.observations_path(sd)).st_mode & 0o777) == "0o600"


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    sd = str(tmp_path)
    observations.record(sd, _report(1, Severity.OK, [], 3, 100))
    with open(observations.observations_path(sd), "a") as fh:
        fh.write('{"time": 2, "findi')
    assert len(observations.read_observations(sd)) == 1


def _journal(pid: str, started: float, ended: float, steps: list[dict[str, Any]], *,
             status: dict[str, str], warnings: list[str]) -> dict[str, Any]:
    plan = {"id": pid, "action": "restore", "title": "Restore", "cluster": "lab",
            "target": "snap.db", "destructive": True, "steps": steps, "warnings": warnings}
    return {"plan": plan, "operator": "alice", "status": status, "state": "done",
            "started": started, "updated": ended}


def test_build_measures_loss_and_lists_what_was_moved() -> None:
    obs = [observations.observation(r) for r in (
        _report(10, Severity.OK, [], 3, 500),
        _report(20, Severity.CRITICAL, ["quorum-lost", "cert-expired"], 0, None),
        _report(60, Severity.OK, [], 3, 420))]
    steps = [{"id": "s1", "node": "etcd1", "op": "rename",
              "args": {"src": "/var/lib/etcd", "dst": "/var/lib/etcd.before-restore-x"}},
             {"id": "s2", "node": "etcd2", "op": "rename",
              "args": {"src": "/var/lib/etcd", "dst": "/var/lib/etcd.before-restore-y"}}]
    j = _journal("p1", 30, 50, steps, status={"s1": "ok", "s2": "failed"},
                 warnings=["the snapshot is 80 revisions behind etcd1's db: those writes are lost"])
    audit = [{"plan": "p1", "time": "1970-01-01T00:00:31Z", "node": "etcd1", "step": "s1",
              "status": "ok", "duration": 0.1, "operator": "alice"}]
    pm = postmortem.build("lab", obs, [j], audit)
    assert pm.first_seen is not None and pm.first_seen["time"] == 20
    assert pm.recovered_at == 60
    (a,) = pm.actions
    assert (a.revision_before, a.revision_after, a.revisions_lost) == (500, 420, 80)
    assert a.moved_aside == [("etcd1", "/var/lib/etcd", "/var/lib/etcd.before-restore-x")]
    assert a.steps_run == 1 and a.operator == "alice"
    assert {f["code"] for f in a.findings_before} == {"quorum-lost", "cert-expired"}
    assert "80 revisions behind" in a.stated_loss[0]
    md = postmortem.render_markdown(pm)
    for section in ("## Summary", "## The outage as first seen", "## Actions", "## Timeline"):
        assert section in md
    assert "etcd1: s1 -> ok" in md and "revisions lost: 80" in md
    assert json.loads(postmortem.to_json(pm))["actions"][0]["revisions_lost"] == 80


def test_recovered_from_critical_while_backups_still_warn() -> None:
    obs = [observations.observation(r) for r in (
        _report(1, Severity.WARNING, ["backups-one-domain"], 3, 10),
        _report(2, Severity.CRITICAL, ["quorum-lost"], 0, None),
        _report(3, Severity.WARNING, ["backups-one-domain"], 3, 12))]
    pm = postmortem.build("lab", obs, [], [])
    assert pm.first_seen is not None and pm.first_seen["time"] == 1 and pm.recovered_at == 3


def test_never_recovered_and_no_records() -> None:
    obs = [observations.observation(_report(5, Severity.CRITICAL, ["quorum-lost"], 0, None))]
    pm = postmortem.build("lab", obs, [], [])
    assert pm.recovered_at is None and "not recovered" in postmortem.render_markdown(pm)
    empty = postmortem.build("lab", [], [], [])
    assert empty.first_seen is None and "None." in postmortem.render_markdown(empty)
