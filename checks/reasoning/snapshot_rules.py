"""Diagnosis rules about backup snapshots and the restore source: none found, still being
verified, unverifiable, all invalid, the newest invalid, the newest valid one and how old
it is; and, when a restore is recommended, the source it restores from (or why none is
intact).
"""

from __future__ import annotations

from blackstart.checks.conclusions import Finding
from blackstart.checks.probe_results import RestoreSource, SnapshotInfo
from blackstart.checks.reasoning.rule_facts import INFO, DiagnosisFacts, W, top_restore
from blackstart.checks.reasoning.sources import human_duration
from blackstart.checks.requests import SnapshotSave, SourceRef

BACKUP_STALE_SECONDS = 24 * 3600.0


def rule_snapshots(f: DiagnosisFacts) -> list[Finding]:
    if "snapshots" in f.report.probe_errors:
        return []  # unknown is not "none": the probe failure is its own finding
    listed = [s for s in f.report.snapshots if s.kind == "backup"]
    # a backup dir that is not there holds no snapshot: "none found", never "invalid"
    gone = [s for s in listed if s.state == "missing"]
    backups = sorted((s for s in listed if s.state != "missing"),
                     key=lambda s: s.mtime, reverse=True)
    if not backups:
        return [Finding(W, "no-backups", "backups", "No backup snapshot was found.",
                        [f"{s.node}: {s.error}" for s in gone[:5]],
                        remedy="Take a snapshot now and schedule them.",
                        action=SnapshotSave() if f.quorum.held else None)]
    valid = [s for s in backups if s.valid]
    checking = [s for s in backups if s.pending]
    unread = [s for s in backups if s.state == "unknown" and not s.pending]
    out = []
    if checking:
        out.append(Finding(INFO, "backups-being-verified", "backups",
                           f"{len(checking)} backup snapshot(s) are still being verified.",
                           [s.path for s in checking[:5]], "They are shown on the next refresh."))
    if unread:
        out.append(Finding(W, "backups-unverified", "backups",
                           f"{len(unread)} backup snapshot(s) could not be verified (not known "
                           "to be bad).", [f"{s.path}: {s.error}" for s in unread[:5]],
                           "Fix what stopped the check (named above); a refresh tries again."))
    # a check still running or one that failed is "not known yet", never "invalid"
    backups = [s for s in backups if s.state != "unknown"]
    if not backups:
        return out
    if not valid:
        out.append(Finding(W, "backups-all-invalid", "backups",
                           f"All {len(backups)} backup snapshot(s) are invalid.",
                           [f"{s.path}: {s.error}" for s in backups[:5]],
                           "Take a new snapshot once quorum holds.",
                           SnapshotSave() if f.quorum.held else None))
        return out
    if not backups[0].valid:
        b = backups[0]
        out.append(Finding(W, "backup-newest-invalid", b.path,
                           f"The newest backup {b.path} on {b.node} is invalid: {b.error}.",
                           remedy="Do not restore from it; the newest valid one is named below."))
    # "newest" is the most data, not the latest file: copies of one round differ in revision
    out.append(_newest_valid(f, max(valid, key=lambda s: (s.revision or 0, s.mtime))))
    return out


def _newest_valid(f: DiagnosisFacts, s: SnapshotInfo) -> Finding:
    age = f.now - s.mtime
    keys = f", {s.total_keys:,} keys" if s.total_keys is not None else ""
    rev = f"revision {s.revision:,}" if s.revision is not None else "revision unknown"
    stale = age > BACKUP_STALE_SECONDS
    return Finding(W if stale else INFO, "backup-stale" if stale else "backup-newest-valid", s.path,
                   f"Newest valid backup: {s.path} on {s.node}, {human_duration(age)} old, "
                   f"{rev}{keys}.",
                   remedy="Take a fresh snapshot." if stale else "",
                   action=SnapshotSave() if stale and f.quorum.held else None)


def _source_label(s: RestoreSource) -> str:
    if s.kind == "member-db":
        return f"{s.member or s.node}'s own database {s.path}"
    return f"backup {s.path} on {s.node}"


def rule_sources(f: DiagnosisFacts) -> list[Finding]:
    valid = [s for s in f.sources if s.valid]
    if not valid:
        if not f.sources:
            return []  # "no backups found" is the snapshots rule's finding
        unknown = [s for s in f.sources if s.reason == "still being verified"
                   or s.reason.startswith("not verified")]
        what = ("no restore source is verified yet" if unknown and len(unknown) == len(f.sources)
                else "no intact restore source: every backup and member database that "
                     "could be read failed verification")
        return [Finding(W, "no-restore-source", "cluster", what[0].upper() + what[1:] + ".")]
    restore = top_restore(f)
    src = next((s for s in valid if restore is not None and isinstance(restore.source, SourceRef)
                and (s.node, s.path) == (restore.source.node, restore.source.path)), None)
    if src is None:
        return []  # no restore is recommended: nothing is starred, nothing is offered
    rev = f"revision {src.revision:,}" if src.revision is not None else "revision unknown"
    ev = [src.reason] + ([f"would lose {src.window}"] if src.window else [])
    return [Finding(INFO, "restore-source", src.path,
                    f"Recommended restore source: {_source_label(src)} ({rev}).", ev,
                    "Restore every member from it: no way without data loss is left.",
                    restore)]
