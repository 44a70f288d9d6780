"""One log line taken apart: its framing layers, level, time, message and key fields.

A line as it reaches blackstart is often wrapped: a CRI prefix (/var/log/pods) or a
syslog/journald prefix around the component's own format — klog (kube-apiserver,
kubelet), capnslog (etcd ≤ 3.4 default), zap JSON (etcd ≥ 3.4), Go's `log` package (etcd
2.x, embedded etcd), grpc-go's logger, or logrus (k3s/rke2 supervisors). `parse_line` peels
the wrappers outermost first and reads the innermost format, so that a level filter and a
message search work the same for every source. Pure and total: it never raises, and a line
it cannot read comes back as `plain` with the whole text as its message.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass

from blackstart.checks.formats.loglines import parse_cri_line

MAX_PARSE = 64 * 1024  # longer lines are cut before parsing (a 50 MB line stays cheap)


class Level(enum.IntEnum):
    """A normalised level; UNKNOWN for formats that carry none (etcd 2.x, plain text)."""

    UNKNOWN = 0
    DEBUG = 10
    INFO = 20
    WARNING = 30
    ERROR = 40
    FATAL = 50

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {lvl: lvl.name.lower() for lvl in Level}  # Enum.name is slow, the probe asks a lot

_WORDS: dict[str, Level] = {
    "d": Level.DEBUG, "debug": Level.DEBUG, "trace": Level.DEBUG,
    "i": Level.INFO, "info": Level.INFO, "n": Level.INFO, "notice": Level.INFO,
    "w": Level.WARNING, "warn": Level.WARNING, "warning": Level.WARNING,
    "e": Level.ERROR, "error": Level.ERROR,
    "c": Level.FATAL, "f": Level.FATAL, "fatal": Level.FATAL, "panic": Level.FATAL,
    "dpanic": Level.FATAL, "critical": Level.FATAL,
}


def level_of(word: str) -> Level:
    """`W`, `warn`, `WARNING`, `panic` … → Level; anything else → UNKNOWN."""
    return _WORDS.get(word.strip().lower(), Level.UNKNOWN)


@dataclass(frozen=True, slots=True)
class ParsedLine:
    raw: str
    layers: tuple[str, ...]  # outermost first, e.g. ("cri", "klog"); never empty
    level: Level
    message: str
    times: tuple[str, ...] = ()  # the times written in the line, outermost first
    host: str | None = None  # from a syslog/journald prefix
    process: str | None = None
    fields: tuple[tuple[str, str], ...] = ()  # zap/logrus key fields, in line order

    @property
    def fmt(self) -> str:
        """The outermost framing: cri | journald | zap | klog | capnslog | golog | grpclog |
        logrus | plain."""
        return self.layers[0]

    def field(self, key: str) -> str | None:
        return next((v for k, v in self.fields if k == key), None)

    @property
    def summary(self) -> str:
        """The message with its error, as a person reads it (and as templates group it)."""
        err = self.field("error")
        return f"{self.message} error={err}" if err else self.message


@dataclass(frozen=True, slots=True)
class _Inner:
    fmt: str
    level: Level
    message: str
    time: str | None = None
    fields: tuple[tuple[str, str], ...] = ()


def parse_line(text: str) -> ParsedLine:
    """Take one line apart (see the module doc). Never raises."""
    if len(text) > MAX_PARSE:
        text = text[:MAX_PARSE] + f"… [cut {len(text) - MAX_PARSE} chars]"
    layers: list[str] = []
    times: list[str] = []
    body, host, proc = text, None, None
    cri = parse_cri_line(body)
    if cri is not None:
        layers.append("cri")
        times.append(cri[0])
        body = cri[3]
    m = _SYSLOG.match(body)
    if m is not None:
        layers.append("journald")
        times.append(m["ts"])
        host, proc, body = m["host"], m["proc"], m["msg"]
    inner = parse_inner(body)
    layers.append(inner.fmt)
    if inner.time:
        times.append(inner.time)
    return ParsedLine(text, tuple(layers), inner.level, inner.message, tuple(times), host,
                      proc, inner.fields)


def line_level(text: str) -> Level:
    """The level `parse_line(text).level` gives, read without decoding a zap line's JSON
    (the probe needs only this for each of its lines; the panel parses what it shows)."""
    body = text[:MAX_PARSE]
    cri = parse_cri_line(body)
    if cri is not None:
        body = cri[3]
    m = _SYSLOG.match(body)
    if m is not None:
        body = m["msg"]
    if body[:1] == "{":
        z = _ZAP_LEVEL.search(body)
        return level_of(z[1]) if z is not None and _ZAP_MSG.search(body) else Level.UNKNOWN
    if _KLOG_HEAD.match(body, 0, 256) is not None:  # most lines: skip building the parts
        return _KLOG_LEVELS[body[0]]
    return parse_inner(body[:256]).level


# `Jun 26 09:43:52 node-1 etcd2[26016]: msg` (journalctl's short format, syslog files).
_SYSLOG = re.compile(
    r"(?P<ts>[A-Za-z]{3} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)?) (?P<host>\S+) "
    r"(?P<proc>[^\s:\[\]]+)(?:\[\d+\])?: (?P<msg>.*)", re.DOTALL)


def parse_inner(body: str) -> _Inner:
    """The component's own format of an unwrapped line."""
    head = body[:1]
    if head == "{":
        return _zap(body) or _plain(body)
    if head and head in "IWEF":  # klog, or grpc-go's old `WARNING: 2018/04/24 … msg`
        return _klog(body) or _plain(body)
    if head.isdigit():
        return _capnslog(body) or _grpclog_dated(body) or _golog(body) or _plain(body)
    if body.startswith("time=\""):
        return _logrus(body) or _plain(body)
    return _plain(body)


