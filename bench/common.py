"""What every bench shares: the options (lab net, data/cache dir, runs), measuring a
command's wall time and peak RSS, the median, and the load average to print beside it.

No bench has a fixed address or path: the lab net comes from `--net` (or $BENCH_NET),
the dir where data is built once and kept from `--dir` (or $BENCH_DIR, default
~/.cache/blackstart-bench).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def options(description: str, **extra: tuple[type, object, str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--net", default=os.environ.get("BENCH_NET"),
                   help="loopback /24 for anything started (three octets, e.g. 127.0.71); "
                        "default $BENCH_NET")
    p.add_argument("--dir", type=Path,
                   default=Path(os.environ.get("BENCH_DIR") or
                                Path.home() / ".cache" / "blackstart-bench"),
                   help="where data is built once and kept (default $BENCH_DIR or "
                        "~/.cache/blackstart-bench)")
    p.add_argument("--runs", type=int, default=3, help="measured runs (median shown)")
    for name, (kind, default, text) in extra.items():
        p.add_argument(f"--{name.replace('_', '-')}", type=kind, default=default, help=text)
    a = p.parse_args()
    if not a.net or not a.net.startswith("127.") or a.net.count(".") != 2:
        p.error("--net 127.X.Y (or $BENCH_NET) is required: the loopback /24 to use")
    a.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return a


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} {five:.1f} {fifteen:.1f} on {os.cpu_count()} cores"


def blackstart() -> list[str]:
    script = Path(sys.executable).parent / "blackstart"
    return [str(script)] if script.exists() else [sys.executable, "-m", "blackstart"]


def measure(argv: list[str], ok: tuple[int, ...] = (0,), timeout: float = 900,
            env: dict[str, str] | None = None) -> tuple[float, float, bytes]:
    """(wall seconds, peak RSS MB, stdout) of one run, RSS from /usr/bin/time (a child's
    wait4 rusage would count the forking Python's own pages)."""
    with tempfile.NamedTemporaryFile("r") as tf:
        start = time.perf_counter()
        res = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", tf.name, *argv],
                             capture_output=True, timeout=timeout, check=False, env=env)
        wall = time.perf_counter() - start
        if res.returncode not in ok:
            raise SystemExit(f"{argv[0]} exited {res.returncode}: {res.stderr[-400:]!r}")
        return wall, int(tf.read().split()[-1]) / 1024, res.stdout


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def row(name: str, walls: list[float], rss: list[float], ref: float | None = None) -> str:
    w = median(walls)
    ratio = f"{w / ref:7.2f}x" if ref else " " * 8
    return (f"  {name:44} {w:8.3f} s {ratio}  RSS {max(rss):7.1f} MB   "
            f"(runs: {', '.join(f'{x:.3f}' for x in walls)})")
