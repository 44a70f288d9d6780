"""A probe's results sent as a change to the ones sent before (pure; tested directly).

A probe child answers every poll with its whole result list: the logs probe alone sends
thousands of lines of which a handful are new. Unpickling all of them again every poll
costs the cockpit's process the interpreter lock (keys wait) and keeps a fresh copy of
every line alive beside the old one. Here the child sends each result that is equal to
one it sent last time as that one's index, and only the others as objects; the cockpit
rebuilds the list from the objects it already holds. Results are matched by value (a
dataclass by its type and fields); one with an unhashable field (a list) is always sent
whole. Nothing on the cockpit's side changes a result in place, so sharing one between
two polls' lists is safe.
"""

from __future__ import annotations

import dataclasses
from array import array
from collections.abc import Hashable, Sequence
from typing import Any

FRESH = -1  # in `refs`: the next object of `fresh`


class Encoder:
    """The child's side: remembers what it sent last (call `sent` after a send worked)."""

    def __init__(self) -> None:
        self._index: dict[Hashable, int] = {}
        self._pending: dict[Hashable, int] = {}

    def encode(self, results: Sequence[Any]) -> tuple[array[int], list[Any]]:
        refs: array[int] = array("q")
        fresh: list[Any] = []
        self._pending = {}
        for pos, item in enumerate(results):
            key = value_key(item)
            try:
                at = self._index.get(key, FRESH)
                self._pending.setdefault(key, pos)
            except TypeError:  # an unhashable field: always sent whole
                at = FRESH
            refs.append(at)
            if at == FRESH:
                fresh.append(item)
        return refs, fresh

    def sent(self) -> None:
        """The encoded list reached the cockpit: the next one is a change to it."""
        self._index = self._pending

    def forget(self) -> None:
        self._index, self._pending = {}, {}


def value_key(item: Any) -> Any:
    """What makes two results the same: a dataclass's type and field values (results are
    mutable dataclasses, whose own hash is None); anything else is its own key."""
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        return (type(item), *vars(item).values())
    return item


def decode(refs: Sequence[int], fresh: Sequence[Any], previous: Sequence[Any]) -> list[Any]:
    """The whole list again, reusing the objects of `previous` (the last decoded list)."""
    objects = iter(fresh)
    return [next(objects) if at == FRESH else previous[at] for at in refs]
