"""Node access over a real OpenSSH sshd: a changed host key is named, never accepted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from blackstart.checks.discovery.inventory import load_inventory
from blackstart.checks.probes.access import probe_access
from blackstart.checks.probes.context import ProbeContext
from blackstart.checks.probes.engine import run_checks

pytestmark = [pytest.mark.lab, pytest.mark.ssh]


def _swap_etcd2_key_for_etcd3s(known_hosts: Any) -> None:
    lines = known_hosts.read_text().splitlines()
    lines[1] = " ".join([lines[1].split()[0], *lines[2].split()[1:]])
    known_hosts.write_text("\n".join(lines) + "\n")


async def test_changed_host_key_is_refused_and_named(
        lab_factory: Callable[..., Any], sshd_path: str) -> None:
    lab = lab_factory(ssh=True)
    cluster = load_inventory(config=str(lab.inventory_path))
    ctx = ProbeContext(cluster=cluster)
    try:
        assert all(a.ok for a in await probe_access(ctx))
    finally:
        await ctx.close()

    _swap_etcd2_key_for_etcd3s(lab.dir / "ssh" / "known_hosts")
    ctx = ProbeContext(cluster=cluster)
    try:
        access = {a.node: a for a in await probe_access(ctx)}
    finally:
        await ctx.close()
    assert access["etcd1"].ok and access["etcd3"].ok
    assert not access["etcd2"].ok and access["etcd2"].kind == "hostkey"

    report = await run_checks(cluster)
    codes = [(f.code, f.subject) for f in report.findings]
    assert ("node-hostkey", "etcd2") in codes
    # the certs on etcd2 could not be read, but that is said once, by the node finding
    assert not [c for c in codes if c[0] == "cert-unreadable"]
