"""Which table entries can possibly match a line, found from the line's words.

A log classifier with ~60 entries cannot afford ~60 pattern tests per line, nor one big
regex alternation (Python's engine tries every branch at every position: ~30k lines/s). A
line's words, though, come out of three C calls (encode, a 256-byte translate, split),
and a set intersection with the entries' anchor words says which few entries to test, in
table order. Each literal of an entry is represented by its anchor: its longest word that
is not everyday log vocabulary. A literal without such a word is kept as a substring that
is looked for in every line (the table keeps these few).

Semantics this adds: an entry matches only where its anchor occurs as a whole word (its
characters not glued to other letters or digits), e.g. `NOSPACE` in `alarm:NOSPACE`, not
in `xNOSPACEy`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

# Word characters: ASCII letters, `_`, and every byte of a non-ASCII character. Digits
# split words like punctuation does: no anchor needs one, and the times, ids, ports and
# sizes of a log line then make no words at all (a third fewer to look up).
_WORD_BYTES = bytes(c if c >= 128 or chr(c).isalpha() or c == 0x5F else 0x20
                    for c in range(256))

COMBOS_LIMIT = 4096  # combinations of anchors remembered (odd lines can hold many)

# Words too frequent in etcd/kube logs to pick an entry out of all lines.
COMMON = frozenset(
    b"a an and at been by could dial desc error etcd etcdserver failed file for from grpc "
    b"has have in info is level local member msg not of on or peer rafthttp remote request "
    b"server stream tcp the this to transport warn while with client cluster connect "
    b"connection".split())


def encode(text: str) -> bytes:
    """`text` as the index reads it: UTF-8, lone surrogates kept (as their 3 bytes, so two
    different texts never give the same bytes: the classifier's cache relies on it)."""
    return text.encode("utf-8", "surrogatepass")


def words(text: str) -> set[bytes]:
    """The whole words of `text` (runs of letters, `_` and non-ASCII), as UTF-8 bytes."""
    return set(encode(text).translate(_WORD_BYTES).split())


def anchor(literal: str) -> bytes | None:
    """The word of `literal` that stands for it, or None if it has none worth indexing."""
    found = [w for w in words(literal) if w not in COMMON and len(w) >= 3]
    return max(sorted(found), key=len) if found else None


@dataclass(frozen=True)
class WordIndex:
    by_word: dict[bytes, tuple[int, ...]]  # anchor word -> entry indices
    anchors: frozenset[bytes]
    substrings: tuple[tuple[str, int], ...]  # literals without an anchor: (text, index)
    # (anchors found, substring hits) -> candidates, for lines with several anchors: a log
    # repeats a few such combinations, and merging them costs more than a lookup.
    combos: dict[tuple[frozenset[bytes], tuple[int, ...]], tuple[int, ...]] = field(
        default_factory=dict, compare=False, repr=False)

    def candidates(self, text: str, raw: bytes | None = None) -> tuple[int, ...]:
        """Indices of the entries that may match `text`, in table order. (`raw`: `text`
        already encoded by the caller, as `encode(text)` does, to save doing it twice.)"""
        if raw is None:
            raw = encode(text)
        hits: frozenset[bytes] = self.anchors.intersection(raw.translate(_WORD_BYTES).split())
        subs: tuple[int, ...] = ()
        for lit, i in self.substrings:  # a handful: plain loop, no allocation
            if lit in text:
                subs = (*subs, i)
        if not hits:  # the common case: no entry can match
            return subs
        if len(hits) == 1 and not subs:
            return self.by_word[next(iter(hits))]
        found = self.combos.get((hits, subs))
        if found is None:
            if len(self.combos) >= COMBOS_LIMIT:
                self.combos.clear()
            found = tuple(sorted({i for w in hits for i in self.by_word[w]}.union(subs)))
            self.combos[(hits, subs)] = found
        return found


def build(literals: Sequence[Sequence[str]]) -> WordIndex:
    """`literals[i]`: strings of which every match of entry i contains at least one."""
    by_word: dict[bytes, list[int]] = {}
    substrings: list[tuple[str, int]] = []
    for i, lits in enumerate(literals):
        for lit in lits:
            word = anchor(lit)
            if word is None:
                substrings.append((lit, i))
            elif i not in by_word.setdefault(word, []):
                by_word[word].append(i)
    frozen = {w: tuple(ix) for w, ix in by_word.items()}
    return WordIndex(frozen, frozenset(frozen), tuple(substrings))
