"""Which snapshots a retention policy prunes: a pure function over (name, mtime) pairs.

Kept: the newest `keep`; every snapshot younger than `hot_days`; the newest one of each
UTC day up to `cold_days`. Everything else is pruned (moved to `pruned/` by default).
"""

from __future__ import annotations

import time

from blackstart.checks.model import Retention

DAY = 86400.0
SNAPSHOT_SUFFIXES = (".db", ".snap", ".snapshot")


def is_snapshot_name(name: str) -> bool:
    return name.endswith(SNAPSHOT_SUFFIXES) and not name.endswith(".part")


def is_own_name(name: str, cluster: str) -> bool:
    """`<cluster>-snapshot-<YYYYmmddTHHMMSSZ>[-N].db`, the names snapshot save writes."""
    import re

    return re.fullmatch(re.escape(cluster) + r"-snapshot-\d{8}T\d{6}Z(-\d+)?\.db", name) is not None


def select_prune(files: list[tuple[str, float]], policy: Retention, now: float) -> list[str]:
    """Names to prune, oldest first."""
    newest_first = sorted(files, key=lambda f: f[1], reverse=True)
    keep = {name for name, _ in newest_first[: max(policy.keep, 0)]}
    days_seen: set[str] = set()
    for name, mtime in newest_first:
        age = now - mtime
        if age < policy.hot_days * DAY:
            keep.add(name)
        elif age < policy.cold_days * DAY:
            day = time.strftime("%Y-%m-%d", time.gmtime(mtime))
            if day not in days_seen:
                days_seen.add(day)
                keep.add(name)
    return [name for name, _ in reversed(newest_first) if name not in keep]
