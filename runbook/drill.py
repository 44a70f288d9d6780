"""Restore drills: prove the newest copy of a location restores, on a throwaway etcd.

For each location: fetch its newest copy into a workspace under the state dir (an S3 copy
is downloaded; a file on this machine is read in place), read its revision and its `key`
bucket with the bbolt walker, `etcdutl snapshot restore` it (which checks the sha256
trailer) into the workspace, start a single-member etcd there on loopback (random free
ports, its own data dir), and check: it answers; its revision is the snapshot's; hashkv
is the same on two reads; and after it stops, its db holds every revision of the
snapshot's `key` bucket. The result (when, which copy, pass/fail, duration) is appended
to `drills.jsonl` in the state dir (0600); the workspace is removed after (blackstart's own
files, never operator data).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from blackstart.checks.formats.bbolt import read_db
from blackstart.checks.formats.bbolt_summary import DbSummary
from blackstart.checks.formats.snapshot_file import TRAILER, has_trailer
from blackstart.checks.model import BackupLocation, Cluster
from blackstart.checks.probe_results import DrillRecord
from blackstart.checks.probes import s3read
from blackstart.checks.probes.backups import drills_path, is_snapshot_name
from blackstart.runbook import s3store

START_TIMEOUT = 60.0


class DrillFailed(Exception):
    """One check of the drill failed; the message says which and what was seen."""


def tools(cluster: Cluster, etcd: str | None = None, etcdutl: str | None = None
          ) -> tuple[str, list[str]]:
    """(etcd binary, restore argv0): given, else beside this machine's etcdutl, else PATH.
    etcd 3.4 has no etcdutl: `etcdctl snapshot restore` then."""
    local = next((n for n in cluster.nodes if n.is_local), None)
    util = etcdutl or (local.etcdutl if local and local.etcdutl else "") or "etcdutl"
    util_path = shutil.which(util)
    if util_path is None:
        ctl = shutil.which(local.etcdctl if local else "etcdctl")
        if ctl is None:
            raise DrillFailed("neither etcdutl nor etcdctl found: pass --etcdutl PATH")
        argv0 = [ctl]
        near = os.path.dirname(ctl)
    else:
        argv0 = [util_path]
        near = os.path.dirname(util_path)
    server = etcd or (os.path.join(near, "etcd") if os.path.isfile(os.path.join(near, "etcd"))
                      else shutil.which("etcd"))
    if not server:
        raise DrillFailed("no etcd binary found beside etcdutl or on PATH: pass --etcd PATH")
    return server, argv0


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def newest_copy(cluster: Cluster, loc: BackupLocation) -> tuple[str, float, Any]:
    """(name, mtime, handle) of the newest snapshot: a local path or an S3Object."""
    if loc.kind == "s3":
        objs = [o for o in s3read.list_objects(s3read.s3_client(loc), loc)
                if is_snapshot_name(o.name)]
        if not objs:
            raise DrillFailed(f"backup location {loc.name} holds no snapshot")
        return objs[0].name, objs[0].mtime, objs[0]
    node = cluster.node(loc.node or "")
    if not node.is_local:
        raise DrillFailed(f"backup location {loc.name} is on node {node.name}: drills read "
                          "dir locations on this machine only (copy it here, or drill the "
                          "S3 copy)")
    try:
        files = [e for e in os.scandir(loc.path or "") if e.is_file()
                 and is_snapshot_name(e.name)]
    except OSError as exc:
        raise DrillFailed(f"backup location {loc.name}: {exc}") from exc
    if not files:
        raise DrillFailed(f"backup location {loc.name} holds no snapshot")
    best = max(files, key=lambda e: e.stat().st_mtime)
    return best.name, best.stat().st_mtime, best.path


def _fetch(loc: BackupLocation, handle: Any, ws: Path) -> str:
    if loc.kind != "s3":
        return str(handle)
    dst = str(ws / handle.name)
    sha = s3store.download(loc, handle.key, dst)
    want = s3read.head(s3read.s3_client(loc), loc, handle.key).get("Metadata", {}).get(
        s3read.META_SHA)
    if want and want != sha:
        raise DrillFailed(f"downloaded {handle.key}: sha256 {sha[:16]}… ≠ {want[:16]}… "
                          "recorded at upload")
    return dst


def _summary(path: str) -> DbSummary:
    size = os.path.getsize(path)
    body = size - TRAILER if has_trailer(size) else size
    with open(path, "rb") as fh:
        db = read_db(fh, body)
    if not db.valid:
        raise DrillFailed(f"{path} does not verify: {db.error}")
    return db


def _run(argv: list[str], timeout: float) -> None:
    res = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
    if res.returncode != 0:
        tail = (res.stderr or res.stdout).decode("utf-8", "replace").strip().splitlines()
        raise DrillFailed(f"{os.path.basename(argv[0])} {argv[1]} {argv[2]} failed: "
                          f"{tail[-1] if tail else res.returncode}")


def _restore(argv0: list[str], snap: str, data: Path, peer: str, raw: bool) -> None:
    argv = [*argv0, "snapshot", "restore", snap, "--name", "drill", "--data-dir", str(data),
            "--initial-cluster", f"drill={peer}", "--initial-advertise-peer-urls", peer,
            "--initial-cluster-token", "blackstart-drill"]
    if raw:
        argv.append("--skip-hash-check")
    env_ok = {**os.environ, "ETCDCTL_API": "3"}
    res = subprocess.run(argv, capture_output=True, timeout=1800, check=False, env=env_ok)
    if res.returncode != 0:
        tail = (res.stderr or res.stdout).decode("utf-8", "replace").strip().splitlines()
        raise DrillFailed(f"snapshot restore failed: {tail[-1] if tail else res.returncode}")


def _start(etcd: str, data: Path, host: str, ws: Path) -> tuple[subprocess.Popen[bytes], str]:
    cport, pport = free_port(host), free_port(host)
    client, peer = f"http://{host}:{cport}", f"http://{host}:{pport}"
    log = open(ws / "etcd.log", "wb")  # noqa: SIM115 - closed with the workspace
    proc = subprocess.Popen(
        [etcd, "--name", "drill", "--data-dir", str(data), "--listen-client-urls", client,
         "--advertise-client-urls", client, "--listen-peer-urls", peer,
         "--initial-advertise-peer-urls", peer, "--initial-cluster", f"drill={peer}",
         "--initial-cluster-token", "blackstart-drill"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return proc, client


def _status(client: str) -> tuple[int, int, int]:
    """(revision, hashkv, hashkv again) of the drill etcd once it answers."""
    from etcd3 import etcdrpc

    from blackstart.checks.etcd_client import etcd_client

    host, port = client.rsplit("//", 1)[1].rsplit(":", 1)
    deadline, last = time.monotonic() + START_TIMEOUT, ""
    while time.monotonic() < deadline:
        c = etcd_client(host, int(port), timeout=5)
        try:
            st = c.maintenancestub.Status(etcdrpc.StatusRequest(), 5)
            h1 = c.maintenancestub.HashKV(etcdrpc.HashKVRequest(revision=0), 10)
            h2 = c.maintenancestub.HashKV(etcdrpc.HashKVRequest(revision=0), 10)
            return int(st.header.revision), int(h1.hash), int(h2.hash)
        except Exception as exc:  # noqa: BLE001 - not up yet
            last = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            time.sleep(0.2)
        finally:
            c.close()
    raise DrillFailed(f"the drill etcd did not answer within {START_TIMEOUT:g}s ({last})")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def drill_one(cluster: Cluster, loc: BackupLocation, *, host: str = "127.0.0.1",
              etcd: str | None = None, etcdutl: str | None = None) -> DrillRecord:
    start, when = time.monotonic(), time.time()
    name, detail = "?", ""
    ws = Path(cluster.state_dir) / "drills" / f"{int(when * 1000)}-{os.getpid()}"
    ok = False
    rev = keys = None
    try:
        server, argv0 = tools(cluster, etcd, etcdutl)
        name, _, handle = newest_copy(cluster, loc)
        ws.mkdir(parents=True, mode=0o700)
        snap = _fetch(loc, handle, ws)
        data = ws / "data"
        # the walk of the snapshot and etcdutl's restore of it read the same file: at once
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="drill-walk") as pool:
            walk = pool.submit(_summary, snap)
            _restore(argv0, snap, data, f"http://{host}:{free_port(host)}",
                     raw=not has_trailer(os.path.getsize(snap)))
            db = walk.result()
        rev, keys = db.revision, db.buckets.get("key", 0)
        # what etcd will serve, read before it runs (a running etcd may write to it)
        with open(data / "member" / "snap" / "db", "rb") as fh:
            restored_keys = read_db(fh).buckets.get("key", 0)
        proc, client = _start(server, data, host, ws)
        try:
            got_rev, h1, h2 = _status(client)
        finally:
            _stop(proc)
        detail = _judge(rev, keys, got_rev, h1, h2, restored_keys=restored_keys)
        ok = True
    except (DrillFailed, s3read.S3Error, OSError, subprocess.SubprocessError) as exc:
        detail = str(exc)
    finally:
        shutil.rmtree(ws, ignore_errors=True)  # our workspace, never operator data
    return DrillRecord(loc.name, name, when, ok, round(time.monotonic() - start, 3), detail,
                       rev, keys)


def _judge(rev: int, keys: int, got_rev: int, h1: int, h2: int, *, restored_keys: int
           ) -> str:
    if got_rev != rev:
        raise DrillFailed(f"revision {got_rev:,} after restore ≠ snapshot's {rev:,}")
    if h1 != h2:
        raise DrillFailed(f"hashkv changed between two reads ({h1} then {h2}) on an idle etcd")
    if restored_keys != keys:
        raise DrillFailed(f"restored db holds {restored_keys:,} revisions of keys, the "
                          f"snapshot {keys:,}")
    return (f"restored and started; revision {rev:,}, {keys:,} key revisions, hashkv {h1} "
            "stable")


def record(state_dir: str, rec: DrillRecord) -> None:
    path = drills_path(state_dir)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(asdict(rec)) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def locations(cluster: Cluster, names: tuple[str, ...], every: bool) -> list[BackupLocation]:
    if names:
        return [cluster.backup_location(n) for n in names]
    locs = cluster.backup_locations()
    return locs if every else [b for b in locs if not b.implicit] or locs
