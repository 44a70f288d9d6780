"""The classifier's memory: one answer per line template, where a line's template is its
UTF-8 bytes with every ASCII digit read as `0`.

Why digits: lines of one kind differ mostly in their times, pids, ports, sizes, counts
and durations, so a log of a million lines holds a few thousand templates (ids written in
hex, and numbers whose width changes, still make new ones). Masking is one C call
(`bytes.translate`), cheaper than finding the words of the line.

Why the answer is exact (a line never gets another class than the table gives it), for
two lines with one template:
- the word index splits words at digits, so both lines have the same words and the same
  candidate entries;
- a table string without digits occurs in one line iff it occurs at the same place in
  the other (a digit takes no part in such an occurrence, and only digits differ);
- the table's regexes must treat every ASCII digit alike: `digit_blind` accepts a regex
  with no digit outside `\\d` and `{m,n}` and no character range; a table with another
  regex gets no cache at all;
- so only the table's strings WITH digits (`2380`, `2379`, `etcd3` …) can tell the two
  lines apart. When a template's candidates hold such strings (`DigitsMatter`), which of
  them occur in the line is part of the key.
"""

from __future__ import annotations

import re

MAX_KEY = 2048  # longer lines are classified every time (a huge line must not be kept)
LIMIT = 4096  # templates remembered (<= 2 x 4096 x MAX_KEY bytes); when full, start again

DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_QUANTIFIER = re.compile(r"\{\d*,?\d*\}")
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_CLASS = re.compile(r"\[\^?\]?[^\]]*\]")


def digit_blind(pattern: str) -> bool:
    """True if the regex `pattern` cannot tell one ASCII digit from another (conservative:
    False for a digit anywhere but `\\d` and a quantifier, a backreference, or a range)."""
    if any(esc.isdigit() for esc in _ESCAPE.findall(pattern)):
        return False  # \\1 … a backreference, or an escaped digit
    bare = _QUANTIFIER.sub("", _ESCAPE.sub("", pattern))
    if has_digit(bare):
        return False
    return all("-" not in cls for cls in _CLASS.findall(bare))


def has_digit(s: str) -> bool:
    """An ASCII digit in `s` (the only digits the template masks)."""
    return any("0" <= c <= "9" for c in s)


class DigitsMatter:
    """The cache entry of a template whose answer depends on which of `strings` occur."""

    __slots__ = ("strings",)

    def __init__(self, strings: tuple[str, ...]) -> None:
        self.strings = strings

    def flags(self, text: str) -> tuple[bool, ...]:
        return tuple([s in text for s in self.strings])


class AnswerCache:
    """Template -> answer (or DigitsMatter), and (template, flags) -> answer, bounded by
    `limit` entries each.

    It also rests when it does not pay: a log whose lines rarely repeat a template (every
    number a new width, ids everywhere) would pay for the key and the store on each line.
    So every `WINDOW` misses it looks at the calls they took; when more than half were
    misses, the classifier skips the cache for the next `REST` lines, then tries again.
    """

    WINDOW = 2048
    REST = 16 * 2048

    __slots__ = ("answers", "by_flags", "limit", "misses", "calls", "rest", "total_misses",
                 "granted")

    def __init__(self, limit: int = LIMIT) -> None:
        self.answers: dict[bytes, object] = {}
        self.by_flags: dict[tuple[bytes, tuple[bool, ...]], object] = {}
        self.limit = limit
        self.misses = 0  # in this window
        self.calls = 0  # in this window (the classifier counts them)
        self.rest = 0  # lines still to classify without the cache
        self.total_misses = 0
        self.granted = 0  # lines of rest granted in all

    @property
    def rested(self) -> int:
        """Lines classified without the cache because it was resting."""
        return self.granted - self.rest

    def put(self, key: bytes, answer: object, digits: DigitsMatter | None,
            text: str) -> None:
        self.misses += 1
        self.total_misses += 1
        if self.misses >= self.WINDOW:
            if self.misses * 2 > self.calls:
                self.rest = self.REST
                self.granted += self.REST
            self.misses = self.calls = 0
        if len(self.answers) >= self.limit or len(self.by_flags) >= self.limit:
            self.answers.clear()
            self.by_flags.clear()
        if digits is None:
            self.answers[key] = answer
            return
        self.answers[key] = digits
        self.by_flags[(key, digits.flags(text))] = answer

    def clear(self) -> None:
        self.answers.clear()
        self.by_flags.clear()
        self.misses = self.calls = self.rest = self.total_misses = self.granted = 0
