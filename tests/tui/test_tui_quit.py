"""Quitting never waits for a probe stuck on a dead member (its thread is abandoned)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import asyncio, sys, threading, time
sys.path.insert(0, "tests/tui")
from screenshots import probes, recorded_app

async def stuck(ctx):
    threading.Event().wait(60)  # a blocking call that never answers
    return []

async def main():
    app = recorded_app("seed-outage", probes=probes("seed-outage") | {"members": stuck},
                       refresh_interval=5.0)
    async with app.run_test(size=(120, 36)) as pilot:
        others = set(app.probes) - {"members"}
        while "members" not in app.running or not others <= set(app.results):
            await pilot.pause(0.05)  # only the stuck one left: quitting waits for nothing else
        print("QUIT", time.monotonic(), flush=True)
        await pilot.press("q")

asyncio.run(main())
"""


def test_quit_with_a_stuck_probe_exits_at_once() -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=False)
    done = time.monotonic()
    assert proc.returncode == 0, proc.stderr
    quit_at = float(proc.stdout.split("QUIT", 1)[1].split()[0])
    assert done - quit_at < 3.0, f"exit took {done - quit_at:.1f}s after q"
