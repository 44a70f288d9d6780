"""etcd releases with known problems: one table, one way to match a version against it.

The members probe reports a member's version as the server says it ("3.5.1"); an operator
or a tool may write "v3.5.1". Both match; anything that is not MAJOR.MINOR.PATCH does not.
"""

from __future__ import annotations

import re

# (version, what can go wrong); all three fixed in 3.5.3 (ETCD_FACTS: data inconsistency
# after a crash, etcd-io/etcd#13766).
KNOWN_BAD = {
    (3, 5, 0): "inconsistent revision and data after a crash",
    (3, 5, 1): "inconsistent revision and data after a crash",
    (3, 5, 2): "inconsistent revision and data after a crash",
}
WHY = ("etcd {v} can leave members with {problem} (fixed in 3.5.3): compare "
       "`etcdctl endpoint hashkv` across members and upgrade")


def version_tuple(version: str | None) -> tuple[int, int, int] | None:
    """'3.5.1' / 'v3.5.1' / '3.5.1-rc.0' -> (3, 5, 1); None when it is not a version."""
    m = re.match(r"^v?(\d+)\.(\d+)\.(\d+)", version or "")
    return None if m is None else (int(m[1]), int(m[2]), int(m[3]))


def known_bad_version(version: str | None) -> str | None:
    """Why this etcd version is dangerous, or None."""
    problem = KNOWN_BAD.get(version_tuple(version) or (0, 0, 0))
    return None if problem is None else WHY.format(v=version, problem=problem)
