"""Bad input for the line parser and the display cleaner: non-UTF-8 bytes, a 50 MB line,
ANSI escapes and Rich markup parse without raising, come out bounded, and stay literal."""

from __future__ import annotations

import datetime as dt
import json

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.text import Text

from blackstart.checks.formats.loglines import classify, display_text, tail_lines
from blackstart.checks.formats.logrecord import MAX_PARSE, line_level, parse_line
from blackstart.checks.formats.logtemplates import line_time, new_since, template_of

PREFIXES = st.sampled_from([
    "", "2022-01-12T21:16:43.834720026+00:00 stderr F ", "Jan 25 06:42:36 node k3s[1]: ",
    "E0609 11:33:05.269841    6877 status.go:256] ", "2021-03-17 13:44:23.696657 W | x: ",
    '{"level":"warn","ts":"2021-01-25T06:42:36Z","msg":"', "WARNING: 2018/04/24 15:34:04 ",
    'time="2025-01-17T05:21:36Z" level=error msg="', "2017/06/20 12:54:01 wal.go:403: ",
])
NASTY = st.lists(st.sampled_from(
    list("[]/\\\"'{}:;|\t") + ["\x1b[31m", "\x1b[0m", "\x1b]0;title\x07", "\x00", "\x7f",
                               "[bold]", "[/]", "[link=x]", "\ufffd", "é", "\u202e"]),
    max_size=40).map("".join)
line_texts = st.builds(lambda p, body: p + body, PREFIXES, st.text(max_size=200) | NASTY)


@settings(max_examples=400, deadline=None)
@given(line_texts)
def test_parse_line_never_raises_and_keeps_the_raw_text(text):
    p = parse_line(text)
    assert p.raw == text and p.layers
    assert isinstance(p.message, str)
    line_time(p, 2026)
    template_of(p.summary)
    classify(text)
    assert line_level(text) == p.level  # the probe's shortcut agrees with the parser


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_non_utf8_bytes_parse_after_the_tail_decoder(data):
    for line in tail_lines(data, 50):
        p = parse_line(line)
        assert p.raw == line


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=600) | NASTY, st.integers(min_value=1, max_value=300))
def test_display_text_is_clean_and_bounded(text, limit):
    out = display_text(text, limit)
    assert "\x1b" not in out and "\x00" not in out and "\n" not in out
    assert all(ch == "\t" or ch >= " " and not "\x7f" <= ch <= "\x9f" for ch in out)
    assert len(out) <= limit + len(f"… [cut {len(text)} chars]")


@settings(max_examples=200, deadline=None)
@given(NASTY)
def test_markup_stays_literal_on_screen(text):
    # Rich markup in a log line must show as typed: Text() never interprets it.
    shown = display_text(text)
    assert Text(shown).plain == shown
    assert "[bold]" not in text or "[bold]" in shown


def test_ansi_colours_are_removed_and_markup_kept():
    line = "\x1b[31mE0101 00:00:00.000000 1 x.go:1] [bold]boom[/bold]\x1b[0m"
    assert display_text(line) == "E0101 00:00:00.000000 1 x.go:1] [bold]boom[/bold]"
    z = parse_line(json.dumps({"level": "error", "msg": "red \x1b[31mX\x1b[0m [b]"}))
    assert display_text(z.message) == "red X [b]"


def test_a_50_mb_single_line_parses_cut_and_bounded():
    huge = '{"level":"warn","ts":"2021-01-25T06:42:36Z","msg":"' + "x" * (50 * 1024 * 1024)
    p = parse_line(huge)
    assert p.raw.endswith(f"… [cut {len(huge) - MAX_PARSE} chars]")
    assert len(p.raw) < MAX_PARSE + 64 and len(p.message) <= MAX_PARSE
    assert p.fmt == "zap"  # a cut zap line is still read as one
    shown = display_text(huge, 1000)
    assert len(shown) < 1100 and shown.endswith(f"[cut {len(huge) - 1000} chars]")
    plain = "E" * (50 * 1024 * 1024)
    assert parse_line(plain).fmt == "plain" and classify(plain[:MAX_PARSE]) is None


def test_new_since_with_garbage_times_never_raises():
    lines = [parse_line(t) for t in ("Feb 30 25:61:61 h p: x", "9999-99-99 99:99:99.999999 W"
                                     " | x", '{"level":"info","ts":1e300,"msg":"x"}')]
    items = [(line_time(p, 2026), p.summary) for p in lines]
    assert new_since(items, dt.datetime(2026, 1, 1, tzinfo=dt.UTC)) == []
