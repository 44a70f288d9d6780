"""Pure log parsing: the tail of a file, CRI/klog/journald/zap framing, and classification.

Everything here is a plain function over bytes or text, with no I/O. Text stays raw: a
log line full of `[core]` or `[bold]` is returned exactly as written; escaping it for the
screen is the TUI's job (`display_text` makes a line safe to show). No parser here raises
on bad input: malformed lines come back as plain lines (or None where the signature says
so). checks.formats.logrecord takes one line apart (level, message, fields) for the panel.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from blackstart.checks.formats import logcache, wordindex
from blackstart.checks.reasoning.signature_type import Signature
from blackstart.checks.reasoning.signatures import SIGNATURES

__all__ = [
    "SIGNATURES", "Entry", "KlogHeader", "classify", "display_text", "join_cri",
    "parse_cri_line", "parse_journald_json", "parse_klog", "parse_lines", "parse_zap_json",
    "tail_lines",
]

# Every signature's literals, indexed by their anchor words: a line holding none of them
# (most lines of a healthy log) costs a few C calls instead of one test per table entry.
_INDEX = wordindex.build([s.literals for s in SIGNATURES])

# The answers per line template (checks.formats.logcache says why they are exact).
_CACHEABLE = all(logcache.digit_blind(alt.pattern) for s in SIGNATURES
                 for alt in s.alternatives if isinstance(alt, re.Pattern))
_DIGIT_STRINGS = tuple(tuple(x for x in s.strings if logcache.has_digit(x))
                       for s in SIGNATURES)
_DIGITS_OF: dict[tuple[int, ...], logcache.DigitsMatter | None] = {}
CACHE = logcache.AnswerCache()
_ANSWERS = CACHE.answers
_BY_FLAGS = CACHE.by_flags
_UNSEEN = object()


def classify(text: str) -> Signature | None:
    """The first signature (in table order) whose pattern occurs in `text`, else None.
    (A signature's anchor word must occur as a whole word: see checks.formats.wordindex.)

    The answer is remembered per template (the line with its digits masked): a log
    repeats a few thousand templates whose times, ports, sizes and durations differ.
    """
    raw = wordindex.encode(text)
    memo = CACHE
    if memo.rest:  # the cache does not pay on this log just now
        memo.rest -= 1
        return _first_match(text, _INDEX.candidates(text, raw))
    if len(raw) > logcache.MAX_KEY or not _CACHEABLE:
        return _first_match(text, _INDEX.candidates(text, raw))
    memo.calls += 1
    key = raw.translate(logcache.DIGITS_TO_ZERO)
    sig = _ANSWERS.get(key, _UNSEEN)
    if sig.__class__ is logcache.DigitsMatter:
        sig = _BY_FLAGS.get((key, sig.flags(text)), _UNSEEN)
    if sig is _UNSEEN:
        candidates = _INDEX.candidates(text, raw)
        sig = _first_match(text, candidates)
        CACHE.put(key, sig, _digits_of(candidates), text)
    return sig  # type: ignore[return-value]


def _first_match(text: str, candidates: tuple[int, ...]) -> Signature | None:
    for i in candidates:
        if SIGNATURES[i].matches(text):
            return SIGNATURES[i]
    return None


def _digits_of(candidates: tuple[int, ...]) -> logcache.DigitsMatter | None:
    """The table strings with digits that these candidates look for, if any."""
    if candidates not in _DIGITS_OF:
        if len(_DIGITS_OF) >= logcache.LIMIT:  # bounded: odd lines can combine many words
            _DIGITS_OF.clear()
        strings = tuple(sorted({x for i in candidates for x in _DIGIT_STRINGS[i]}))
        _DIGITS_OF[candidates] = logcache.DigitsMatter(strings) if strings else None
    return _DIGITS_OF[candidates]


# --------------------------------------------------------------------------- tail


def tail_lines(data: bytes, n: int, max_line: int = 8192, offset: int = 0) -> list[str]:
    """The last `n` lines of `data`, a chunk read from file offset `offset`.

    Splits from the end, so only the lines returned are decoded. When the chunk does not
    start at offset 0 its first line is probably cut, so it is dropped. Bytes that are not
    UTF-8 become U+FFFD; a line longer than `max_line` bytes keeps its first `max_line`
    bytes and gets a visible `… [cut N bytes]` marker. A final line without newline (the
    writer is mid-line) is kept.
    """
    if n <= 0 or not data:
        return []
    out: list[str] = []
    end = len(data)
    if data.endswith(b"\n"):
        end -= 1
    floor = 0
    if offset > 0:
        first_nl = data.find(b"\n")
        if first_nl < 0 or first_nl >= end:
            return []
        floor = first_nl + 1
    while len(out) < n and end >= floor:
        nl = data.rfind(b"\n", floor, end)
        start = nl + 1 if nl >= 0 else floor
        out.append(_decode_line(data[start:end], max_line))
        if nl < 0:
            break
        end = nl
    out.reverse()
    return out


def _decode_line(raw: bytes, max_line: int) -> str:
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    if len(raw) <= max_line:
        return raw.decode("utf-8", "replace")
    cut = len(raw) - max_line
    return raw[:max_line].decode("utf-8", "replace") + f"… [cut {cut} bytes]"


# --------------------------------------------------------------------------- CRI


_STREAMS = ("stdout", "stderr")
_TAGS = frozenset(("P", "F"))


def parse_cri_line(line: str) -> tuple[str, str, bool, str] | None:
    """`2026-11-26T01:02:03.123456789Z stderr F msg` → (ts, stream, partial, msg).

    The CRI log format (kubelet /var/log/pods): RFC 3339 time, stream, tag (`P` = a
    fragment of a longer line, `F` = full or last fragment; more tags may follow after
    `:`), then the message. None when the line is not in that format. (str.split, not a
    regex: this runs once per line of a 10,000-line tail.)
    """
    if not line[:1].isdigit():  # most lines that are not CRI, before any allocation
        return None
    parts = line.split(" ", 3)
    if len(parts) < 3 or parts[1] not in _STREAMS:
        return None
    tag = parts[2]
    if tag not in _TAGS:
        tag = tag.split(":", 1)[0]  # `F:x`: more tags may follow
        if tag not in _TAGS:
            return None
    return parts[0], parts[1], tag == "P", parts[3] if len(parts) == 4 else ""


@dataclass(frozen=True)
class Entry:
    """One logical log line: its time (if known) and its raw text."""

    ts: str | None
    text: str


def join_cri(lines: Iterable[str]) -> list[Entry]:
    """Parse CRI lines and join `P` fragments with what follows, per stream.

    Lines not in CRI format are kept as they are. A fragment chain still open at the end
    (the writer is mid-line) is kept as one entry.
    """
    out: list[Entry] = []
    pending: dict[str, tuple[str, list[str]]] = {}
    for line in lines:
        parsed = parse_cri_line(line)
        if parsed is None:
            out.append(Entry(None, line))
            continue
        ts, stream, partial, msg = parsed
        first_ts, parts = pending.pop(stream, (ts, []))
        parts.append(msg)
        if partial:
            pending[stream] = (first_ts, parts)
        else:
            out.append(Entry(first_ts, "".join(parts)))
    out.extend(Entry(ts, "".join(parts)) for ts, parts in pending.values())
    return out


# --------------------------------------------------------------------------- klog


_KLOG = re.compile(
    r"^([IWEF])(\d{2})(\d{2}) (\d{2}:\d{2}:\d{2}\.\d{6})\s+(\d+) ([^\]\s]+)\] ?(.*)$", re.DOTALL
)


@dataclass(frozen=True)
class KlogHeader:
    level: str  # I W E F
    time: str  # "MM-DD hh:mm:ss.uuuuuu" (klog has no year)
    pid: int
    source: str  # file.go:12
    msg: str


def parse_klog(text: str) -> KlogHeader | None:
    """`E1126 01:02:03.123456    4242 file.go:12] msg` → its parts; None if not klog."""
    m = _KLOG.match(text)
    if m is None:
        return None
    level, month, day, clock, pid, source, msg = m.groups()
    return KlogHeader(level, f"{month}-{day} {clock}", int(pid), source, msg)


# --------------------------------------------------------------------------- journald / zap


def parse_journald_json(line: str) -> Entry | None:
    """One line of `journalctl -o json` → Entry(ISO time, MESSAGE); None if unusable.

    MESSAGE is a string, or a list of byte values when it is not valid UTF-8 (or holds
    control characters), or null. __REALTIME_TIMESTAMP is microseconds since the epoch, as
    a decimal string.
    """
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    msg = _journald_message(obj.get("MESSAGE"))
    if msg is None:
        return None
    return Entry(_usec_to_iso(obj.get("__REALTIME_TIMESTAMP")), msg)


def _journald_message(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(b, int) and 0 <= b < 256 for b in value):
        return bytes(value).decode("utf-8", "replace")
    return None


def _usec_to_iso(value: object) -> str | None:
    try:
        usec = int(str(value))
        when = dt.datetime.fromtimestamp(usec / 1e6, tz=dt.UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return when.isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_zap_json(text: str) -> str | None:
    """The `ts` of an etcd (zap JSON) log line, or None if it is not one. Text stays raw."""
    if not text.startswith("{"):
        return None
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if isinstance(obj, dict) and isinstance(obj.get("ts"), str) and "msg" in obj:
        return str(obj["ts"])
    return None


# --------------------------------------------------------------------------- any line


def line_time(text: str) -> str | None:
    """The time written in the line itself (klog header or zap `ts`), if any."""
    head = parse_klog(text)
    if head is not None:
        return head.time
    return parse_zap_json(text)


def parse_lines(lines: Iterable[str], kind: str) -> list[Entry]:
    """Lines of a `cri` or `file` source → entries with their time (raw text kept).

    `cri` joins partial lines and takes the CRI time; `file` takes the klog/zap time when
    there is one. Plain lines get ts None.
    """
    if kind == "cri":
        return [e if e.ts else Entry(line_time(e.text), e.text) for e in join_cri(lines)]
    return [Entry(line_time(t), t) for t in lines]


# --------------------------------------------------------------------------- display

# CSI (`ESC [ … final`), OSC (`ESC ] … BEL|ST`) and lone two-byte escapes.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")
# C0/C1 controls, and the bidi overrides that could make a line read backwards on screen.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
DISPLAY_MAX = 4096


def display_text(text: str, limit: int = DISPLAY_MAX) -> str:
    """`text` made safe to show as one row: ANSI colour/cursor escapes removed, other
    control characters shown as U+FFFD, and cut at `limit` characters with a visible
    `… [cut N chars]`. Markup-like text (`[bold]`, `[/]`) is left as it is: the screen
    renders it literally (rich Text / markup=False), never as markup."""
    dropped = max(0, len(text) - limit * 4)  # bound the regex work on a huge line
    clean = _CONTROL.sub("\ufffd", _ANSI.sub("", text[: limit * 4] if dropped else text))
    if len(clean) <= limit and not dropped:
        return clean
    return clean[:limit] + f"… [cut {len(clean) - min(limit, len(clean)) + dropped} chars]"
