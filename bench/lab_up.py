"""`lab up` of a new lab to 3/3 healthy (seeded), per shape: kubeadm (every node its own
namespaces, kubelet, sshd), systemd (the same with a real systemd as PID 1) beside the flat
lab; also a kubeadm power cut -> `lab up` again.

    python bench/lab_up.py [--net 127.0.41] [--dir DIR] [--runs 3]
    # target: kubeadm <= 10 s on 2 cores

Each run makes a fresh lab under DIR (a temp dir by default), measures, and brings it down.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from blackstart.lab.cluster import Lab  # noqa: E402
from blackstart.lab.shapes import open_lab  # noqa: E402

TARGET = 10.0


def one(shape: str, dir_: Path, net: str, power_cut: bool) -> tuple[float, float | None]:
    """(seconds to a healthy new lab, seconds for `up` after a power cut or None)."""
    lab: Lab = open_lab(dir_, shape=shape, net=net)
    try:
        t0 = time.monotonic()
        st = lab.up()
        took = time.monotonic() - t0
        if st["healthy"] != lab.members:
            raise SystemExit(f"{shape}: only {st['healthy']}/{lab.members} healthy after up")
        again = None
        if power_cut:
            lab.break_fault("power-cut")
            t1 = time.monotonic()
            if lab.up()["healthy"] != lab.members:
                raise SystemExit(f"{shape}: not healthy after the power came back")
            again = time.monotonic() - t1
        return took, again
    finally:
        lab.down()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--net", default="127.0.41", help="lab net (three octets in 127/8)")
    p.add_argument("--dir", default=None, help="where the labs go (default: a temp dir)")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    base = Path(args.dir or tempfile.mkdtemp(prefix="bench-lab-up-"))
    results: dict[str, list[float]] = {"kubeadm": [], "systemd": [], "flat": []}
    back: list[float] = []
    for i in range(args.runs):
        for shape, times in results.items():
            took, again = one(shape, base / f"{shape}-{i}", args.net, shape == "kubeadm")
            times.append(took)
            if again is not None:
                back.append(again)
    for shape, xs in results.items():
        print(f"lab up --shape {shape:7}: median {statistics.median(xs):5.2f} s  "
              f"(runs: {', '.join(f'{x:.2f}' for x in xs)})")
    print(f"kubeadm power cut -> lab up: median {statistics.median(back):5.2f} s")
    worst = max(results["kubeadm"])
    print(f"target kubeadm <= {TARGET:g} s: {'met' if worst <= TARGET else 'MISSED'} "
          f"(worst {worst:.2f} s)")


if __name__ == "__main__":
    main()
