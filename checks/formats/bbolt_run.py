"""A leaf page read whole, in a few C-level calls, instead of element by element.

bbolt's `node.write` lays a leaf out as the element headers, then k0 v0 k1 v1 … back to
back. When a page is laid out so — every element a plain key (no sub-bucket), each
element's key+value starting where the previous one ended, the last ending inside the
page's span — its k/v bytes are one run: the keys come out by slicing, etcdutl's CRC over
"each k, then its v" is one `extend` over the run, and a bound check on the run's end
covers every element. On 1M small keys this is most of the walk's time.

Anything else (a sub-bucket, a gap, an element out of bounds, a big-endian host) gives
None, and the walker reads that page element by element, so damage is reported exactly as
it always was.
"""

from __future__ import annotations

import operator
import sys
from array import array
from typing import NamedTuple

from blackstart.checks.formats.bbolt_pages import ELEMENT_SIZE, PAGE_HEADER, Span

# bbolt writes its fields in the host's byte order; the lab and every supported host is
# little-endian, which is what array("I") reads here.
_USABLE = sys.byteorder == "little" and array("I").itemsize == 4


class Run(NamedTuple):  # a tuple: made once per page, and cheaper to make than a dataclass
    """A leaf's plain elements laid out back to back: their keys and the bytes they span."""

    keys: list[bytes]
    data: bytes  # k0 v0 k1 v1 …: what etcdutl's HASH reads of this page


def plain_run(span: Span, count: int) -> Run | None:
    """The leaf page in `span` as one run, or None when it is not laid out as bbolt writes
    plain keys (the caller then reads it element by element). Only the run's bytes are
    read: a page of one 100 KB value costs one read and one CRC, nothing else."""
    head = span.head
    heads_end = PAGE_HEADER + count * ELEMENT_SIZE
    if not _USABLE or count == 0 or heads_end > len(head):
        return None
    el = array("I")
    el.frombytes(head[PAGE_HEADER:heads_end])  # flags, pos, ksize, vsize per element
    if el[0::4].count(0) != count:  # a sub-bucket (or unknown flags)
        return None
    # pos is relative to the element's own header, which starts at 16 + 16·i
    starts = list(map(operator.add, el[1::4], range(PAGE_HEADER, heads_end, ELEMENT_SIZE)))
    key_ends = list(map(operator.add, starts, el[2::4]))
    ends = list(map(operator.add, key_ends, el[3::4]))
    first, last = starts[0], ends[-1]
    if starts[1:] != ends[:-1] or last > span.declared or not span.holdable(last - first):
        return None  # a huge value is read piecewise by the element walk
    data = span.window(first, last)
    if len(data) != last - first:  # the file ends early: the element walk says where
        return None
    if last <= len(head):
        keys = list(map(head.__getitem__, map(slice, starts, key_ends)))
    else:
        keys = [data[s - first : k - first] for s, k in zip(starts, key_ends, strict=True)]
    return Run(keys, data)


def ascending(keys: list[bytes]) -> bool:
    """Each key strictly above the one before it (compared in C)."""
    return all(map(operator.lt, keys, keys[1:]))
