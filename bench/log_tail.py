"""Benchmark: classify the last 10,000 lines of a 1 GB kube-apiserver CRI log.

Generates (once, cached under /tmp/blackstart-bench/) a 1 GiB CRI file of klog lines in a
realistic mix (mostly info chatter, bursts of grpc dial failures, deadline errors, TLS
errors, the odd partial `P` line and a few very long lines), then runs the same code path
the probe uses on a local file (`checks.probes.logs.probe_logs` over a LocalNode) and prints
its wall time and peak memory against the targets (≤ 0.2 s, < 50 MB).

    .venv/bin/python bench/log_tail.py [--size BYTES] [--lines N]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from blackstart.checks.model import Cluster, LogSource, Node
from blackstart.checks.probes.context import ProbeContext  # noqa: E402
from blackstart.checks.probes.logs import probe_logs  # noqa: E402

CACHE = Path(os.environ.get("BENCH_DIR") or Path.home() / ".cache" / "blackstart-bench")
TARGET_SECONDS = 0.2
TARGET_MB = 50.0

CHATTER = [
    'I{d} {t}       1 httplog.go:132] "HTTP" verb="GET" URI="/api/v1/namespaces/kube-system/'
    'pods?limit=500" latency="{ms}ms" userAgent="kubectl/v1.30.2" audit-ID="{id}" '
    'srcIP="127.0.0.1:{port}" resp=200',
    'I{d} {t}       1 trace.go:236] Trace[{id}]: "List" accept:application/json,'
    'audit-id:{id},client:127.0.0.1,api-group:,api-version:v1,name:,subresource:,'
    'namespace:kube-system,protocol:HTTP/2.0,resource:pods,scope:namespace,url:/api/v1/pods '
    '(26-Nov-2026 01:02:03.000) (total time: {ms}ms):',
    "I{d} {t}       1 controller.go:615] quota admission added evaluator for: leases."
    "coordination.k8s.io",
    "W{d} {t}       1 watcher.go:338] watch chan error: etcdserver: mvcc: required revision "
    "has been compacted",
]
FAULTS = [
    "W{d} {t}       1 logging.go:59] [core] [Channel #5 SubChannel #6] grpc: addrConn."
    'createTransport failed to connect to {{Addr: "127.0.0.1:2379", ServerName: '
    '"127.0.0.1", }}. Err: connection error: desc = "transport: Error while dialing: dial '
    'tcp 127.0.0.1:2379: connect: connection refused"',
    'E{d} {t}       1 status.go:71] apiserver received an error that is not an metav1.Status:'
    ' &errors.errorString{{s:"context deadline exceeded"}}: context deadline exceeded',
    "W{d} {t}       1 logging.go:59] [core] grpc: addrConn.createTransport failed to connect "
    '...Err: connection error: desc = "transport: authentication handshake failed: x509: '
    'certificate has expired or is not yet valid: current time {t} is after ..."',
    "E{d} {t}       1 healthz.go:261] etcd check failed: healthz [-]etcd failed: error "
    "getting data from etcd: context deadline exceeded",
]


def _lines(rng: random.Random, start: dt.datetime, count: int) -> list[str]:
    out = []
    for i in range(count):
        now = start + dt.timedelta(microseconds=i * 1700)
        ts = now.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"
        d, t = now.strftime("%m%d"), now.strftime("%H:%M:%S.%f")
        pool = FAULTS if rng.random() < 0.15 else CHATTER
        msg = rng.choice(pool).format(d=d, t=t, ms=rng.randint(1, 900),
                                      id=rng.getrandbits(48), port=rng.randint(30000, 60000))
        if rng.random() < 0.0005:
            msg += " body=" + "x" * rng.randint(10_000, 200_000)  # a huge request dump
        if rng.random() < 0.01:  # the runtime split a long line: P then F
            cut = len(msg) // 2
            out.append(f"{ts} stderr P {msg[:cut]}\n")
            msg = msg[cut:]
        out.append(f"{ts} stderr F {msg}\n")
    return out


def ensure_log(size: int) -> Path:
    """The cached benchmark log of at least `size` bytes (generated once)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"kube-apiserver-{size}.log"
    if path.exists() and path.stat().st_size >= size:
        return path
    tmp = path.with_suffix(".part")
    rng = random.Random(42)
    start = dt.datetime(2026, 11, 26, 0, 0, tzinfo=dt.UTC)
    written = 0
    t0 = time.perf_counter()
    with open(tmp, "w", encoding="utf-8") as fh:
        while written < size:
            block = "".join(_lines(rng, start, 20_000))
            fh.write(block)
            written += len(block.encode())
            start += dt.timedelta(seconds=34)
    os.replace(tmp, path)
    print(f"generated {path} ({written / 2**30:.2f} GiB) in {time.perf_counter() - t0:.0f}s")
    return path


def _context(path: Path) -> ProbeContext:
    cluster = Cluster("bench", nodes=(Node("local"),), members=(),
                      logs=(LogSource("local", "cri", str(path)),))
    return ProbeContext(cluster)


async def _probe(path: Path, n: int) -> int:
    ctx = _context(path)
    try:
        lines = await probe_logs(ctx, max_lines=n)
    finally:
        await ctx.close()
    return len(lines)


def measure(path: Path, n: int, runs: int = 5) -> tuple[float, float, float, int, int]:
    """(median wall s, median CPU s, peak MB under tracemalloc, lines, classified lines).

    CPU time (all threads of this process) is printed too: on a shared 2-core box other
    processes inflate the wall time, not the work done.
    """
    times, cpus = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        got = asyncio.run(_probe(path, n))
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    tracemalloc.start()
    ctx = _context(path)
    lines = asyncio.run(probe_logs(ctx, max_lines=n))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    hits = sum(1 for ln in lines if ln.signature)
    return statistics.median(times), statistics.median(cpus), peak / 1e6, got, hits


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1 << 30)
    ap.add_argument("--lines", type=int, default=10_000)
    ap.add_argument("--dir", type=Path, default=None, help="data dir (default $BENCH_DIR or "
                                                          "~/.cache/blackstart-bench)")
    ap.add_argument("--net", default=None, help="unused: this bench starts no server")
    args = ap.parse_args()
    if args.dir is not None:
        global CACHE  # noqa: PLW0603 - the one knob a bench run sets
        CACHE = args.dir
    path = ensure_log(args.size)
    secs, cpu, peak_mb, got, hits = measure(path, args.lines)
    ok_t, ok_m = secs <= TARGET_SECONDS, peak_mb < TARGET_MB
    print(f"file: {path} ({path.stat().st_size / 2**30:.2f} GiB)")
    print(f"lines returned: {got} (classified as known signatures: {hits})")
    print(f"wall time (median of 5): {secs * 1000:.0f} ms   target <= "
          f"{TARGET_SECONDS * 1000:.0f} ms   {'OK' if ok_t else 'MISSED'}   "
          f"(CPU time {cpu * 1000:.0f} ms; load average {os.getloadavg()[0]:.1f})")
    print(f"peak memory (tracemalloc): {peak_mb:.1f} MB   target < {TARGET_MB:.0f} MB   "
          f"{'OK' if ok_m else 'MISSED'}")
    return 0 if ok_t and ok_m else 1


if __name__ == "__main__":
    sys.exit(main())
