"""Findings about the backup plane, before the night they are needed. Pure.

All copies in one failure domain; no off-site copy; the newest verified copy older than
the RPO; a location unreachable; a copy failing verification; the newest copy of a
location never drilled, its last drill too old or failed. When the operator declared no
[[backups]] (only the nodes' own backup dirs), the plane-wide ones are INFO: they say what
is missing without turning a healthy cluster's check into a warning.
"""

from __future__ import annotations

from blackstart.checks.conclusions import Finding, Report
from blackstart.checks.probe_results import BackupCopy, BackupLocationState, DrillRecord
from blackstart.checks.reasoning.sources import human_duration
from blackstart.checks.requests import SnapshotSave
from blackstart.checks.severity import Severity

W, INFO = Severity.WARNING, Severity.INFO
OFFSITE = ("offsite", "offline")


def backup_findings(report: Report, now: float) -> list[Finding]:
    locs = report.backups
    if not locs:
        return []
    strict = any(s.configured for s in locs)
    out = _unreachable(locs) + _broken(locs)
    out += _domains(locs, W if strict else INFO)
    if strict:
        out += _rpo(locs, now)
        out += _drills(locs, report.drills, now)
    return out


def _unreachable(locs: list[BackupLocationState]) -> list[Finding]:
    out = []
    for s in locs:
        if s.error and s.configured:
            ev = [s.error] + ([f"showing the cached listing ({len(s.copies)} copies)"]
                              if s.stale else [])
            out.append(Finding(
                W, "backup-location-unreachable", s.name,
                f"Backup location {s.name} ({s.domain}) could not be listed.", ev,
                "Fix what the error names (endpoint, credentials, bucket, mount, node "
                "access); until then no new copy reaches it and its copies go unchecked."))
    return out


def _broken(locs: list[BackupLocationState]) -> list[Finding]:
    out = []
    for s in locs:
        bad = [c for c in s.copies if c.state == "broken"]
        if bad and s.configured:
            out.append(Finding(
                W, "backup-copy-broken", s.name,
                f"{len(bad)} cop{'y' if len(bad) == 1 else 'ies'} in backup location "
                f"{s.name} fail verification.",
                [f"{c.where}: {c.detail}" for c in bad[:5]],
                "Never restore from them; take a fresh snapshot to that location "
                f"(blackstart snapshot save --upload {s.name}) and prune the broken "
                "ones (moved to pruned/, kept for forensics).",
                SnapshotSave(upload=(s.name,))))
    return out


def _verified(locs: list[BackupLocationState]) -> list[tuple[BackupLocationState, BackupCopy]]:
    return [(s, c) for s in locs for c in s.copies if c.state == "verified"]


def _domains(locs: list[BackupLocationState], sev: Severity) -> list[Finding]:
    have = _verified(locs)
    domains = sorted({s.domain for s, _ in have})
    out = []
    if len(domains) == 1:
        out.append(Finding(
            sev, "backup-one-domain", domains[0],
            f"Every verified copy is in one failure domain ({domains[0]}): one "
            "failure there takes all of them.",
            [f"{s.name}: {sum(1 for t, _ in have if t is s)} verified" for s in locs
             if s.domain == domains[0]],
            "Add a [[backups]] location in another domain (another node, site:NAME, or "
            "offsite S3) and copy to it with blackstart snapshot save --upload NAME "
            "(docs/backups.md)."))
    if have and not any(d in OFFSITE for d in domains):
        configured = [s.name for s in locs if s.domain in OFFSITE]
        out.append(Finding(
            sev, "backup-no-offsite", "backups",
            "No verified off-site copy: a site-wide loss (fire, ransomware, a wiped "
            "account) leaves nothing to restore from.",
            [f"domains holding verified copies: {', '.join(domains)}"],
            (f"Copy to {', '.join(configured)}: blackstart snapshot save --upload "
             f"{configured[0]}" if configured else
             "Add an S3 [[backups]] location with domain = \"offsite\" (docs/inventory.md) "
             "and run blackstart snapshot save --upload NAME."),
            SnapshotSave(upload=(configured[0],)) if configured else None))
    return out


def _rpo(locs: list[BackupLocationState], now: float) -> list[Finding]:
    have = _verified(locs)
    rpo = min(s.rpo_seconds for s in locs)
    if not have:
        if not any(s.copies for s in locs):
            return [Finding(W, "backup-none", "backups",
                            "No backup copy in any location.", [],
                            "Take one now: blackstart snapshot save; then schedule it "
                            "(docs/backups.md, every 30 minutes).", SnapshotSave())]
        return []
    s, c = max(have, key=lambda sc: sc[1].mtime)
    age = now - c.mtime
    if age <= rpo:
        return []
    return [Finding(W, "backup-rpo", c.where,
                    f"The newest verified copy is {human_duration(age)} old, older than "
                    f"the RPO of {human_duration(rpo)}: a restore now loses that much.",
                    [f"{c.where} in {s.name} ({s.domain})"],
                    "Take a snapshot now (blackstart snapshot save) and check the schedule "
                    "(cron or systemd timer, docs/backups.md).", SnapshotSave())]


def last_drill(drills: list[DrillRecord], location: str) -> DrillRecord | None:
    mine = [d for d in drills if d.location == location]
    return max(mine, key=lambda d: d.when) if mine else None


def _drills(locs: list[BackupLocationState], drills: list[DrillRecord], now: float
            ) -> list[Finding]:
    out = []
    for s in locs:
        if not s.configured or not s.copies:
            continue
        newest, last = s.copies[0], last_drill(drills, s.name)
        how = f"blackstart drill --location {s.name}"
        if last is None:
            out.append(Finding(W, "drill-missing", s.name,
                               f"No copy in {s.name} was ever restored in a drill: nothing "
                               "proves its copies restore.", [newest.where],
                               f"Prove it: {how} (a throwaway etcd on loopback)."))
        elif not last.ok:
            out.append(Finding(W, "drill-failed", s.name,
                               f"The last drill of {s.name} failed "
                               f"({human_duration(now - last.when)} ago, {last.copy}).",
                               [last.detail], f"Find out why, then {how}."))
        elif now - last.when > s.drill_max_age_seconds:
            out.append(Finding(W, "drill-stale", s.name,
                               f"The last drill of {s.name} is {human_duration(now - last.when)}"
                               f" old (limit {human_duration(s.drill_max_age_seconds)}).",
                               [f"{last.copy}: passed"], f"Drill again: {how}."))
    return out
