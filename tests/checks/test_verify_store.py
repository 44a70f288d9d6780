"""The verification cache across runs (runbook.verify_cache, through ProbeContext.store):
a second run over unchanged files verifies nothing, a file changed in place (same size
and mtime) is verified again, the file is 0600 in a 0700 dir, read-only writes nothing,
and the WAL checkpoint round-trips through it."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from etcd_single import Sample, sample

from blackstart.checks.model import Cluster, Member, Node
from blackstart.checks.probes.context import ProbeContext
from blackstart.checks.probes.datadirs import checkpoint_from_json, probe_datadirs
from blackstart.checks.probes.snapshots import probe_snapshots
from blackstart.runbook.verify_cache import VerifyCache

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def s(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    return sample(tmp_path_factory)


def _cluster(tmp_path: Path, s: Sample) -> Cluster:
    b = tmp_path / "backup"
    b.mkdir()
    for i in range(5):
        shutil.copy(s.snapshot, b / f"etcd-{i}.db")
    d = shutil.copytree(s.data_dir, tmp_path / "m1", ignore=shutil.ignore_patterns("*.tmp"))
    return Cluster(name="t", nodes=(Node("n1", backup_dirs=(str(b),)),),
                   members=(Member("m1", "n1", "http://127.0.9.1:2379",
                                   "http://127.0.9.1:2380", str(d)),),
                   state_dir=str(tmp_path / "state"))


def _verifying(ctx: ProbeContext) -> int:
    """How many files this context verified (a store hit records no `|store` key)."""
    return sum(k.endswith("|store") for k in ctx.cache)


async def test_second_run_verifies_nothing_and_changes_are_seen(s: Sample,
                                                                 tmp_path: Path) -> None:
    cluster = _cluster(tmp_path, s)
    first_store = VerifyCache(cluster.state_dir)
    ctx = ProbeContext(cluster, deadline=10, store=first_store)
    first = await probe_snapshots(ctx)
    assert len(first) == 5 and all(i.valid for i in first) and _verifying(ctx) == 5
    assert first_store.save()
    f = Path(cluster.state_dir) / "cache" / "verify-cache.json"
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert stat.S_IMODE(f.parent.stat().st_mode) == 0o700

    again = ProbeContext(cluster, deadline=10, store=VerifyCache(cluster.state_dir))
    second = await probe_snapshots(again)
    assert _verifying(again) == 0  # every verdict came from the file
    assert [(i.path, i.valid, i.revision) for i in second] == [
        (i.path, i.valid, i.revision) for i in first]

    victim = Path(first[0].path)
    st = victim.stat()
    with open(victim, "r+b") as fh:  # same size, same mtime, different bytes
        fh.seek(5000)
        fh.write(b"\xff" * 16)
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    third_ctx = ProbeContext(cluster, deadline=10, store=VerifyCache(cluster.state_dir))
    third = {i.path: i for i in await probe_snapshots(third_ctx)}
    assert _verifying(third_ctx) == 1 and not third[str(victim)].valid


async def test_read_only_cache_writes_nothing(s: Sample, tmp_path: Path) -> None:
    cluster = _cluster(tmp_path, s)
    store = VerifyCache(cluster.state_dir, read_only=True)
    await probe_snapshots(ProbeContext(cluster, deadline=10, store=store))
    assert store.save() and not Path(cluster.state_dir).exists()


async def test_wal_checkpoint_round_trips(s: Sample, tmp_path: Path) -> None:
    cluster = _cluster(tmp_path, s)
    store = VerifyCache(cluster.state_dir)
    first = await probe_datadirs(ProbeContext(cluster, deadline=10, store=store))
    assert store.save()
    key = next(k for k in VerifyCache(cluster.state_dir)._load() if k.startswith("walcp|"))
    cp, ids = checkpoint_from_json(VerifyCache(cluster.state_dir).get(key) or {})
    assert cp is not None and ids and cp.scan.last_index == first[0].last_index
    second = await probe_datadirs(ProbeContext(cluster, deadline=10,
                                               store=VerifyCache(cluster.state_dir)))
    assert (second[0].state, second[0].last_index, second[0].records) == (
        first[0].state, first[0].last_index, first[0].records)
