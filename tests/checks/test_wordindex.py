"""checks.formats.wordindex: the word gate in front of the signature table."""

from __future__ import annotations

import log_corpus
from hypothesis import given, settings
from hypothesis import strategies as st

from blackstart.checks.formats import wordindex
from blackstart.checks.formats.loglines import classify
from blackstart.checks.reasoning.signatures import SIGNATURES


def _reference(text: str):
    """The table's meaning without the gate: the first signature whose pattern matches."""
    return next((s for s in SIGNATURES if s.matches(text)), None)


def test_the_gate_changes_no_answer_on_real_lines():
    for row in log_corpus.load():
        assert classify(row.text) == _reference(row.text), row.text


LITERALS = [lit for s in SIGNATURES for lit in s.literals]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(LITERALS) | st.sampled_from([" ", ": ", "\"", "x", "2379",
                                                              "2380", "[", "]"]),
                max_size=8).map(" ".join))
def test_the_gate_agrees_where_literals_stand_as_words(text):
    # Built from whole literals and separators, every anchor is a whole word, so the
    # gated classifier must answer exactly as the plain table scan.
    assert classify(text) == _reference(text)


def test_anchor_is_the_longest_uncommon_word():
    assert wordindex.anchor("connection refused") == b"refused"
    assert wordindex.anchor("walpb: crc mismatch") == b"mismatch"
    assert wordindex.anchor("[-]etcd failed") is None  # only everyday words


def test_index_candidates_in_table_order_with_substring_fallback():
    idx = wordindex.build([["connection refused"], ["[-]etcd failed"], ["refused to go"]])
    assert idx.candidates("dial tcp: connect: connection refused") == (0, 2)
    assert idx.candidates("[-]etcd failed: reason withheld") == (1,)
    assert idx.candidates("nothing here") == ()
    assert idx.candidates("xrefusedx") == ()  # an anchor counts as a whole word only
    assert wordindex.words("a-b c_d é x509") == {b"a", b"b", b"c_d", "é".encode(), b"x"}
