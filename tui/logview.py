"""What the Logs view shows, as pure functions: tabs per component and node, each line
taken apart (checks.formats.logrecord) and rendered readably, the level filter, the
search, and the templates new since the outage began.

No Textual here; Rich `Text` only, built from node data as data: markup is never parsed,
ANSI escapes and other control characters are shown as `\\x1b`-style escapes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text

from blackstart.checks.conclusions import Finding, Report
from blackstart.checks.formats.logrecord import Level, ParsedLine, level_of, parse_line
from blackstart.checks.formats.logtemplates import (
    TemplateCount,
    line_time,
    new_since,
    unmatched,
)
from blackstart.checks.model import Cluster
from blackstart.checks.probe_results import LogLine
from blackstart.checks.severity import Severity

MAX_LINE_CHARS = 2000  # the view cuts longer lines (the whole line stays searchable)
KEY_FIELDS = ("error", "remote-peer-id", "local-member-id", "peer-id", "address", "took",
              "expected-duration", "data-dir", "path", "member", "cluster-id")
LEVELS = (Level.UNKNOWN, Level.INFO, Level.WARNING, Level.ERROR)  # `v` cycles these
# C0/C1 controls (ANSI escapes start with ESC) and the bidi overrides that reorder text.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class LogTab:
    key: str  # "<source>@<node>"
    source: str  # the component: etcd, kube-apiserver, …
    node: str
    label: str  # "etcd · etcd1 (member etcd1)"


def tabs_of(lines: Iterable[LogLine], cluster: Cluster) -> list[LogTab]:
    """One tab per component and node, etcd first (the member's own log), node order."""
    members = {m.node: m.name for m in cluster.members}
    order = {n.name: i for i, n in enumerate(cluster.nodes)}
    seen = {(ln.source, ln.node) for ln in lines}
    tabs = [LogTab(f"{s}@{n}", s, n, _label(s, n, members.get(n))) for s, n in seen]
    tabs.sort(key=lambda t: (t.source != "etcd", t.source, order.get(t.node, 99), t.node))
    return tabs


def _label(source: str, node: str, member: str | None) -> str:
    if source == "etcd" and member and member != node:
        return f"etcd {member} ({node})"
    return f"{source} {node}"


def literal(text: str) -> str:
    """Control characters (ANSI escapes, NUL, CR …) as visible escapes; the rest as is."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256
                        else f"\\u{ord(m.group()):04x}", text)


def level_of_line(ln: LogLine, parsed: ParsedLine) -> Level:
    return level_of(ln.level) if ln.level else parsed.level


def shown(ln: LogLine, parsed: ParsedLine, min_level: Level, query: str) -> bool:
    """The level filter (lines without a level stay unless a level is chosen) and search."""
    if min_level > Level.UNKNOWN and level_of_line(ln, parsed) < min_level:
        return False
    q = query.strip().lower()
    return not q or q in ln.text.lower() or q in (ln.signature or "").lower()


def finding_of(ln: LogLine, findings: Iterable[Finding]) -> Finding | None:
    """The finding a classified line is evidence of (diagnosis groups lines by signature)."""
    if not ln.signature:
        return None
    return next((f for f in findings if f.code == "log-signature"
                 and f.subject == ln.signature), None)


@dataclass(frozen=True)
class Look:
    """The styles a line is drawn with (read from the theme by the widget)."""

    dim: Style
    sev: dict[Severity, Style]
    hit: Style


def render(ln: LogLine, parsed: ParsedLine, look: Look, *, times: bool, query: str,
           finding: Finding | None) -> Text:
    """`01:02:03 WARN  msg key=value … ⟵ finding` — the line as a person reads it."""
    text = Text(no_wrap=False)
    if times:
        text.append(f"{clock_part(parsed.times[-1] if parsed.times else ln.ts)} ",
                    style=look.dim)
    level = level_of_line(ln, parsed)
    text.append(f"{_level_word(level):5} ", style=_level_style(level, look))
    body = _body(parsed)[:MAX_LINE_CHARS]
    hot = ln.signature is not None and ln.severity > Severity.INFO
    text.append(literal(body), style=look.sev[ln.severity] + Style(bold=True) if hot else "")
    if finding is not None:
        text.append(f"  ⟵ finding {finding.subject} ({finding.severity.label})",
                    style=look.sev[finding.severity] + Style(reverse=True))
    elif ln.signature:
        text.append(f"  [{ln.signature}]", style=look.dim)
    if query.strip():
        text.highlight_words([query.strip()], style=look.hit, case_sensitive=False)
    return text


def _body(parsed: ParsedLine) -> str:
    """The message and its key fields; the whole raw line for formats without a message."""
    if parsed.fmt == "plain" or not parsed.message:
        return parsed.raw
    keys = [f"{k}={v}" for k, v in parsed.fields if k in KEY_FIELDS]
    return " ".join([parsed.message, *keys])


def _level_word(level: Level) -> str:
    return "-" if level == Level.UNKNOWN else level.label.upper()[:5]


def _level_style(level: Level, look: Look) -> Style:
    if level >= Level.ERROR:
        return look.sev[Severity.CRITICAL]
    if level == Level.WARNING:
        return look.sev[Severity.WARNING]
    return look.dim


def clock_part(ts: str | None) -> str:
    """'2026-11-18T01:02:03.123Z' -> '01:02:03.123': the date is the same for an incident."""
    if not ts:
        return "--:--:--"
    if "T" in ts:
        return ts.split("T", 1)[1][:12].rstrip("Z")
    return ts[-15:]


def outage_began(report: Report, year: int) -> dt.datetime | None:
    """The first moment any log shows trouble (a classified line above INFO): templates
    first seen after it are "new since the outage began"."""
    times = [_time_of(ln, year) for ln in report.logs
             if ln.signature and ln.severity > Severity.INFO]
    known = [t for t in times if t is not None]
    return min(known) - dt.timedelta(seconds=1) if known else None


def _time_of(ln: LogLine, year: int) -> dt.datetime | None:
    parsed = parse_line(ln.text)
    return line_time(parsed, year) or (line_time(ParsedLine(ln.ts, ("plain",), parsed.level,
                                                            "", (ln.ts,)), year)
                                       if ln.ts else None)


def new_templates(lines: list[LogLine], since: dt.datetime | None, year: int
                  ) -> list[TemplateCount]:
    """The unclassified templates first seen after `since`, most frequent first."""
    if since is None:
        return []
    return new_since(unmatched(lines, year), since)
