"""Benchmark: inventory of N (1,000) objects in one S3 location, beside what the store
itself costs, all in the same run against one moto server on loopback.

Figures (median of --rounds, load average printed; wall time, and the CPU seconds spent
by blackstart's process and by moto's, which a loaded box inflates far less than wall):
  raw GET      the ListObjectsV2 request over plain HTTP, unparsed: moto's own cost
  bare boto3   `list_objects_v2` through a default boto3 client (dateutil timestamps)
  cold         the `backups` probe with no state-dir cache and no client yet: client,
               listing and a HEAD per object (16 at a time)
  warm         the probe again in the same process, the state dir's cache present (as a
               TUI refresh): the listing only, the location's client reused; its cache
               write (the CLI's, not the TUI's) apart
  CLI warm     `blackstart backups list` in a fresh process, cache present: Python start,
               imports, client, listing, cache write

By default moto runs as its own process (`moto_server`), as a store does; `--moto thread`
runs it inside the bench (ThreadedMotoServer), sharing the GIL with the client.

    .venv/bin/python bench/s3_inventory.py [--net 127.0.61] [--objects 1000] [--rounds 3]
                                           [--moto process|thread]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from blackstart.checks.model import BackupLocation, Cluster, Member, Node  # noqa: E402
from blackstart.checks.probes.engine import run_checks  # noqa: E402
from blackstart.runbook.backup_cache import remember  # noqa: E402

BUCKET, PREFIX = "inventory", "lab/"


class Moto:
    """A moto S3 server on `host`: its own process, or a thread of this one."""

    def __init__(self, host: str, mode: str) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.thread: Any = None
        if mode == "thread":
            import logging

            from moto.server import ThreadedMotoServer

            logging.getLogger("werkzeug").setLevel(logging.ERROR)
            self.thread = ThreadedMotoServer(ip_address=host, port=0, verbose=False)
            self.thread.start()
            port = int(self.thread.get_host_and_port()[1])
        else:
            port = _free_port(host)
            exe = Path(sys.executable).parent / "moto_server"
            self.proc = subprocess.Popen([str(exe), "-H", host, "-p", str(port)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _wait_port(host, port)
        self.endpoint = f"http://{host}:{port}"

    def stop(self) -> None:
        if self.thread is not None:
            self.thread.stop()
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(30)


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _wait_port(host: str, port: int) -> None:
    for _ in range(300):
        with socket.socket() as s:
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"moto_server did not listen on {host}:{port}")


def boto3_client(endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


def fill(endpoint: str, n: int) -> None:
    cl = boto3_client(endpoint)
    cl.create_bucket(Bucket=BUCKET)
    body = b"x" * 4096

    def put(i: int) -> None:
        cl.put_object(Bucket=BUCKET, Key=f"{PREFIX}c-snapshot-{i:05d}.db", Body=body,
                      ChecksumAlgorithm="SHA256",
                      Metadata={"blackstart-sha256": "0" * 64, "blackstart-checksum": "x"})

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, range(n)))


def location(endpoint: str) -> BackupLocation:
    return BackupLocation("s3", "s3", "offsite", endpoint=endpoint, bucket=BUCKET,
                          prefix=PREFIX, region="us-east-1")


def cluster_for(state: Path, net: str, loc: BackupLocation) -> Cluster:
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    m = Member("m1", "local", f"http://{net}.9:2379", f"http://{net}.9:2380",
               str(state.parent / "data"))
    return Cluster("bench", (Node("local"),), (m,), backups=(loc,), state_dir=str(state))


def config_toml(work: Path, net: str, endpoint: str, state: Path) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    path = work / "blackstart.toml"
    path.write_text(f"""[cluster]
name = "bench"
state_dir = "{state}"

[[nodes]]
name = "local"

[[members]]
name = "m1"
node = "local"
client_url = "http://{net}.9:2379"
peer_url = "http://{net}.9:2380"
data_dir = "{work / 'data'}"

