"""The classifier and the parser against real lines (tests/data/logs/corpus.toml).

The bar of issue 15: at least 95 % of the corpus classified as an SRE would, and no benign
line (a hard negative from a healthy cluster) flagged above INFO. bench/log_classes.py
prints the full report (per-class precision/recall, confusion) and the speed.
"""

from __future__ import annotations

from collections import Counter

import log_corpus
import pytest

from blackstart.checks.formats.logrecord import Level, line_level, parse_line
from blackstart.checks.reasoning.signatures import BY_ID

ROWS = log_corpus.load()
FORMATS = {"klog", "capnslog", "zap", "journald", "cri", "golog", "grpclog", "plain"}
LEVELLED = {"klog", "capnslog", "zap", "grpclog"}  # formats that always carry a level


def test_corpus_is_big_sourced_and_consistent():
    assert len(ROWS) >= 250
    assert sum(r.benign for r in ROWS) >= 40
    held = log_corpus.load(log_corpus.HELDOUT)
    texts = [r.text for r in ROWS + held]
    assert len(set(texts)) == len(texts), "a line is in the corpus twice"
    for r in ROWS + held:
        assert r.source and r.url.startswith("https://"), r.text
        assert r.fmt in FORMATS, r.fmt
        assert r.cls == "none" or r.cls in BY_ID, r.cls
        # The severity an SRE gives the line is the one the table gives its class.
        want = "none" if r.cls == "none" else BY_ID[r.cls].severity.label
        assert r.severity == want, (r.cls, r.text)
        if r.benign:
            assert r.severity in ("none", "info"), r.text


def test_corpus_covers_the_issue_families():
    classes = Counter(r.cls for r in ROWS)
    for cls in ("etcd-snap-missing", "etcd-db-missing", "etcd-nospace", "etcd-no-leader",
                "etcd-leader-lost", "etcd-member-removed", "etcd-cluster-id-mismatch",
                "etcd-clock-drift", "etcd-peer-refused", "etcd-peer-inactive", "etcd-refused",
                "etcd-unreachable", "etcd-slow-disk", "etcd-overloaded", "etcd-wal-repaired",
                "etcd-health-error", "etcd-unavailable", "tls-expired", "tls-bad-certificate",
                "etcd-client-cert-rejected", "etcd-cert-rejected-by-remote",
                "static-pod-crashloop", "benign-canceled"):
        assert classes[cls] >= 1, cls
    etcd_versions = {r.version[:3] for r in ROWS if r.component == "etcd"}
    assert {"3.3", "3.4", "3.5", "3.6"} <= etcd_versions


def test_accuracy_is_at_least_95_percent():
    s = log_corpus.score(ROWS)
    assert s.accuracy >= 0.95, s.mistakes()[:10]


def test_no_benign_line_is_flagged_above_info():
    s = log_corpus.score(ROWS + log_corpus.load(log_corpus.HELDOUT))
    assert not s.benign_flagged, [(c, r.text) for r, c in s.benign_flagged]


@pytest.mark.parametrize("row", [r for r in ROWS if r.cls != "none"], ids=lambda r: r.cls)
def test_each_classified_line_holds_a_prefilter_literal(row):
    # The pre-filter skips lines holding none of a signature's literals: a class whose
    # real lines lack them would silently never match.
    assert any(lit in row.text for lit in BY_ID[row.cls].literals)


def test_parser_reads_the_recorded_format_and_a_level_where_there_is_one():
    for r in ROWS:
        p = parse_line(r.text)
        assert p.fmt == r.fmt, (r.fmt, p.layers, r.text)
        if p.layers[-1] in LEVELLED:
            assert p.level is not Level.UNKNOWN, r.text
        assert p.message and p.message in r.text or p.layers[-1] in ("zap", "logrus")
        assert line_level(r.text) == p.level, r.text
