"""Benchmark: TUI key-to-repaint latency while every probe runs, and memory over polling.

    python bench/tui_latency.py --net 127.0.71 [--dir DIR] [--config LAB.toml]
                                [--keys 60] [--minutes 2]

Opens the real app (every real probe, refresh every 2 s so they run all the time) on a
lab inventory headless under Textual's Pilot, and sends keys straight to the driver
*without* waiting for idle (Pilot.press would wait): '?' then escape, each of which must
repaint. Latency = key sent -> the next frame the app composes (App._display). Then it
keeps polling for --minutes and reports RSS (VmRSS) at the start and end and the top
tracemalloc growth. Without --config it uses (or starts) check_probes.py's lab in DIR/lab-check.
Target: p90 <= 50 ms; RSS flat within +-5 MB.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import blackstart, load, options  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def lab_config(a: Any) -> Path:
    if a.config:
        return Path(a.config)
    d = a.dir / "lab-check"  # check_probes.py's lab: busy WAL, 100 snapshots
    subprocess.run([*blackstart(), "lab", "up", "--dir", str(d), "--shape", "flat", "--net",
                    a.net], check=True, capture_output=True, timeout=300)
    return d / "blackstart.toml"


async def keys_latency(app: Any, pilot: Any, n: int) -> list[float]:
    from textual import events

    frames: list[float] = []
    real = app._display

    def display(screen: Any, renderable: Any) -> None:
        frames.append(time.perf_counter())
        real(screen, renderable)

    app._display = display
    out = []
    for i in range(n):
        key, char = ("question_mark", "?") if i % 2 == 0 else ("escape", None)
        before = len(frames)
        sent = time.perf_counter()
        app._driver.send_message(events.Key(key, char))
        end = sent + 5
        while len(frames) == before and time.perf_counter() < end:
            await asyncio.sleep(0.001)
        if len(frames) > before:
            out.append(frames[before] - sent)
        await asyncio.sleep(0.15)  # the next key without waiting for the app to be idle
    return out


def count_renders(app: Any) -> list[float]:
    """The UI thread's CPU seconds of each report render (a load-independent figure)."""
    spent: list[float] = []
    real = app._render_report

    def render() -> None:
        t = time.thread_time()
        real()
        spent.append(time.thread_time() - t)

    app._render_report = render
    return spent


async def run(a: Any, config: Path) -> None:
    from blackstart.cli.check import cluster_from_options
    from blackstart.runbook.verify_cache import VerifyCache
    from blackstart.tui.app import build_app

    cluster = cluster_from_options(config=str(config))
    app = build_app(cluster, refresh_interval=2.0, store=VerifyCache(cluster.state_dir))
    async with app.run_test(size=(140, 44)) as pilot:
        await asyncio.sleep(1.0)  # the first probe round is under way
        renders = count_renders(app)
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        lat = sorted(await keys_latency(app, pilot, a.keys))
        cpu, wall = time.thread_time() - cpu0, time.perf_counter() - wall0
        p50, p90 = lat[len(lat) // 2], lat[int(len(lat) * 0.9) - 1]
        print(f"key-to-repaint over {len(lat)} keys while probes run: p50 {p50 * 1e3:.1f} ms, "
              f"p90 {p90 * 1e3:.1f} ms, max {lat[-1] * 1e3:.1f} ms "
              f"({'OK' if p90 <= 0.05 else 'MISSED'} p90 <= 50 ms)")
        print(f"  UI thread CPU {cpu:.2f} s over {wall:.1f} s ({cpu / wall:.0%}); "
              f"{len(renders)} report renders, {sum(renders) * 1e3:.0f} ms CPU "
              f"({sum(renders) / max(1, len(renders)) * 1e3:.1f} ms each)")
        if a.minutes > 0:
            await memory(a)
        await pilot.press("q")


async def memory(a: Any) -> None:
    """RSS with tracemalloc on (bench/tui_memory.py measures it alone, with a slope)."""
    tracemalloc.start()
    await asyncio.sleep(20)  # warm: caches filled, every probe ran a few times
    start, snap0 = rss_mb(), tracemalloc.take_snapshot()
    t0 = time.monotonic()
    samples = []
    while time.monotonic() - t0 < a.minutes * 60:
        await asyncio.sleep(10)
        samples.append(rss_mb())
    snap1 = tracemalloc.take_snapshot()
    end = rss_mb()
    print(f"RSS over {a.minutes:g} min of polling (every 2 s): {start:.1f} -> {end:.1f} MB "
          f"(min {min(samples):.1f}, max {max(samples):.1f}; "
          f"{'OK' if abs(end - start) <= 5 else 'MISSED'} +-5 MB)")
    for stat in snap1.compare_to(snap0, "lineno")[:5]:
        print(f"  tracemalloc {stat}")


def main() -> None:
    a = options(__doc__.splitlines()[0], config=(str, None, "lab inventory to use"),
                keys=(int, 60, "keys to send"),
                minutes=(float, 2.0, "minutes of polling (0: keys only)"))
    print(load())
    config = lab_config(a)
    asyncio.run(run(a, config))
    print(load())


if __name__ == "__main__":
    main()
