"""probe_snapshots / probe_datadirs / probe_member_dbs over real files from a real etcd.

Node n1 is this machine (files read directly). Node n2 is declared as an SSH node but
its client is a real LocalNode that records every call: the probes take their remote path
(random-access reads through `read_file`, sha256 run on the node with `sh -c head|sha256sum`)
against real files. Node n3 has no access. Nothing may be written anywhere.
"""

from __future__ import annotations

import shutil
from concurrent.futures import Future
from pathlib import Path

import pytest
from etcd_single import Sample, sample
from recording_node import RecordingNode

from blackstart.checks.formats.wal_records import iter_frames
from blackstart.checks.model import Cluster, Member, Node, SSHTarget
from blackstart.checks.probes.context import ProbeContext
from blackstart.checks.probes.datadirs import probe_datadirs, probe_member_dbs
from blackstart.checks.probes.snapshots import probe_snapshots

pytestmark = pytest.mark.lab
NO_SPARE = shutil.ignore_patterns("*.tmp")  # etcd's preallocated spare segment


@pytest.fixture(scope="module")
def s(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    return sample(tmp_path_factory)


def _tear(d: Path) -> None:
    seg = sorted((d / "member" / "wal").glob("*.wal"))[-1]
    data = bytearray(seg.read_bytes())
    off, rec_len, pad = list(iter_frames(bytes(data)))[-1]
    data[off + 8 : off + 8 + rec_len + pad] = bytes(rec_len + pad)
    seg.write_bytes(bytes(data))


@pytest.fixture
def world(s: Sample, tmp_path: Path) -> tuple[ProbeContext, dict[str, Path], RecordingNode]:
    b1, b2 = tmp_path / "n1-backup", tmp_path / "n2-backup"
    b1.mkdir()
    b2.mkdir()
    shutil.copy(s.snapshot, b1 / "etcd-2026-01-01.db")
    data = s.snapshot.read_bytes()
    (b1 / "etcd-half.db").write_bytes(data[: len(data) // 2])
    (b1 / "etcd-now.db.part").write_bytes(data[:1000])  # a save in progress: not listed
    (b1 / "old").mkdir()
    shutil.copy(s.snapshot, b2 / "etcd-copy.db")
    d1 = shutil.copytree(s.data_dir, tmp_path / "m1", ignore=NO_SPARE)
    d2 = shutil.copytree(s.data_dir, tmp_path / "m2", ignore=NO_SPARE)
    _tear(d2)
    d4 = shutil.copytree(s.data_dir, tmp_path / "m4", ignore=NO_SPARE)
    (d4 / "member" / "snap" / "db").write_bytes(data[:-32])  # db behind the newest .snap
    n2 = Node("n2", ssh=SSHTarget("127.0.0.1", port=1), backup_dirs=(str(b2),))
    cluster = Cluster(
        name="t",
        nodes=(Node("n1", backup_dirs=(str(b1),)), n2,
               Node("n3", ssh=None, backup_dirs=("/backup/etcd",), has_access=False)),
        members=tuple(Member(f"m{i}", node, f"http://127.0.9.{i}:2379",
                             f"http://127.0.9.{i}:2380", str(d))
                      for i, node, d in ((1, "n1", d1), (2, "n2", d2), (3, "n3", "/var/lib/etcd"),
                                         (4, "n1", d4))),
    )
    rec = RecordingNode(n2)
    ctx = ProbeContext(cluster, clients={"n2": rec}, deadline=10)
    return ctx, {"b1": b1, "b2": b2, "d1": d1, "d2": d2}, rec


async def test_probe_snapshots(s: Sample, world) -> None:
    ctx, p, rec = world
    infos = await probe_snapshots(ctx)
    by = {(i.node, Path(i.path).name): i for i in infos}
    assert set(by) == {("n1", "etcd-2026-01-01.db"), ("n1", "etcd-half.db"),
                       ("n2", "etcd-copy.db"), ("n3", "etcd")}
    good = by[("n1", "etcd-2026-01-01.db")]
    assert good.valid and good.sha256_ok and good.kind == "backup"
    assert (good.revision, good.total_keys) == (s.status["revision"], s.status["totalKey"])
    half = by[("n1", "etcd-half.db")]
    assert not half.valid and "truncated" in (half.error or "") and half.error.startswith("n1")
    remote = by[("n2", "etcd-copy.db")]
    assert remote.valid and remote.sha256_ok is True
    assert (remote.revision, remote.total_keys) == (good.revision, good.total_keys)
    assert rec.reads and all(r[1] is not None for r in rec.reads)  # ranged reads only
    n3 = by[("n3", "etcd")]
    assert not n3.valid and "n3" in (n3.error or "") and "no access" in (n3.error or "")
    assert rec.writes == []


async def test_cache_skips_unchanged_files(world) -> None:
    ctx, p, rec = world
    first = await probe_snapshots(ctx)
    reads = rec.bytes_read
    second = await probe_snapshots(ctx)
    verified = [(a, b) for a, b in zip(first, second, strict=True) if a.node != "n3"]
    assert len(verified) == 3 and all(a is b for a, b in verified)
    assert rec.bytes_read == reads
    (p["b2"] / "etcd-copy.db").write_bytes(bytes(20_000))  # changed: verified again
    third = await probe_snapshots(ctx)
    changed = next(i for i in third if i.node == "n2")
    assert not changed.valid and rec.bytes_read > reads


async def test_probe_member_dbs(s: Sample, world) -> None:
    ctx, _, _ = world
    dbs = {i.path.split("/")[-4]: i for i in await probe_member_dbs(ctx) if i.node != "n3"}
    for m in ("m1", "m2"):
        assert dbs[m].kind == "member-db" and dbs[m].valid, dbs[m].error
        assert dbs[m].revision == s.db_status["revision"]
        assert dbs[m].sha256_ok is None and dbs[m].consistent_index
    n3 = [i for i in await probe_member_dbs(ctx) if i.node == "n3"][0]
    assert "no access" in (n3.error or "")


async def test_probe_datadirs(world) -> None:
    ctx, _, rec = world
    states = {w.member: w for w in await probe_datadirs(ctx)}
    assert states["m1"].state in ("ok", "torn-tail")
    assert states["m1"].consistent_index and states["m1"].last_index
    assert states["m2"].state == "torn-tail" and ".wal offset" in states["m2"].detail
    assert states["m3"].state == "unreadable" and "n3" in states["m3"].detail
    assert states["m4"].state == "corrupt"
    assert "failed to find database snapshot file" in states["m4"].detail
    assert rec.writes == []


async def test_slow_verification_is_pending_then_picked_up(s: Sample, world) -> None:
    """A verification that does not finish within the probe's budget gives a `pending`
    result; it goes on in the background and the next run returns its verdict (the work
    is not started over)."""
    import time

    from blackstart.checks.probes import workers

    ctx, _, _ = world
    ctx.deadline = 0.2
    blockers = [workers.submit(time.sleep, 3, lane=workers.BACKUPS)  # all busy
                for _ in range(workers.cores())]
    first = {i.path: i for i in await probe_snapshots(ctx) if i.node == "n1"}
    assert all(i.pending and not i.valid for i in first.values())
    assert all("still running" in (i.error or "") for i in first.values())
    running = {k: v for k, v in ctx.cache.items() if isinstance(v, Future)}
    assert len(running) == 2  # the two n1 files, queued behind the blockers
    for b in blockers:
        b.result(10)
    ctx.deadline = 10
    second = {i.path: i for i in await probe_snapshots(ctx) if i.node == "n1"}
    assert not any(i.pending for i in second.values())
    good = next(i for p, i in second.items() if p.endswith("etcd-2026-01-01.db"))
    assert good.valid and good.revision == s.status["revision"]
    for key, fut in running.items():  # the same futures finished and were used
        assert fut.done() and ctx.cache[key].path == fut.result().path


async def test_verifier_killed_mid_check_is_unknown_then_checked_again(s: Sample,
                                                                     world) -> None:
    """A worker SIGKILLed (OOM killer, an operator) while it verifies says nothing about the
    file: the file is "unknown", never "bad", and the next run verifies it again."""
    import os
    import signal
    import time

    from blackstart.checks.probes import workers

    ctx, _, _ = world
    ctx.deadline = 0.2
    blockers = [workers.submit(time.sleep, 3, lane=workers.BACKUPS)
                for _ in range(workers.cores())]
    first = [i for i in await probe_snapshots(ctx) if i.node == "n1"]
    assert first and all(i.pending for i in first)
    for proc in list(workers.pool(workers.BACKUPS)._processes.values()):  # noqa: SLF001
        os.kill(proc.pid, signal.SIGKILL)
    for b in blockers:
        b.exception(10)  # the pool broke under them
    ctx.deadline = 10
    second = {Path(i.path).name: i for i in await probe_snapshots(ctx) if i.node == "n1"}
    assert {i.state for i in second.values()} == {"unknown"}, second
    assert all("could not be verified" in (i.error or "") for i in second.values())
    third = {Path(i.path).name: i for i in await probe_snapshots(ctx) if i.node == "n1"}
    assert third["etcd-2026-01-01.db"].state == "ok"
    assert third["etcd-half.db"].state == "bad"  # a real verdict once a worker could read it
