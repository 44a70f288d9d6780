"""Probe results sent as a change to the last answer (tui.probe_delta): the cockpit gets
the same list back, reusing the objects it already holds for the results that did not
change, and an unhashable result is sent whole."""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field

from blackstart.checks.probe_results import LogLine
from blackstart.tui.probe_delta import FRESH, Encoder, decode


@dataclass
class WithList:  # a result with an unhashable field
    name: str
    alarms: list[str] = field(default_factory=list)


def _line(i: int) -> LogLine:
    return LogLine("master01", "etcd", f"2026-12-01T00:00:{i:02d}Z", f"line {i}")


def _send(enc: Encoder, results: list[object], previous: list[object]) -> list[object]:
    refs, fresh = pickle.loads(pickle.dumps(enc.encode(results)))  # as over the pipe
    enc.sent()
    return decode(refs, fresh, previous)


def test_unchanged_results_are_not_sent_again_and_reuse_the_held_objects() -> None:
    enc = Encoder()
    first = _send(enc, [_line(i) for i in range(5)], [])
    assert first == [_line(i) for i in range(5)]
    # the tail moved on: two lines dropped off the head, three new ones
    newer = [_line(i) for i in range(2, 8)]
    refs, fresh = enc.encode(newer)
    assert fresh == [_line(5), _line(6), _line(7)]  # only what is new crosses the pipe
    enc.sent()
    got = decode(refs, pickle.loads(pickle.dumps(fresh)), first)
    assert got == newer
    assert got[0] is first[2] and got[2] is first[4]  # the cockpit's own objects, reused


def test_unhashable_results_and_a_lost_answer_are_sent_whole() -> None:
    enc = Encoder()
    items = [WithList("etcd1", ["NOSPACE"]), WithList("etcd2")]
    first = _send(enc, list(items), [])
    refs, fresh = enc.encode(list(items))
    assert list(refs) == [FRESH, FRESH] and fresh == items
    held = _send(enc, [_line(1)], first)
    enc.encode([_line(2)])  # encoded, but its send failed: not what the cockpit holds
    refs, fresh = enc.encode([_line(2), _line(1)])
    assert list(refs) == [FRESH, 0] and decode(refs, fresh, held) == [_line(2), _line(1)]
