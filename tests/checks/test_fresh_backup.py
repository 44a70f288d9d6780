"""Issue 16: after a recovery, "take a fresh backup" until a backup newer than it exists.

The journals are read by checks.probes.recoveries (real files, hostile ones among them);
the rule is checks.reasoning.fresh_backup through the real diagnose()."""

from __future__ import annotations

import json
import os
from pathlib import Path

from test_diagnosis import NOW, backup, by_code, healthy

from blackstart.checks.probe_results import Recovery
from blackstart.checks.probes.recoveries import read_recoveries
from blackstart.checks.reasoning.diagnosis import diagnose
from blackstart.checks.severity import Severity


def _journal(d: Path, name: str, action: str, state: str, finished: float | None) -> None:
    doc = {"state": state, "finished": finished,
           "plan": {"id": f"{action}-x", "action": action, "title": f"{action} it"}}
    (d / name).write_text(json.dumps(doc), encoding="utf-8")


def test_only_finished_recoveries_are_read_and_hostile_files_are_skipped(tmp_path: Path) -> None:
    d = tmp_path / "journal"
    d.mkdir()
    _journal(d, "000001-a.json", "restore", "done", NOW - 900)
    _journal(d, "000002-b.json", "restore", "rolled-back", NOW - 800)
    _journal(d, "000003-c.json", "restart", "done", NOW - 700)  # not a recovery
    _journal(d, "000004-d.json", "replace-member", "done", NOW - 600)
    _journal(d, "000005-e.json", "recover", "failed", None)
    (d / "000006-f.json").write_bytes(b"\xff{not json")
    os.mkfifo(d / "000007-g.json")  # must not block
    target = tmp_path / "elsewhere.json"
    _journal(tmp_path, "elsewhere.json", "recover", "done", NOW)
    (d / "000008-h.json").symlink_to(target)  # never followed
    got = read_recoveries(d)
    assert [(r.action, r.finished) for r in got] == [("restore", NOW - 900),
                                                    ("replace-member", NOW - 600)]
    assert read_recoveries(tmp_path / "missing") == []


def test_after_a_recovery_the_next_step_is_a_fresh_backup() -> None:
    r = healthy()  # its one backup is an hour old
    r.recoveries = [Recovery("restore", NOW - 600, "restore-1", "Restore cluster lab")]
    findings, verdict = diagnose(r, NOW)
    (f,) = by_code(findings, "backup-predates-recovery")
    assert f.severity is Severity.WARNING and f.action is not None
    assert f.action.name == "snapshot-save"
    assert "restore finished" in f.seen and "older than it" in f.seen
    assert verdict.level is Severity.WARNING
    assert verdict.next_steps[0].startswith("Take a fresh backup now")


def test_a_backup_newer_than_the_recovery_ends_it() -> None:
    r = healthy()
    r.recoveries = [Recovery("recover", NOW - 600, "recover-1")]
    r.snapshots.append(backup("etcd2", 5000, 60))  # taken 1 min ago, after the recovery
    findings, verdict = diagnose(r, NOW)
    assert not by_code(findings, "backup-predates-recovery")
    assert not any("fresh backup" in s for s in verdict.next_steps)


def test_an_unverified_backup_does_not_count_as_fresh() -> None:
    r = healthy()
    r.recoveries = [Recovery("replace-member", NOW - 600, "replace-1")]
    late = backup("etcd2", 5000, 60)
    late.fact = "unknown"
    r.snapshots.append(late)
    findings, _ = diagnose(r, NOW)
    (f,) = by_code(findings, "backup-predates-recovery")
    assert "member replacement" in f.seen