def _plain(body: str) -> _Inner:
    return _Inner("plain", Level.UNKNOWN, body)


_KLOG = re.compile(r"([IWEF])(\d\d)(\d\d) (\d\d:\d\d:\d\d\.\d{6})\s+\d+ [^\]\s]+\] ?(.*)",
                   re.DOTALL)
# What `_KLOG` needs to match (its `(.*)` always does), for `line_level`.
_KLOG_HEAD = re.compile(r"[IWEF]\d\d\d\d \d\d:\d\d:\d\d\.\d{6}\s+\d+ [^\]\s]+\]")
_KLOG_LEVELS = {c: level_of(c) for c in "IWEF"}


def _klog(body: str) -> _Inner | None:
    m = _KLOG.match(body)
    if m is None:
        return _grpclog(body)  # `WARNING: …` also starts with W/I/E
    lvl, month, day, clock, msg = m.groups()
    return _Inner("klog", level_of(lvl), msg, f"{month}-{day} {clock}")


_CAPNSLOG = re.compile(
    r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}) (?:\[[^\]]*\] )?([DINWEC]) \| (.*)", re.DOTALL)


def _capnslog(body: str) -> _Inner | None:
    m = _CAPNSLOG.match(body)
    if m is None:
        return None
    return _Inner("capnslog", level_of(m[2]), m[3], m[1])


_GOLOG = re.compile(r"(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) (?:\S+\.go:\d+: )?(?:(Warning|Info|"
                    r"Error|Fatal): )?(.*)", re.DOTALL)
_GRPC_DATED = re.compile(r"(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) (WARNING|INFO|ERROR|FATAL): (.*)",
                         re.DOTALL)
_GRPC = re.compile(r"(WARNING|INFO|ERROR|FATAL): (\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) (.*)",
                   re.DOTALL)


def _golog(body: str) -> _Inner | None:
    m = _GOLOG.match(body)
    if m is None:
        return None
    return _Inner("golog", level_of(m[2] or ""), m[3], m[1])


def _grpclog_dated(body: str) -> _Inner | None:
    m = _GRPC_DATED.match(body)
    return None if m is None else _Inner("grpclog", level_of(m[2]), m[3], m[1])


def _grpclog(body: str) -> _Inner | None:
    m = _GRPC.match(body)
    return None if m is None else _Inner("grpclog", level_of(m[1]), m[3], m[2])


_LOGRUS = re.compile(r'time="([^"]*)" level=(\w+) msg="((?:[^"\\]|\\.)*)"?', re.DOTALL)


def _logrus(body: str) -> _Inner | None:
    m = _LOGRUS.match(body)
    if m is None:
        return None
    msg = m[3].replace('\\"', '"')
    return _Inner("logrus", level_of(m[2]), msg, m[1])


# --------------------------------------------------------------------------- zap JSON

_ZAP_SKIP = frozenset(("level", "ts", "msg", "stacktrace"))
MAX_FIELD = 512  # a field value is cut here (requests and stack traces can be huge)


def _zap(body: str) -> _Inner | None:
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError):
        return _zap_cut(body)
    if not isinstance(obj, dict) or not isinstance(obj.get("msg"), str):
        return None
    level = obj.get("level")
    ts = obj.get("ts")
    fields = tuple((str(k), _scalar(v)) for k, v in obj.items() if k not in _ZAP_SKIP)
    return _Inner("zap", level_of(level) if isinstance(level, str) else Level.UNKNOWN,
                  obj["msg"], str(ts) if isinstance(ts, (str, int, float)) else None, fields)


def _scalar(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= MAX_FIELD else text[:MAX_FIELD] + "…"


_ZAP_LEVEL = re.compile(r'"level":"(\w+)"')
_ZAP_MSG = re.compile(r'"msg":"((?:[^"\\]|\\.)*)"?')  # the closing quote may be cut off
_ZAP_TS = re.compile(r'"ts":"?([^",}]+)')


def _zap_cut(body: str) -> _Inner | None:
    """A zap line that is not whole JSON (cut by a reader, or written mid-crash): read what
    is there, so its level still counts."""
    lvl, msg = _ZAP_LEVEL.search(body), _ZAP_MSG.search(body)
    if lvl is None or msg is None:
        return None
    ts = _ZAP_TS.search(body)
    message = msg[1].replace('\\"', '"')
    return _Inner("zap", level_of(lvl[1]), message, ts[1] if ts else None)
