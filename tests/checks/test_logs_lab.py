"""Log and certificate probes against a real lab reached over real OpenSSH (SFTP reads,
remote clock, remote glob): expire etcd1's server cert, then both probes must say so."""

from __future__ import annotations

import asyncio
import time

import pytest

from blackstart.checks.discovery.inventory import load_inventory
from blackstart.checks.nodes import SSHNode
from blackstart.checks.probes.certificates import probe_certs
from blackstart.checks.probes.context import ProbeContext
from blackstart.checks.probes.logs import probe_logs

pytestmark = [pytest.mark.lab, pytest.mark.ssh]


async def _until_signature(cluster, node: str, sig: str, seconds: float = 40.0):
    deadline = time.monotonic() + seconds
    lines = []
    while time.monotonic() < deadline:
        ctx = ProbeContext(cluster)
        try:
            lines = await probe_logs(ctx, max_lines=20)
        finally:
            await ctx.close()
        if any(ln.node == node and ln.signature == sig for ln in lines):
            return lines
        await asyncio.sleep(1.0)
    raise AssertionError(f"no {sig} line from {node} in {seconds:g}s; last: "
                         f"{[ln.text[:120] for ln in lines[-5:]]}")


async def test_expired_server_cert_seen_over_ssh(lab_factory, sshd_path):
    lab = lab_factory(ssh=True)
    cluster = load_inventory(config=str(lab.inventory_path))
    assert all(n.ssh is not None for n in cluster.nodes)
    node = cluster.members[0].node
    lab.break_fault("expire-cert", member=cluster.members[0].name, cert="server")

    ctx = ProbeContext(cluster)
    try:
        certs = await probe_certs(ctx)
        assert all(isinstance(c, SSHNode) for c in ctx.clients.values())
    finally:
        await ctx.close()
    assert all(c.error is None for c in certs), [c.error for c in certs if c.error]
    expired = [c for c in certs if "expired" in c.problems]
    assert [(c.node, c.role) for c in expired] == [(node, "etcd-server")]
    assert "ago by the node's clock" in expired[0].explain["expired"]
    assert sum(not c.problems for c in certs) == len(certs) - 1

    lines = await _until_signature(cluster, node, "tls-expired")
    hit = next(ln for ln in lines if ln.node == node and ln.signature == "tls-expired")
    assert "x509: certificate has expired or is not yet valid" in hit.text
    assert hit.ts and hit.ts.startswith("20")  # the CRI time, read over SFTP
