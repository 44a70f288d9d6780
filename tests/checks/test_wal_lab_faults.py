"""The lab's own fault injection (another piece) seen by these probes: a corrupted WAL,
a torn WAL and a truncated snapshot are each classified as etcd would."""

from __future__ import annotations

import pytest

from blackstart.checks.discovery.inventory import load_inventory
from blackstart.checks.probes.context import ProbeContext
from blackstart.checks.probes.datadirs import probe_datadirs
from blackstart.checks.probes.snapshots import probe_snapshots

pytestmark = pytest.mark.lab


async def test_lab_faults_are_classified(lab_factory) -> None:
    lab = lab_factory()
    for m in ("etcd1", "etcd2"):  # stopped first, so the lab leaves them stopped (a running
        lab.stop(m)               # member would be restarted and repair its torn tail)
    lab.break_fault("corrupt-wal", "etcd1")
    lab.break_fault("tear-wal", "etcd2")
    lab.break_fault("truncate-snapshot", "etcd3")
    ctx = ProbeContext(load_inventory(config=str(lab.inventory_path)), deadline=10)
    try:
        wal = {w.member: w for w in await probe_datadirs(ctx)}
        snaps = await probe_snapshots(ctx)
    finally:
        await ctx.close()
    assert wal["etcd1"].state == "corrupt" and "crc mismatch" in wal["etcd1"].detail
    assert wal["etcd2"].state == "torn-tail", wal["etcd2"].detail
    assert wal["etcd3"].state in ("ok", "torn-tail"), wal["etcd3"].detail
    bad = [s for s in snaps if not s.valid]
    assert len(bad) == 1 and bad[0].node == "etcd3" and "truncated" in (bad[0].error or "")
    assert len(snaps) > 1 and all(s.sha256_ok for s in snaps if s is not bad[0])
