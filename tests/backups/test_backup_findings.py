"""Backup-plane findings: pure, from a Report."""

from __future__ import annotations

from blackstart.checks.conclusions import Report, Verdict
from blackstart.checks.probe_results import BackupCopy, BackupLocationState, DrillRecord
from blackstart.checks.reasoning.backup_findings import backup_findings
from blackstart.checks.severity import Severity

NOW = 1_800_000_000.0


def _loc(name: str, domain: str, *ages: float, state: str = "verified",
         configured: bool = True) -> BackupLocationState:
    return BackupLocationState(name, "s3" if domain == "offsite" else "dir", domain, copies=[
        BackupCopy(name, f"c{i}.db", f"{name}/c{i}.db", mtime=NOW - a, state=state)
        for i, a in enumerate(ages)], configured=configured)


def _codes(*locs: BackupLocationState, drills: list[DrillRecord] | None = None
           ) -> dict[str, Severity]:
    r = Report("c", NOW, Verdict(Severity.OK, ""), backups=list(locs), drills=drills or [])
    return {f.code: f.severity for f in backup_findings(r, NOW)}


def test_only_the_nodes_own_disks_is_one_domain_and_no_offsite() -> None:
    got = _codes(_loc("m1", "node:m1", 60), _loc("m1b", "node:m1", 120))
    assert got["backup-one-domain"] == Severity.WARNING
    assert got["backup-no-offsite"] == Severity.WARNING


def test_without_backups_declared_the_plane_findings_are_info_only() -> None:
    got = _codes(_loc("m1:/backup", "node:m1", 60, configured=False))
    assert got == {"backup-one-domain": Severity.INFO, "backup-no-offsite": Severity.INFO}


def test_rpo_counts_the_newest_verified_copy_only() -> None:
    fresh_but_broken = _loc("disk", "node:m1", 60, state="broken")
    old_offsite = _loc("s3", "offsite", 2 * 3600)
    got = _codes(fresh_but_broken, old_offsite,
                 drills=[DrillRecord("s3", "c0.db", NOW - 60, True, 1.0),
                         DrillRecord("disk", "c0.db", NOW - 60, True, 1.0)])
    assert "backup-rpo" in got and "backup-copy-broken" in got
    assert "backup-one-domain" in got  # the only verified copy is off-site: one domain
    assert "backup-no-offsite" not in got
    assert not {"drill-missing", "drill-stale", "drill-failed"} & set(got)


def test_drills_never_failed_and_stale() -> None:
    a, b, c = _loc("a", "offsite", 60), _loc("b", "site:dc1", 60), _loc("c", "node:m1", 60)
    got = _codes(a, b, c, drills=[DrillRecord("b", "c0.db", NOW - 60, False, 1.0, "boom"),
                                  DrillRecord("c", "c0.db", NOW - 8 * 86400, True, 1.0)])
    assert got["drill-missing"] == got["drill-failed"] == got["drill-stale"] == Severity.WARNING


def test_unreachable_location_and_no_copy_at_all() -> None:
    dead = BackupLocationState("s3", "s3", "offsite", error="cannot reach")
    got = _codes(dead)
    assert "backup-location-unreachable" in got and "backup-none" in got