[[backups]]
name = "s3"
kind = "s3"
endpoint = "{endpoint}"
bucket = "{BUCKET}"
prefix = "{PREFIX}"
region = "us-east-1"
domain = "offsite"
""")
    return path


@dataclass
class Sample:
    wall: float
    ours: float  # CPU seconds of this process and its children during the call
    store: float | None  # CPU seconds of the moto process (None: moto runs in-process)


def store_cpu(pid: int | None) -> float | None:
    if pid is None:
        return None
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime+stime


def own_cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def measured(fn: Callable[[], object], pid: int | None) -> Sample:
    s0, c0, t0 = store_cpu(pid), own_cpu(), time.perf_counter()
    fn()
    wall, ours, s1 = time.perf_counter() - t0, own_cpu() - c0, store_cpu(pid)
    return Sample(wall, ours, None if s0 is None or s1 is None else s1 - s0)


def probe(cluster: Cluster, n: int, deadline: float, headed: bool) -> list[Any]:
    report = asyncio.run(run_checks(cluster, probes=["backups"], deadline=deadline))
    st = report.backups[0]
    assert st.error is None and not st.stale and len(st.copies) == n, (st.error, st.stale)
    if headed:  # every HEAD landed: the cold figure is the whole job
        assert all(c.meta for c in st.copies), sum(1 for c in st.copies if c.meta)
    return report.backups


def raw_get(endpoint: str, n: int) -> None:
    url = f"{endpoint}/{BUCKET}?list-type=2&prefix={PREFIX}&encoding-type=url"
    with urllib.request.urlopen(url, timeout=120) as r:
        assert r.read().count(b"<Key>") == n


def bare_listing(client: Any, n: int) -> None:
    assert client.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX)["KeyCount"] == n


def cli_list(config: Path) -> None:
    exe = Path(sys.executable).parent / "blackstart"
    res = subprocess.run([str(exe), "backups", "list", "--config", str(config),
                          "--deadline", "30"],
                         capture_output=True, timeout=300, check=False)
    assert res.returncode == 0 and b"(cached)" not in res.stdout, (res.stdout[:500],
                                                                   res.stderr[-2000:])


FIGURES = {"raw": "raw GET (moto alone)", "bare": "bare boto3 list_objects_v2",
           "cold": "blackstart cold (HEAD each)", "warm": "blackstart warm (cached)",
           "remember": "  its cache write", "cli": "CLI `backups list` warm"}


def run(endpoint: str, work: Path, net: str, n: int, rounds: int, *, pid: int | None = None
        ) -> dict[str, list[Sample]]:
    from blackstart.checks.probes import s3client

    fill(endpoint, n)
    loc = location(endpoint)
    client = boto3_client(endpoint)
    bare_listing(client, n)  # its connection open, as the probe's is when warm
    out: dict[str, list[Sample]] = {k: [] for k in FIGURES}
    states: list[Any] = []
    for i in range(rounds):  # cold: a fresh state dir and no client each round
        s3client.forget_shared()
        cold = cluster_for(work / f"state-cold-{i}", net, loc)
        out["cold"].append(measured(lambda c=cold: states.append(
            probe(c, n, 120.0, headed=True)), pid))
        remember(cold.state_dir, states[-1])
    warm = cluster_for(work / "state-cold-0", net, loc)
    config = config_toml(work, net, endpoint, work / "state-cold-0")
    for _ in range(rounds):  # interleaved, so load drifts hit all figures alike
        out["raw"].append(measured(lambda: raw_get(endpoint, n), pid))
        out["bare"].append(measured(lambda: bare_listing(client, n), pid))
        out["warm"].append(measured(lambda: states.append(
            probe(warm, n, 30.0, headed=False)), pid))
        out["remember"].append(measured(lambda: remember(warm.state_dir, states[-1]), pid))
        out["cli"].append(measured(lambda: cli_list(config), pid))
    return out


def _cpu(x: float | None) -> str:
    return "   n/a" if x is None else f"{x:6.2f}"


def report(n: int, figures: dict[str, list[Sample]], mode: str) -> bool:
    """Medians: wall, our CPU, the store's CPU; and the per-round wall ratio to the raw
    GET (the store's own answer), which a load change moves far less than the walls."""
    print(f"inventory of {n} objects, moto as a {mode} (median of {len(figures['raw'])}):")
    print(f"  {'':<30} {'wall s':>7} {'our CPU':>7} {'moto CPU':>8}   wall rounds")
    med: dict[str, float] = {}
    for k, label in FIGURES.items():
        xs = figures[k]
        med[k] = statistics.median(x.wall for x in xs)
        ours = statistics.median(x.ours for x in xs)
        stores = [x.store for x in xs if x.store is not None]
        store = statistics.median(stores) if stores else None
        print(f"  {label:<30} {med[k]:7.2f} {ours:7.2f} {_cpu(store):>8}   "
              f"{[round(x.wall, 2) for x in xs]}")
    ratio = statistics.median(w.wall / r.wall for w, r in zip(figures["warm"], figures["raw"],
                                                              strict=True))
    ok = med["warm"] < 2.0
    print(f"  warm / raw GET per round: {ratio:.2f}x; warm - bare listing "
          f"{med['warm'] - med['bare']:+.2f} s; target < 2 s: {'PASS' if ok else 'FAIL'} "
          "(warm)")
    return ok


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--net", default="127.0.61", help="loopback /24 for moto")
    p.add_argument("--objects", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--moto", choices=("process", "thread"), default="process")
    a = p.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    work = Path(tempfile.mkdtemp(prefix="blackstart-bench-s3inv-"))
    print(f"before: load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    moto = Moto(f"{a.net}.1", a.moto)
    try:
        pid = moto.proc.pid if moto.proc is not None else None
        figures = run(moto.endpoint, work, a.net, a.objects, a.rounds, pid=pid)
    finally:
        moto.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"after: load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} cores")
    report(a.objects, figures, a.moto)


if __name__ == "__main__":
    main()
