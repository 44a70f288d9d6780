"""What blackstart saw, over time: one JSON line per change of the cluster's state.

`check` and the TUI record each report here (in `<state_dir>/observations.jsonl`, 0600),
but only when the verdict or the set of findings changed since the last line: a poll
every 5 s must not grow the file, and the post-mortem needs the moments things changed,
not every repetition of them. The post-mortem (runbook.postmortem) reads it back to say
what the outage looked like when it was first seen and at each action.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from blackstart.checks.conclusions import Report

OBSERVATIONS_FILE = "observations.jsonl"


def observation(report: Report) -> dict[str, Any]:
    """The part of a report worth keeping for the post-mortem (pure)."""
    # the freshest data anywhere: live members, and the member dbs read offline while down
    revisions = [m.revision for m in report.members if m.revision is not None]
    revisions += [d.revision for d in report.member_dbs if d.valid and d.revision is not None]
    return {
        "time": report.taken_at,
        "level": report.verdict.level.label,
        "summary": report.verdict.summary,
        "next_steps": list(report.verdict.next_steps),
        "findings": [{"severity": f.severity.label, "code": f.code, "subject": f.subject,
                      "seen": f.seen} for f in report.findings],
        "members": [{"name": m.name, "healthy": m.healthy, "revision": m.revision,
                     "error": m.error_class} for m in report.members],
        "revision": max(revisions) if revisions else None,
    }


def _signature(obs: dict[str, Any]) -> tuple[Any, ...]:
    found = tuple(sorted((f["code"], f["subject"]) for f in obs["findings"]))
    healthy = tuple(sorted(m["name"] for m in obs["members"] if m["healthy"]))
    return (obs["level"], found, healthy)


def observations_path(state_dir: str) -> Path:
    return Path(state_dir) / OBSERVATIONS_FILE


def read_observations(state_dir: str) -> list[dict[str, Any]]:
    """Every readable line; a torn last line (a crash mid-append) is skipped, not fatal."""
    path = observations_path(state_dir)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and "time" in item and "findings" in item:
            out.append(item)
    return out


def record(state_dir: str, report: Report) -> bool:
    """Append the report's observation if the state changed; True when a line was written."""
    obs = observation(report)
    seen = read_observations(state_dir)
    if seen and _signature(seen[-1]) == _signature(obs):
        return False
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    fd = os.open(observations_path(state_dir),
                 os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, (json.dumps(obs, sort_keys=True) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return True
