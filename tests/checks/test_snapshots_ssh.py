"""The snapshot and data-dir probes over real SSH (a lab with one OpenSSH sshd per node):
random-access SFTP reads for the bbolt walk, sha256 computed on the node."""

from __future__ import annotations

import pytest

from blackstart.checks.discovery.inventory import load_inventory
from blackstart.checks.formats.snapshot_file import verify_snapshot_file
from blackstart.checks.probes.context import ProbeContext
from blackstart.checks.probes.datadirs import probe_datadirs, probe_member_dbs
from blackstart.checks.probes.snapshots import probe_snapshots

pytestmark = [pytest.mark.lab, pytest.mark.ssh]


async def test_probes_over_ssh(lab_factory) -> None:
    lab = lab_factory(ssh=True)
    cluster = load_inventory(config=str(lab.inventory_path))
    assert cluster.nodes and all(n.ssh is not None for n in cluster.nodes)
    ctx = ProbeContext(cluster, deadline=10)
    try:
        snaps = await probe_snapshots(ctx)
        dbs = await probe_member_dbs(ctx)
        wals = await probe_datadirs(ctx)
    finally:
        await ctx.close()
    assert snaps, "the lab keeps snapshots in every node's backup dir"
    for info in snaps:
        assert info.valid and info.sha256_ok is True, info.error
        local = verify_snapshot_file(info.path)  # the same file, read directly
        assert (info.revision, info.total_keys) == (local.revision, local.total_keys)
    assert len(dbs) == len(cluster.members)
    assert all(d.valid and d.kind == "member-db" and d.consistent_index for d in dbs), dbs
    assert all(w.state in ("ok", "torn-tail") and w.last_index for w in wals), wals
