"""Members, processes and clocks against a real lab reached over real OpenSSH: healthy,
then an expired server certificate and a stopped member, each seen for what it is."""

from __future__ import annotations

import time

import pytest

from blackstart.checks.discovery.inventory import load_inventory
from blackstart.checks.nodes import SSHNode
from blackstart.checks.probes.clocks import probe_clocks
from blackstart.checks.probes.context import ProbeContext
from blackstart.checks.probes.members import probe_members, quorum
from blackstart.checks.probes.processes import probe_processes

pytestmark = [pytest.mark.lab, pytest.mark.ssh]


async def _probe(cluster, fn):
    ctx = ProbeContext(cluster, deadline=5)
    try:
        out = await fn(ctx)
        assert all(isinstance(c, SSHNode) for c in ctx.clients.values())
        return out
    finally:
        await ctx.close()


async def test_lab_over_ssh(lab_factory, sshd_path):
    lab = lab_factory(ssh=True)
    cluster = load_inventory(config=str(lab.inventory_path))
    assert all(n.ssh is not None for n in cluster.nodes)
    names = [m.name for m in cluster.members]

    states = await _probe(cluster, probe_members)
    assert all(s.healthy for s in states), [s.error for s in states]
    assert quorum(states, 3) == (3, 3, 2)

    procs = await _probe(cluster, probe_processes)  # `ps` over ssh on every node
    etcds = {p.node: p for p in procs if p.name == "etcd"}
    assert {n: (p.member, p.running) for n, p in etcds.items()} == {
        m.node: (m.name, True) for m in cluster.members}
    for m in cluster.members:
        assert etcds[m.node].pid == lab.running(m.name)
    assert all(p.error is None for p in procs), [p.error for p in procs if p.error]

    clocks = await _probe(cluster, probe_clocks)  # `date` over ssh
    assert [c.node for c in clocks] == [n.name for n in cluster.nodes]
    assert all(c.error is None and c.skew is not None and abs(c.skew) < 2 for c in clocks)

    # an expired server certificate: the TLS error names that file (read over SFTP)
    bad = cluster.members[0]
    lab.break_fault("expire-cert", member=bad.name, cert="server")
    # and a stopped member: refused, and its etcd process is gone
    lab.break_fault("stop-member", member=names[1])
    t0 = time.monotonic()
    states = await _probe(cluster, probe_members)
    # bounded by the per-member deadline (5 s), with room for a loaded 2-core machine:
    # this holds "no member waits on another", not a speed target (bench/ measures speed)
    assert time.monotonic() - t0 < 2 * 5
    by = {s.name: s for s in states}
    assert by[bad.name].error_class == "tls", by[bad.name].error
    assert bad.server is not None and by[bad.name].tls_fault == bad.server.cert
    assert "expired" in (by[bad.name].error or "")
    assert by[names[1]].error_class == "refused", by[names[1]].error
    assert by[names[2]].healthy
    procs = await _probe(cluster, probe_processes)
    stopped = [p for p in procs if p.name == "etcd" and p.member == names[1]]
    assert [(p.running, p.pid) for p in stopped] == [(False, None)]
