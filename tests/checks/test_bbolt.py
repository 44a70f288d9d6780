"""checks.formats.bbolt over databases built here byte by byte (no I/O beyond memory), with an
independent oracle for etcdutl's HASH / TOTAL KEYS / REVISION, and damage of each kind
tx_check.go reports."""

from __future__ import annotations

import struct

import google_crc32c
import pytest

from blackstart.checks.formats.bbolt import read_db
from blackstart.checks.formats.bbolt_meta import choose_meta, fnv1a64, parse_meta
from blackstart.checks.formats.bbolt_pages import BRANCH, LEAF, MAGIC, NO_FREELIST, FileReader

PSZ = 4096
Items = list[tuple[bytes, bytes, int]]  # key, value, flags


def rev_key(main: int, sub: int = 0) -> bytes:
    return main.to_bytes(8, "big") + b"_" + sub.to_bytes(8, "big")


def page(pgid: int, flags: int, body_elems: list[bytes], tail: bytes, count: int, *,
         psz: int = PSZ) -> bytes:
    raw = b"".join(body_elems) + tail
    overflow = max(0, (16 + len(raw) - 1) // psz)
    head = struct.pack("<QHHI", pgid, flags, count, overflow)
    data = head + raw
    return data + bytes((overflow + 1) * psz - len(data))


def leaf(pgid: int, items: Items, psz: int = PSZ) -> bytes:
    elems, data = [], b""
    base = 16 + 16 * len(items)
    for i, (k, v, flags) in enumerate(items):
        pos = base + len(data) - (16 + 16 * i)
        elems.append(struct.pack("<IIII", flags, pos, len(k), len(v)))
        data += k + v
    return page(pgid, LEAF, elems, data, len(items), psz=psz)


def branch(pgid: int, children: list[tuple[bytes, int]]) -> bytes:
    elems, data = [], b""
    base = 16 + 16 * len(children)
    for i, (k, child) in enumerate(children):
        pos = base + len(data) - (16 + 16 * i)
        elems.append(struct.pack("<IIQ", pos, len(k), child))
        data += k
    return page(pgid, BRANCH, elems, data, len(children))


def meta(index: int, root: int, pgid: int, txid: int, *, freelist: int = NO_FREELIST,
         psz: int = PSZ) -> bytes:
    body = struct.pack("<IIIIQQQQQ", MAGIC, 2, psz, 0, root, 0, freelist, pgid, txid)
    body += struct.pack("<Q", fnv1a64(body))
    head = struct.pack("<QHHI", index, 0x04, 0, 0)
    return head + body + bytes(psz - 16 - len(body))


def bucket_value(root: int) -> bytes:
    return struct.pack("<QQ", root, 0)


def inline_bucket(items: Items) -> bytes:
    lp = leaf(0, items)
    used = 16 + sum(16 + len(k) + len(v) for k, v, _ in items)
    return bucket_value(0) + lp[:used]


def build_db(buckets: dict[bytes, Items], split: int = 0, txid: int = 7) -> bytes:
    """A bbolt file: root leaf at page 2, one leaf per bucket (or a branch over `split`
    leaves for bucket `key`), meta 0 and 1, no persisted freelist (as etcd)."""
    pages: list[bytes] = []
    next_id = 3
    root_items: Items = []
    for i, (name, items) in enumerate(sorted(buckets.items())):
        if name == b"key" and split:
            chunk = max(1, len(items) // split)
            parts = [items[j : j + chunk] for j in range(0, len(items), chunk)]
            bid, leaves, pid = next_id, [], next_id + 1
            for part in parts:
                leaves.append(leaf(pid, part))
                pid += len(leaves[-1]) // PSZ
            ids = [struct.unpack_from("<Q", lp)[0] for lp in leaves]
            pages.append(branch(bid, [(p[0][0], i) for p, i in zip(parts, ids, strict=True)]))
            pages += leaves
            next_id = pid
            root_items.append((name, bucket_value(bid), 1))
            continue
        lp = leaf(next_id, items)
        pages.append(lp)
        root_items.append((name, bucket_value(next_id), 1))
        next_id += len(lp) // PSZ
    root = leaf(2, root_items)
    assert len(root) == PSZ
    hwm = next_id
    return meta(0, 2, hwm, txid) + meta(1, 2, hwm, txid - 1) + root + b"".join(pages)


def oracle(buckets: dict[bytes, Items]) -> tuple[int, int]:
    """(hash, total keys) as etcdutl 3.5 defines them, computed independently."""
    crc, total = 0, 0
    for name, items in sorted(buckets.items()):
        crc = google_crc32c.extend(crc, name)
        for k, v, flags in items:
            crc = google_crc32c.extend(crc, k)
            if not flags & 1:
                crc = google_crc32c.extend(crc, v)
            total += 1
    return crc, total


def etcd_like(n: int = 40, big: int = 0) -> dict[bytes, Items]:
    keys: Items = [(rev_key(i + 2), b"kv%d" % i * (i % 5 + 1), 0) for i in range(n)]
    if big:
        keys.append((rev_key(n + 2), b"B" * big, 0))
    return {
        b"key": keys,
        b"meta": [(b"consistent_index", (n + 9).to_bytes(8, "big"), 0),
                  (b"term", (3).to_bytes(8, "big"), 0)],
        b"members": [(b"8e9e05c52164694d", b'{"id":1}', 0)],
        b"alarm": [],
    }


def test_summary_matches_the_oracle() -> None:
    b = etcd_like(40)
    s = read_db(build_db(b))
    assert s.valid, s.errors
    assert (s.hash, s.total_keys) == oracle(b)
    assert s.revision == 41
    assert (s.consistent_index, s.term) == (49, 3)
    assert s.buckets == {"alarm": 0, "key": 40, "members": 1, "meta": 2}


def test_branch_pages_and_overflow_pages() -> None:
    b = etcd_like(120, big=20_000)  # 20 KB value: a leaf with overflow pages
    data = build_db(b, split=4)
    s = read_db(data)
    assert s.valid, s.errors
    assert (s.hash, s.total_keys, s.revision) == (*oracle(b), 122)
    assert s.pages_reached == s.pgid  # every page is reached, none twice


def test_inline_and_nested_buckets() -> None:
    nested = inline_bucket([(b"a", b"1", 0), (b"b", b"2", 0)])
    b = {b"auth": [(b"enabled", b"\x00", 0), (b"sub", nested, 1)], b"key": []}
    s = read_db(build_db(b))
    assert s.valid, s.errors
    assert (s.hash, s.total_keys) == oracle(b)  # sub-bucket: key hashed, nil value


def test_file_reader_on_a_real_file(tmp_path) -> None:
    path = tmp_path / "db"
    path.write_bytes(build_db(etcd_like(10)))
    with open(path, "rb") as fh:
        s = read_db(fh)
    assert s.valid and s.total_keys == 13
    with open(path, "rb") as fh:
        assert FileReader(fh).read_at(4096, 8) == (1).to_bytes(8, "little")


# --------------------------------------------------------------------------- damage


def _patch(data: bytes, off: int, new: bytes) -> bytes:
    return data[:off] + new + data[off + len(new) :]


def test_meta_checksum_on_both_pages() -> None:
    data = build_db(etcd_like())
    for m in (0, 1):
        data = _patch(data, m * PSZ + 16 + 16, struct.pack("<Q", 999))  # root, not re-summed
    s = read_db(data)
    assert not s.valid and s.errors == ["meta checksum mismatch on both meta pages"]


def test_one_bad_meta_falls_back_to_the_other() -> None:
    data = build_db(etcd_like())
    data = _patch(data, 16, struct.pack("<I", 0xBAD))  # meta 0 magic (highest txid)
    s = read_db(data)
    assert s.valid and s.meta_page == 1


def test_choose_meta_prefers_highest_txid() -> None:
    m0 = parse_meta(meta(0, 2, 9, 5), 0)
    m1 = parse_meta(meta(1, 2, 9, 6), 1)
    assert choose_meta(m0, m1) is m1


def test_page_reached_twice() -> None:
    data = build_db(etcd_like(120), split=4)
    br = 4 * PSZ  # bucket "key" (after "alarm" at page 3) is a branch here
    hdr = struct.unpack_from("<QHHI", data, br)
    assert hdr[1] == BRANCH
    first_child = struct.unpack_from("<IIQ", data, br + 16)[2]
    data = _patch(data, br + 16 + 16 + 8, struct.pack("<Q", first_child))  # elem 1 -> elem 0's
    s = read_db(data)
    assert f"page {first_child} reached twice" in s.errors[0]


def test_page_beyond_high_water_mark() -> None:
    data = build_db(etcd_like(120), split=4)
    data = _patch(data, 4 * PSZ + 16 + 8, struct.pack("<Q", 500))
    s = read_db(data)
    assert any("page 500" in e and "beyond high-water mark" in e for e in s.errors)


def test_invalid_page_type() -> None:
    b = etcd_like()
    data = build_db(b)
    data = _patch(data, 3 * PSZ + 8, struct.pack("<H", 0x08))
    s = read_db(data)
    assert any("page 3" in e and "invalid page type" in e for e in s.errors)


def test_keys_out_of_order() -> None:
    b = etcd_like(10)
    b[b"key"][3], b[b"key"][4] = b[b"key"][4], b[b"key"][3]
    s = read_db(build_db(b))
    assert any("out of order" in e for e in s.errors)


def test_header_id_mismatch() -> None:
    data = build_db(etcd_like())
    data = _patch(data, 4 * PSZ, struct.pack("<Q", 77))
    assert any("page 4" in e and "header says page 77" in e for e in read_db(data).errors)


def test_element_outside_the_page() -> None:
    data = build_db(etcd_like())
    data = _patch(data, 4 * PSZ + 16 + 12, struct.pack("<I", 1 << 30))  # vsize of elem 0
    assert any("points outside the page" in e for e in read_db(data).errors)


@pytest.mark.parametrize("size", [0, 100, 4096, 8192 + 17])
def test_truncated_files(size: int) -> None:
    data = build_db(etcd_like(120), split=4)
    s = read_db(data[:size])
    assert not s.valid and s.errors


def test_persisted_freelist_checks() -> None:
    """bbolt without NoFreelistSync: the freelist page must account for unreached pages."""
    data = build_db(etcd_like())
    hwm = struct.unpack_from("<Q", data, 16 + 40)[0]
    free = struct.pack("<QHHI", hwm, 0x10, 2, 0) + struct.pack("<QQ", hwm + 1, 3)
    extra = free + bytes(PSZ - len(free)) + bytes(PSZ)  # freelist page + 1 free page
    body = meta(0, 2, hwm + 2, 7, freelist=hwm) + meta(1, 2, hwm + 2, 6, freelist=hwm)
    s = read_db(body + data[2 * PSZ :] + extra)
    assert "page 3 is both reachable and freed" in s.errors
    free_ok = struct.pack("<QHHI", hwm, 0x10, 1, 0) + struct.pack("<Q", hwm + 1)
    ok = read_db(body + data[2 * PSZ :] + free_ok + bytes(PSZ - len(free_ok)) + bytes(PSZ))
    assert ok.valid, ok.errors
    none_free = struct.pack("<QHHI", hwm, 0x10, 0, 0)
    bad = read_db(body + data[2 * PSZ :] + none_free + bytes(PSZ - 16) + bytes(PSZ))
    assert f"page {hwm + 1} is neither reachable nor freed" in bad.errors


def test_large_spans_are_read_piecewise(monkeypatch: pytest.MonkeyPatch) -> None:
    """Spans above the load limit are read element by element (bounded memory), with the
    same result as loading them whole."""
    import blackstart.checks.formats.bbolt_pages as bb

    b = etcd_like(30, big=50_000)
    data = build_db(b, split=2)
    whole = read_db(data)
    calls: list[int] = []

    class Counting(bb.BytesReader):
        def read_at(self, offset: int, size: int) -> bytes:
            calls.append(size)
            return super().read_at(offset, size)

    monkeypatch.setattr(bb, "_SPAN_LOAD_LIMIT", 8192)
    monkeypatch.setattr(bb, "_CRC_CHUNK", 4096)
    piecewise = read_db(Counting(data), len(data))
    assert piecewise.valid and (piecewise.hash, piecewise.total_keys) == (whole.hash,
                                                                         whole.total_keys)
    assert max(calls) <= 8192
