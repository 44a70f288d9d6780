"""Benchmark: a 3-member restore of a >= 500 MB snapshot, the runbook plan vs by hand.

    python bench/restore.py --net 127.0.71 [--dir DIR] [--runs 3]

Starts a lab on --net in DIR/lab-restore, fills it to > 500 MB (100 KB values), saves a
snapshot (kept in DIR, built once), then
alternately restores the cluster from it
  - with the plan (`plan_for("restore")` + `execute`: sha256 of the snapshot on every
    node, stop + confirmed-stopped, move aside, etcdutl restore, start, quorum wait,
    hashkv verification), and
  - by hand, as the runbook an operator follows: the same stop commands, mv, etcdutl
    snapshot restore ×3, the same start commands, wait for health.
Only etcd services take part in both (the control-plane stand-ins are left out of the
plan's cluster), so the two do the same work apart from the plan's checks.
Prints the median wall time of each and the overhead ratio; target <= 1.1x by hand.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import load, options  # noqa: E402

from blackstart.checks.discovery.inventory import load_inventory  # noqa: E402
from blackstart.checks.model import Cluster
from blackstart.lab.cluster import Lab  # noqa: E402
from blackstart.runbook.executor import execute  # noqa: E402
from blackstart.runbook.planner import plan_for  # noqa: E402

KEYS, VALUE = 5200, 100_000
MIN_SIZE = 500_000_000


def fill(lab: Lab) -> None:
    c = lab.client(timeout=30)
    blob = os.urandom(VALUE)
    try:
        for i in range(KEYS):
            c.put(f"/registry/bench/{i:06d}", blob[i % 97:] + blob[: i % 97])
    finally:
        c.close()


def save(lab: Lab, path: Path) -> None:
    c = lab.client(timeout=300)
    try:
        with open(path, "wb") as fh:
            c.snapshot(fh)
    finally:
        c.close()


def etcd_only(cluster: Cluster) -> Cluster:
    return dataclasses.replace(cluster, services=tuple(cluster.services_named("etcd")))


def by_plan(cluster: Cluster, snap: Path) -> tuple[float, float]:
    t0 = time.monotonic()
    from blackstart.checks.requests import Restore
    from blackstart.cli.runbook import source_ref

    request = Restore(source_ref(cluster, str(snap), cluster.members[0].node),
                      force_reason="bench: restore a healthy lab on purpose")
    plan = plan_for(request, cluster, operator="bench")
    t1 = time.monotonic()
    res = asyncio.run(execute(plan, cluster, operator="bench"))
    if not res.ok:
        raise SystemExit(f"plan failed: {res.error}")
    return t1 - t0, time.monotonic() - t0


def _port_closed(url: str) -> bool:
    from blackstart.runbook.runner import port_open

    return not port_open(url)


def by_hand(lab: Lab, cluster: Cluster, snap: Path) -> float:
    t0 = time.monotonic()
    svcs = {s.member: s for s in cluster.services_named("etcd")}
    initial = ",".join(f"{m.name}={m.peer_url}" for m in cluster.members)
    for m in cluster.members:
        subprocess.run(svcs[m.name].stop, check=True, capture_output=True)
        while not _port_closed(m.client_url):
            time.sleep(0.1)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    for m in cluster.members:
        os.rename(m.data_dir, f"{m.data_dir}.hand-{stamp}")
        subprocess.run([cluster.node(m.node).etcdutl, "snapshot", "restore", str(snap),
                        "--name", m.name, "--data-dir", m.data_dir,
                        "--initial-cluster", initial, "--initial-cluster-token",
                        f"hand-{stamp}", "--initial-advertise-peer-urls", m.peer_url],
                       check=True, capture_output=True)
    for m in cluster.members:
        subprocess.run(svcs[m.name].start, check=True, capture_output=True)
    lab.wait_healthy(120)
    return time.monotonic() - t0


def main() -> None:
    a = options(__doc__.splitlines()[0])
    rounds = a.runs
    print(load())
    lab = Lab(a.dir / "lab-restore", net=a.net)
    try:
        lab.up()
        snap = a.dir / "restore-500m.db"
        if not snap.exists() or snap.stat().st_size < MIN_SIZE:
            t = time.monotonic()
            fill(lab)
            save(lab, snap)
            print(f"snapshot built in {time.monotonic() - t:.0f}s")
        size = snap.stat().st_size
        print(f"snapshot: {size / 1e6:.0f} MB ({KEYS} keys of {VALUE // 1000} KB)")
        if size < MIN_SIZE:
            raise SystemExit(f"snapshot only {size} bytes (< {MIN_SIZE})")
        cluster = etcd_only(load_inventory(config=str(lab.inventory_path)))
        plans, hands = [], []
        for _ in range(rounds):
            plans.append(by_plan(cluster, snap))
            hands.append(by_hand(lab, cluster, snap))
        plan_time = sorted(p[1] for p in plans)[rounds // 2]  # medians: a shared box
        hand = sorted(hands)[rounds // 2]
        print(f"plan (incl. planning {min(p[0] for p in plans):.1f}s): "
              f"{plan_time:.1f}s  runs {[round(p[1], 1) for p in plans]}")
        print(f"by hand: {hand:.1f}s  runs {[round(h, 1) for h in hands]}")
        print(f"plan / by hand (medians): {plan_time / hand:.2f}x (target <= 1.10x)  [{load()}]")
    finally:
        lab.down()


if __name__ == "__main__":
    main()
