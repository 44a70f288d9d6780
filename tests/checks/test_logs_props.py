"""Property tests: no log parser ever raises, and tail_lines agrees with a naive split."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from blackstart.checks.formats.loglines import (
    classify,
    join_cri,
    parse_cri_line,
    parse_journald_json,
    parse_klog,
    parse_lines,
    parse_zap_json,
    tail_lines,
)

lines = st.text(max_size=300)
line_lists = st.lists(lines, max_size=30)
cri_lines = st.builds(
    lambda ts, stream, tag, msg: f"{ts} {stream} {tag} {msg}",
    st.sampled_from(["2026-11-26T01:00:00Z", "2026-11-26T01:00:00.123456789+01:00", "1"]),
    st.sampled_from(["stdout", "stderr"]), st.sampled_from(["P", "F"]),
    st.text(alphabet=st.characters(blacklist_characters="\n"), max_size=50),
)


@settings(max_examples=300, deadline=None)
@given(lines)
def test_single_line_parsers_never_raise(text):
    classify(text)
    parse_cri_line(text)
    parse_klog(text)
    parse_journald_json(text)
    parse_zap_json(text)


@settings(max_examples=200, deadline=None)
@given(st.one_of(line_lists, st.lists(cri_lines, max_size=30)),
       st.sampled_from(["cri", "file"]))
def test_parse_lines_never_raises_and_loses_no_text(items, kind):
    out = parse_lines(items, kind)
    if kind == "file":
        assert [e.text for e in out] == items
    else:
        assert len(out) <= len(items)


@settings(max_examples=200, deadline=None)
@given(st.lists(cri_lines, max_size=30))
def test_join_cri_keeps_every_fragment(items):
    msgs = "".join(parse_cri_line(i)[3] for i in items)
    joined = join_cri(items)
    assert sorted("".join(e.text for e in joined)) == sorted(msgs)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["MESSAGE", "__REALTIME_TIMESTAMP", "X"]),
                       st.one_of(st.none(), st.integers(), st.text(max_size=20),
                                 st.lists(st.integers(-5, 300), max_size=20),
                                 st.floats(allow_nan=True))))
def test_journald_never_raises(obj):
    parse_journald_json(json.dumps(obj))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000), st.integers(0, 50), st.integers(1, 64),
       st.integers(0, 10))
def test_tail_lines_never_raises_and_is_bounded(data, n, max_line, offset):
    out = tail_lines(data, n, max_line=max_line, offset=offset)
    assert len(out) <= n
    for line in out:
        assert "\n" not in line
        assert len(line) <= max_line + len(" [cut  bytes]…") + 10


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\n\r",
                                               blacklist_categories=("Cs",)), max_size=40),
                min_size=1, max_size=20), st.integers(1, 30))
def test_tail_lines_matches_naive_split(items, n):
    data = ("\n".join(items) + "\n").encode()
    assert tail_lines(data, n, max_line=10_000) == items[-n:]
