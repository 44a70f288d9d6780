"""Pure text helpers: sizes, ages, days left. No Textual, no I/O; tested directly."""

from __future__ import annotations

import os

from blackstart.checks.conclusions import Quorum

DAY = 86400.0


def human_size(n: float | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"  # pragma: no cover - loop always returns


def human_age(seconds: float) -> str:
    """'45s', '12m', '3h', '4d' — the coarsest unit that is at least 1."""
    s = max(0.0, seconds)
    if s < 60:
        return f"{s:.0f}s"
    if s < 3600:
        return f"{s // 60:.0f}m"
    if s < DAY:
        return f"{s // 3600:.0f}h{(s % 3600) // 60:02.0f}m"
    return f"{s // DAY:.0f}d{(s % DAY) // 3600:.0f}h"


def days_left_text(days_left: float | None) -> str:
    if days_left is None:
        return "-"
    if days_left < 0:
        n = int(-days_left) if -days_left >= 1 else 0
        return "expired today" if n == 0 else f"expired {n} day{'s' if n != 1 else ''} ago"
    return f"{int(days_left)} days"


def short_path(path: str, keep: int = 2) -> str:
    """The last `keep` path components: enough to tell files apart in a narrow column."""
    parts = [p for p in path.split(os.sep) if p]
    if len(parts) <= keep:
        return path
    return "…/" + "/".join(parts[-keep:])


def quorum_line(q: Quorum) -> str:
    """The report's quorum in the Members panel's words (computed by checks, not here)."""
    state = "quorum OK" if q.held else "NO QUORUM"
    return f"{len(q.healthy)}/{q.total} healthy, quorum needs {q.needed} — {state}"


def log_classes(signature: str | None, severity_label: str) -> set[str]:
    return {c for c in (signature, severity_label) if c}


def line_matches(text: str, classes: set[str], query: str, known: set[str]) -> bool:
    """The `/` filter: a query naming a known class keeps that class, anything else searches.

    `known` is every class seen in the current lines, so "refused" filters by class while
    "172.21" searches the text.
    """
    q = query.strip().lower()
    if not q:
        return True
    if q in known:
        return q in {c.lower() for c in classes}
    return q in text.lower()
