"""The recoveries that ran to the end, read from the state dir's journals.

runbook.journal writes one JSON journal per plan run (`<state>/journal/NNNNNN-<id>.json`);
this probe only reads the four facts the diagnosis needs (action, state, finished, id), so
that after a recovery the verdict can say "take a fresh backup" until one newer exists:
every older backup holds the cluster as it was before the recovery.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path
from typing import Any

from blackstart.checks.probe_results import Recovery
from blackstart.checks.probes.context import ProbeContext

# The plans after which the backups on record hold a cluster that no longer exists
# (data restored with a bumped revision, or membership changed).
RECOVERY_ACTIONS = frozenset({"recover", "restore", "replace-member"})
NEWEST = 200  # journals read at most (names sort by their sequence number)
MAX_BYTES = 8 << 20  # a journal is a few KB; anything past this is not one of ours


async def probe_recoveries(ctx: ProbeContext) -> list[Recovery]:
    """Finished recoveries, oldest first; nothing (not an error) without a state dir."""
    state_dir = ctx.cluster.state_dir
    if not state_dir:
        return []
    return await asyncio.to_thread(read_recoveries, Path(state_dir) / "journal")


def read_recoveries(journal_dir: Path) -> list[Recovery]:
    try:
        names = sorted(n for n in os.listdir(journal_dir) if n.endswith(".json"))
    except OSError:
        return []
    found = (_recovery(_read(journal_dir / n)) for n in names[-NEWEST:])
    return sorted((r for r in found if r is not None), key=lambda r: r.finished)


def _read(path: Path) -> Any:
    """The journal's JSON, or None: never follows a link, never blocks on a FIFO."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return json.loads(fh.read(MAX_BYTES))
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)


def _recovery(doc: Any) -> Recovery | None:
    """A Recovery from a journal's JSON when it is a recovery plan that finished."""
    if not isinstance(doc, dict) or doc.get("state") != "done":
        return None
    plan, finished = doc.get("plan"), doc.get("finished")
    if not isinstance(plan, dict) or not isinstance(finished, int | float):
        return None
    action = plan.get("action")
    if action not in RECOVERY_ACTIONS:
        return None
    return Recovery(str(action), float(finished), str(plan.get("id", "")),
                    str(plan.get("title", "")))
