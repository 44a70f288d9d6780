"""Unmatched log lines grouped into templates, and which templates are new since a moment.

A template is a message with its variable parts masked (times, UUIDs, addresses, member
ids and other hex, durations, numbers), so that 10,000 lines of the same chatter become one
row with a count. `new_since` answers the SRE's question "what started after the last
healthy moment?": the templates first seen after it, with how often they occurred since.
Pure functions over (time, message) pairs; times come from `line_time`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from blackstart.checks.formats.logrecord import ParsedLine, parse_line
from blackstart.checks.probe_results import LogLine

_MASK = re.compile(
    r"(?P<ts>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)"
    r"|(?P<uuid>\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b)"
    r"|(?P<addr>\[[0-9a-fA-F:.]+\](?::\d+)?|\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b)"
    r"|(?P<hex>\b0x[0-9a-fA-F]+\b|\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{8,}\b)"
    r"|(?P<dur>\b\d+(?:\.\d+)?(?:h|m|s|ms|µs|us|ns)\b(?:\d+(?:\.\d+)?(?:m|s|ms))*)"
    r"|(?P<n>\d+)")


def template_of(message: str) -> str:
    """`peer 8e9e05c52164694d became inactive after 1.5s` → `peer <hex> became inactive
    after <dur>`."""
    return _MASK.sub(lambda m: f"<{m.lastgroup}>", message)


@dataclass(frozen=True)
class TemplateCount:
    template: str
    count: int  # occurrences from first_seen on
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    example: str  # the first message that produced it


def template_counts(items: Iterable[tuple[dt.datetime | None, str]]) -> list[TemplateCount]:
    """Every template of `items` (in log order), most frequent first.

    A line without a time of its own gets the time of the line before it: log sources are
    ordered, and continuation lines (stack traces) belong to the line above.
    """
    first: dict[str, tuple[dt.datetime | None, str]] = {}
    last: dict[str, dt.datetime | None] = {}
    count: dict[str, int] = {}
    for when, message in _carry_times(items):
        key = template_of(message)
        if key not in first:
            first[key] = (when, message)
        last[key] = when
        count[key] = count.get(key, 0) + 1
    out = [TemplateCount(k, count[k], first[k][0], last[k], first[k][1]) for k in first]
    out.sort(key=lambda t: -t.count)
    return out


def new_since(items: Iterable[tuple[dt.datetime | None, str]],
              since: dt.datetime) -> list[TemplateCount]:
    """Templates whose first occurrence is after `since` (an aware datetime), with their
    counts: what started after the last healthy moment. Untimed templates are not new."""
    return [t for t in template_counts(items)
            if t.first_seen is not None and t.first_seen > since]


def unmatched(lines: Iterable[LogLine], year: int,
              ) -> Iterator[tuple[dt.datetime | None, str]]:
    """(time, message) of the probe's lines that no signature matched, ready for
    `template_counts` / `new_since`. The time is the line's own (klog, zap, capnslog …),
    else the one its source recorded (CRI, journald); `year` completes year-less ones."""
    for ln in lines:
        if ln.signature is None:
            parsed = parse_line(ln.text)
            when = line_time(parsed, year)
            if when is None and ln.ts:
                when = line_time(ParsedLine(ln.ts, ("plain",), parsed.level, "", (ln.ts,)),
                                 year)
            yield when, parsed.summary


def _carry_times(items: Iterable[tuple[dt.datetime | None, str]],
                 ) -> Iterator[tuple[dt.datetime | None, str]]:
    previous: dt.datetime | None = None
    for when, message in items:
        previous = when or previous
        yield previous, message


# --------------------------------------------------------------------------- times

_ISO = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d")
_SLASHED = re.compile(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d$")
_KLOG_TIME = re.compile(r"(\d\d)-(\d\d) (\d\d:\d\d:\d\d\.\d{6})$")
_SYSLOG_TIME = re.compile(r"[A-Za-z]{3} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)?$")
_EPOCH = re.compile(r"\d{9,11}(?:\.\d+)?$")


def line_time(line: ParsedLine, year: int) -> dt.datetime | None:
    """The line's time as an aware datetime (UTC when the line gives no zone).

    Takes the first time with a year (CRI, zap, capnslog), else the first without one
    (klog, syslog) completed with `year`. None when the line has no readable time.
    """
    yearless: dt.datetime | None = None
    for raw in line.times:
        full = _with_year(raw)
        if full is not None:
            return full
        yearless = yearless or _without_year(raw, year)
    return yearless


def _with_year(raw: str) -> dt.datetime | None:
    try:
        if _ISO.match(raw):
            return _aware(dt.datetime.fromisoformat(raw.replace("Z", "+00:00")))
        if _SLASHED.match(raw):
            return _aware(dt.datetime.strptime(raw, "%Y/%m/%d %H:%M:%S"))
        if _EPOCH.match(raw):
            return dt.datetime.fromtimestamp(float(raw), tz=dt.UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def _without_year(raw: str, year: int) -> dt.datetime | None:
    try:
        m = _KLOG_TIME.match(raw)
        if m is not None:
            return _aware(dt.datetime.strptime(f"{year}-{m[1]}-{m[2]} {m[3]}",
                                               "%Y-%m-%d %H:%M:%S.%f"))
        if _SYSLOG_TIME.match(raw):
            clock = raw.split(".", maxsplit=1)[0]
            return _aware(dt.datetime.strptime(f"{year} {clock.title()}", "%Y %b %d %H:%M:%S"))
    except ValueError:
        return None
    return None


def _aware(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)
