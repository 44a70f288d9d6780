"""Startup of the cockpit on a real lab: launch -> first paint, launch -> verdict and every
panel populated. Healthy and in the seed outage. In-process with App.run_test (headless).

    python bench/startup.py            # targets: first paint <= 1.0 s, verdict <= 5 s
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from blackstart.checks.discovery.inventory import load_inventory  # noqa: E402
from blackstart.lab.cluster import Lab  # noqa: E402
from blackstart.tui.app import BlackstartApp, build_app  # noqa: E402

FIRST_PAINT_TARGET = 1.0
VERDICT_TARGET = 5.0
NET = os.environ.get("BENCH_NET") or sys.exit("set BENCH_NET (e.g. 127.0.71): the lab net")
LIMIT = 60.0


@dataclass
class Timing:
    first_paint: float
    verdict: float
    all_panels: float


async def measure(config: str) -> Timing:
    t0 = time.monotonic()
    app = build_app(load_inventory(config=config), refresh_interval=3600)
    async with app.run_test(size=(120, 36)) as pilot:
        # painted_at is stamped after the main screen's first refresh, before any probe.
        await _until(pilot, lambda: app.painted_at is not None)
        first = (app.painted_at or 0.0) - t0
        await _until(pilot, lambda: "members" in app.results)
        verdict = time.monotonic() - t0
        await _until(pilot, lambda: _all_reported(app))
        return Timing(first, verdict, time.monotonic() - t0)


def _all_reported(app: BlackstartApp) -> bool:
    return set(app.probes) <= set(app.results) | set(app.errors) and not app.running


async def _until(pilot: Any, cond: Any) -> None:
    deadline = time.monotonic() + LIMIT
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not get there within the limit")
        await pilot.pause(0.02)


def report(label: str, t: Timing) -> bool:
    ok = t.first_paint <= FIRST_PAINT_TARGET and t.verdict <= VERDICT_TARGET
    print(f"{label:12} first paint {t.first_paint:5.2f} s (target <= {FIRST_PAINT_TARGET} s)"
          f"   verdict {t.verdict:5.2f} s (target <= {VERDICT_TARGET} s)"
          f"   every panel {t.all_panels:5.2f} s   {'OK' if ok else 'MISSED'}")
    return ok


def main() -> int:
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR"),
                                     prefix="bench-startup-") as d:
        lab = Lab(Path(d) / "lab", net=NET)
        lab.up()
        try:
            ok = report("healthy", asyncio.run(measure(str(lab.inventory_path))))
            lab.break_fault("expire-cert", member="etcd1")
            lab.break_fault("power-cut")
            lab.break_fault("corrupt-wal", member="etcd2")
            ok &= report("seed outage", asyncio.run(measure(str(lab.inventory_path))))
        finally:
            lab.down()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
