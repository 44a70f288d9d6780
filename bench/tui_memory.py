"""Benchmark: the cockpit's memory over a long stretch of polling.

    python bench/tui_memory.py --net 127.0.73 --config LAB.toml [--minutes 10]
                               [--refresh 2] [--trace 1]

Opens the real app (every real probe, refresh every --refresh s so they run all the time)
on a lab inventory headless under Textual's Pilot, waits for a warm-up (caches filled, the
logs panel at its line bound), then samples VmRSS every 10 s for --minutes and prints the
first and last sample, min/max and the least-squares slope in MB per 10 min, beside the
sizes of what the app keeps (results, log lines, rendered log strips, live objects).
RSS is measured with tracemalloc off (its own traces would grow with every live block);
`--trace 1` runs it on and prints the top growth instead. Target: flat within +-5 MB.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import load, options  # noqa: E402

SAMPLE_EVERY = 10.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def slope_per_10min(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB), in MB per 10 minutes."""
    n = len(samples)
    if n < 2:
        return 0.0
    mt = sum(t for t, _ in samples) / n
    mm = sum(m for _, m in samples) / n
    var = sum((t - mt) ** 2 for t, _ in samples)
    cov = sum((t - mt) * (m - mm) for t, m in samples)
    return cov / var * 600 if var else 0.0


def census() -> collections.Counter[str]:
    """Live objects by type (gc-tracked ones): what grows between two of these is kept."""
    return collections.Counter(type(o).__qualname__ for o in gc.get_objects())


def kept(app: Any) -> str:
    """What the app holds that could grow: the sizes to print beside RSS."""
    from blackstart.tui.panels.logs import LogsPanel, LogView

    logs = app.main.query_one(LogsPanel)
    results = sum(len(v) for v in app.results.values())
    return (f"results {results}, log lines {logs.line_count}, "
            f"log strips {len(logs.query_one(LogView).lines)}, "
            f"workers {len(app.workers._workers)}, gc objects {len(gc.get_objects())}")


async def run(a: Any) -> None:
    from blackstart.cli.check import cluster_from_options
    from blackstart.runbook.verify_cache import VerifyCache
    from blackstart.tui.app import build_app

    cluster = cluster_from_options(config=str(a.config))
    app = build_app(cluster, refresh_interval=a.refresh, store=VerifyCache(cluster.state_dir))
    async with app.run_test(size=(140, 44)) as pilot:
        await asyncio.sleep(a.warm)
        if a.trace:
            tracemalloc.start()
            snap0 = tracemalloc.take_snapshot()
        samples: list[tuple[float, float]] = []
        types0 = census()
        t0 = time.monotonic()
        print(f"  t=   0 s  RSS {rss_mb():6.1f} MB  {kept(app)}", flush=True)
        while time.monotonic() - t0 < a.minutes * 60:
            await asyncio.sleep(SAMPLE_EVERY)
            samples.append((time.monotonic() - t0, rss_mb()))
            if len(samples) % 6 == 0:
                print(f"  t={samples[-1][0]:4.0f} s  RSS {samples[-1][1]:6.1f} MB  {kept(app)}",
                      flush=True)
        rss = [m for _, m in samples]
        print(f"RSS over {a.minutes:g} min of polling (every {a.refresh:g} s, after "
              f"{a.warm:g} s warm-up): {rss[0]:.1f} -> {rss[-1]:.1f} MB (min {min(rss):.1f}, "
              f"max {max(rss):.1f}), slope {slope_per_10min(samples):+.2f} MB/10 min "
              f"({'OK' if max(rss) - min(rss) <= 10 else 'MISSED'} flat +-5 MB"
              f"{', tracemalloc on' if a.trace else ''})")
        grown = census()
        grown.subtract(types0)
        print("  live objects grown most: " + ", ".join(
            f"{name} {n:+d}" for name, n in grown.most_common(8)))
        if a.trace:
            for stat in tracemalloc.take_snapshot().compare_to(snap0, "lineno")[:8]:
                print(f"  tracemalloc {stat}")
        await pilot.press("q")


def main() -> None:
    a = options(__doc__.splitlines()[0], config=(Path, None, "lab inventory to use"),
                minutes=(float, 10.0, "minutes of polling measured"),
                refresh=(float, 2.0, "the probes' refresh interval, seconds"),
                warm=(float, 60.0, "seconds of polling before the first sample"),
                trace=(int, 0, "1: tracemalloc on (RSS then includes its traces)"))
    if a.config is None:
        raise SystemExit("--config LAB.toml is required (blackstart lab up prints it)")
    print(load())
    asyncio.run(run(a))
    print(load())


if __name__ == "__main__":
    main()
