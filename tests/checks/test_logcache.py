"""checks.formats.logcache: the classifier remembers answers per template, never wrongly."""

from __future__ import annotations

import random
import re

import log_corpus
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blackstart.checks.formats import logcache
from blackstart.checks.formats.loglines import CACHE, classify
from blackstart.checks.reasoning.signatures import SIGNATURES

_DIGIT = re.compile(r"[0-9]")


def _fresh(text: str) -> object:
    """What the table says of `text` with nothing remembered."""
    CACHE.clear()
    return classify(text)


def _redigit(text: str, rng: random.Random) -> str:
    """`text` with every digit replaced by a random one: the same template."""
    return _DIGIT.sub(lambda _: str(rng.randrange(10)), text)


@pytest.fixture(autouse=True)
def _empty_cache():
    CACHE.clear()
    yield
    CACHE.clear()


def test_the_ports_that_decide_a_class_are_part_of_the_key():
    peer = "rafthttp: dial tcp 10.0.0.1:2380: connect: connection refused"
    client = "rafthttp: dial tcp 10.0.0.1:2379: connect: connection refused"
    other = "rafthttp: dial tcp 10.0.0.1:1234: connect: connection refused"
    assert classify(peer).id == "etcd-peer-refused"
    assert classify(client).id == "etcd-refused"  # same template, another port
    assert classify(other) == _fresh(other)
    assert classify(peer).id == "etcd-peer-refused"  # remembered after all three


def test_names_with_digits_are_part_of_the_key():
    assert classify("etcd3 client is not responding").id == "etcd-unhealthy"
    assert classify("etcd4 client is not responding") is None


def test_the_table_allows_a_cache_and_regex_checks_are_conservative():
    patterns = [a.pattern for s in SIGNATURES for a in s.alternatives
                if isinstance(a, re.Pattern)]
    assert patterns and all(logcache.digit_blind(p) for p in patterns)
    assert logcache.digit_blind(r"tocommit\(\d+\) is out of \w{3,8} \[x\]")
    assert not logcache.digit_blind(r"port 2380")
    assert not logcache.digit_blind(r"[0-9a-f]{16}")
    assert not logcache.digit_blind(r"[+-=]")  # a range that holds the digits
    assert not logcache.digit_blind(r"(a)\1")


def test_every_corpus_line_keeps_its_class_when_its_template_is_remembered():
    rng = random.Random(15)
    rows = log_corpus.load()
    want = {r.text: _fresh(r.text) for r in rows}
    variants = {r.text: _redigit(r.text, rng) for r in rows}
    want_variant = {v: _fresh(v) for v in variants.values()}
    CACHE.clear()
    for r in rows:
        assert classify(r.text) == want[r.text], r.text
    for r in rows:  # now each variant's template is in the cache
        v = variants[r.text]
        assert classify(v) == want_variant[v], v
    assert CACHE.total_misses < 2 * len(rows)


_PIECES = [lit for s in SIGNATURES for lit in s.strings] + [
    " ", ": ", "2379", "2380", "4001", ":4001", "1234", "etcd3", "v3", "0", "99", "x509"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=8).map(" ".join),
       st.randoms(use_true_random=False))
def test_a_remembered_answer_is_the_table_answer(text, rng):
    variant = _redigit(text, rng)
    want_text, want_variant = _fresh(text), _fresh(variant)
    CACHE.clear()
    assert classify(text) == want_text
    assert classify(variant) == want_variant
    assert classify(text) == want_text


def test_the_cache_rests_when_lines_never_repeat_and_stays_bounded():
    n = 3 * logcache.AnswerCache.WINDOW  # each line a template of its own
    for i in range(n):
        assert classify(f"line {'a' * (i % 40)}{'b' * (i // 40)} {i}") is None
    assert CACHE.rest > 0 and CACHE.rested > 0  # more than half were misses
    assert CACHE.total_misses + CACHE.rested == n
    assert classify("walpb: crc mismatch").id == "etcd-walpb-crc"  # still answers while resting
    small = logcache.AnswerCache(limit=4)
    for i in range(10):
        small.put(bytes([i]), None, None, "")
    assert len(small.answers) <= 4


def test_a_long_line_is_not_remembered():
    long_line = "x" * (logcache.MAX_KEY + 1) + " connection refused :2379"
    assert classify(long_line).id == "etcd-refused"
    assert CACHE.total_misses == 0 and not CACHE.answers
