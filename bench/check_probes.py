"""Benchmark: `blackstart check` on a lab: healthy, 100 snapshots (cold and warm cache),
a busy WAL; and `wal verify` of a 10 GB (sparse) segment. Each beside its reference.

    python bench/check_probes.py --net 127.0.71 [--dir DIR] [--runs 3] [--snapshots 100]
                                 [--snap-mb 50] [--puts 250000]

A flat lab is started (kept) in DIR/lab-check on --net; data is built once: the snapshot
(put into the lab, `etcdctl snapshot save`), its N hard links in etcd1's backup dir, the
busy WAL (small puts in 128-op transactions). Per-probe times come from the engine's
on_result callback in a child run (`_times`), wall and peak RSS from /usr/bin/time.
References in the same run: `etcdctl endpoint status --cluster`, an `etcdutl snapshot
status` loop over the same files, `cat` of the 10 GB segment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import blackstart, load, measure, median, options, row  # noqa: E402


def times_main(config: str) -> None:
    """Child: one check; prints {probe: seconds since start} and the total as JSON."""
    from blackstart.cli.check import cluster_from_options, run_with_cache

    cluster = cluster_from_options(config=config)
    t0 = time.monotonic()
    seen: dict[str, float] = {}
    from blackstart.checks.probes import engine

    real = engine.run_checks

    async def timed(*a: Any, **kw: Any) -> Any:
        kw["on_result"] = lambda name, _: seen.setdefault(name, time.monotonic() - t0)
        return await real(*a, **kw)

    engine.run_checks = timed  # type: ignore[assignment]
    run_with_cache(cluster, 5.0, read_only=False)
    print(json.dumps({**seen, "total": time.monotonic() - t0}))


def lab(a: Any) -> tuple[Path, dict[str, Any]]:
    d = a.dir / "lab-check"
    subprocess.run([*blackstart(), "lab", "up", "--dir", str(d), "--shape", "flat", "--net",
                    a.net], check=True, capture_output=True, timeout=300)
    inv = d / "blackstart.toml"
    return inv, tomllib.loads(inv.read_text())


def etcdctl(inv: dict[str, Any], *args: str) -> list[str]:
    c, m = inv["client"], inv["members"][0]
    return [inv["nodes"][0]["etcdctl"], "--endpoints", m["client_url"], "--cacert", c["cacert"],
            "--cert", c["cert"], "--key", c["key"], *args]


def client(inv: dict[str, Any]) -> Any:
    from urllib.parse import urlsplit

    from blackstart.checks.etcd_client import etcd_client
    from blackstart.checks.model import TLSFiles

    c = inv["client"]
    u = urlsplit(inv["members"][0]["client_url"])
    return etcd_client(u.hostname or "", u.port or 2379, timeout=60,
                       tls=TLSFiles(cert=c["cert"], key=c["key"], ca=c["cacert"]))


def build_snapshot(a: Any, inv: dict[str, Any]) -> Path:
    snap = a.dir / f"check-snapshot-{a.snap_mb}m.db"
    if snap.exists():
        return snap
    cl = client(inv)
    value = os.urandom(50_000).hex()  # 100 KB, incompressible
    for i in range(a.snap_mb * 10):
        cl.put(f"/bench/big/{i:06d}", value)
    cl.close()
    subprocess.run(etcdctl(inv, "snapshot", "save", str(snap)), check=True,
                   capture_output=True, timeout=600)
    return snap


def place_snapshots(a: Any, inv: dict[str, Any], snap: Path) -> list[Path]:
    backup = Path(inv["nodes"][0]["backup_dirs"][0])
    out = []
    for i in range(a.snapshots):
        p = backup / f"bench-{i:03d}.db"
        if not p.exists():
            os.link(snap, p)  # hard links: the same bytes, each path verified on its own
        out.append(p)
    return out


def busy_wal(a: Any, inv: dict[str, Any], marker: Path) -> None:
    if marker.exists():
        return
    cl = client(inv)
    done = 0
    while done < a.puts:
        n = min(128, a.puts - done)
        cl.transaction(compare=[], success=[cl.transactions.put(f"/bench/small/{done + i:07d}",
                                                               "v" * 40) for i in range(n)],
                       failure=[])
        done += n
    cl.close()
    marker.write_text(str(done))


def check_rows(a: Any, config: Path, cache: Path, cold: bool) -> tuple[list[float], list[float],
                                                                         list[dict[str, float]]]:
    walls, rss, probes = [], [], []
    for _ in range(a.runs):
        if cold and cache.exists():
            cache.unlink()
        w, r, out = measure([sys.executable, __file__, "_times", str(config)], ok=(0,))
        walls.append(w)
        rss.append(r)
        probes.append(json.loads(out))
    return walls, rss, probes


def probe_median(probes: list[dict[str, float]], name: str) -> float:
    return median([p.get(name, float("nan")) for p in probes])


def report_check(title: str, a: Any, config: Path, cache: Path, *, cold: bool,
                 ref: tuple[str, list[float], list[float]] | None = None) -> None:
    walls, rss, probes = check_rows(a, config, cache, cold)
    print(f"\n{title}  [{load()}]")
    base = median(ref[1]) if ref else None
    print(row("blackstart check --json (child run)", walls, rss, base))
    if ref:
        print(row(ref[0], ref[1], ref[2]))
    for name in ("members", "snapshots", "datadirs", "member_dbs"):
        print(f"    probe {name:12} result at {probe_median(probes, name) * 1e3:8.1f} ms "
              f"(median)")


def wal_10g(a: Any, inv: dict[str, Any]) -> None:
    member = inv["members"][0]
    src = Path(member["data_dir"]) / "member" / "wal"
    d = a.dir / "wal10g" / "member"
    wal = d / "wal"
    if not wal.exists():
        wal.mkdir(parents=True)
        segs = sorted(src.glob("*.wal"))
        last = wal / segs[-1].name
        with open(segs[-1], "rb") as fh, open(last, "wb") as out:
            while chunk := fh.read(8 << 20):
                out.write(chunk)
        os.truncate(last, 10 << 30)  # the rest a sparse zero tail (etcd's preallocation)
    seg = next(wal.glob("*.wal"))
    ours = [measure([*blackstart(), "wal", "verify", "--json", str(d)], ok=(0, 1, 2))
            for _ in range(a.runs)]
    ref = [measure(["cat", str(seg)], ok=(0,)) for _ in range(1)]
    print(f"\nwal verify of a {seg.stat().st_size / 2**30:.0f} GiB segment (sparse tail)  "
          f"[{load()}]")
    print(row("blackstart wal verify", [o[0] for o in ours], [o[1] for o in ours]))
    print(row("cat segment > /dev/null (1 run)", [r[0] for r in ref], [r[1] for r in ref]))
    doc = json.loads(ours[-1][2])
    print(f"    verdict {doc['state']}, {doc['records']} records")


def main() -> None:
    a = options(__doc__.splitlines()[0], snapshots=(int, 100, "snapshots in the backup dir"),
                snap_mb=(int, 50, "size of each snapshot"),
                puts=(int, 250_000, "small puts for the busy WAL"))
    print(load())
    config, inv = lab(a)
    cache = Path(inv["cluster"]["state_dir"]) / "cache" / "verify-cache.json"
    refs = [measure(etcdctl(inv, "endpoint", "status", "--cluster", "-w", "json"))
            for _ in range(a.runs)]
    ref = ("etcdctl endpoint status --cluster", [r[0] for r in refs], [r[1] for r in refs])
    report_check("healthy lab, cold cache", a, config, cache, cold=True, ref=ref)
    snaps = place_snapshots(a, inv, build_snapshot(a, inv))
    loop = [measure(["sh", "-c", 'for f in "$@"; do "$0" snapshot status -w json "$f" '
                     '>/dev/null; done', inv["nodes"][0]["etcdutl"], *map(str, snaps)])
            for _ in range(a.runs)]
    ref = (f"etcdutl snapshot status x{len(snaps)} (loop)", [r[0] for r in loop],
           [r[1] for r in loop])
    report_check(f"{len(snaps)} snapshots of {a.snap_mb} MB, cold cache", a, config, cache,
                 cold=True, ref=ref)
    report_check(f"{len(snaps)} snapshots, warm cache (second check)", a, config, cache, cold=False)
    busy_wal(a, inv, a.dir / f"busy-wal-{a.puts}.done")
    report_check(f"busy WAL ({a.puts} small puts) + snapshots, warm", a, config, cache, cold=False)
    wal_10g(a, inv)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "_times":
        times_main(sys.argv[2])
    else:
        main()
