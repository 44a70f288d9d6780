"""Probe: read every certificate in the inventory on its node and analyze it.

Reads only (NodeReader.read_file with a size cap); judges validity by the NODE's clock,
because a clock reset after a power cut is exactly what makes good certificates look "not
yet valid". The SANs of a member's server cert must cover its client URL host, those of
its peer cert its peer URL host.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from blackstart.checks.formats.x509 import MAX_PEM, analyze_cert
from blackstart.checks.model import CertSpec, Cluster
from blackstart.checks.nodes import NodeError, NodeReader
from blackstart.checks.probe_results import CertInfo
from blackstart.checks.probes.context import ProbeContext


async def probe_certs(ctx: ProbeContext) -> list[CertInfo]:
    """One CertInfo per `ctx.cluster.certificates` entry, in inventory order."""
    clocks: dict[str, asyncio.Task[float]] = {}
    jobs = [_probe_one(ctx, spec, clocks) for spec in ctx.cluster.certificates]
    return list(await asyncio.gather(*jobs))


async def _probe_one(ctx: ProbeContext, spec: CertSpec,
                     clocks: dict[str, asyncio.Task[float]]) -> CertInfo:
    info = CertInfo(path=spec.path, node=spec.node, role=spec.role, member=spec.member)
    try:
        node = ctx.cluster.node(spec.node)
        hosts = expected_hosts(ctx.cluster, spec)
    except KeyError as exc:
        info.error = f"{spec.path}: {exc.args[0]}"
        return info
    if not node.has_access:
        info.error = f"node {spec.node}: no access (not this machine, no ssh configured); " \
                     f"{spec.path} not checked"
        return info
    try:
        return await asyncio.wait_for(_read_and_analyze(ctx, spec, hosts, clocks),
                                      ctx.deadline * 2)
    except NodeError as exc:
        info.error = str(exc)
    except TimeoutError:
        info.error = f"node {spec.node}: reading {spec.path} took over {ctx.deadline * 2:g}s"
    return info


async def _read_and_analyze(ctx: ProbeContext, spec: CertSpec, hosts: list[str],
                            clocks: dict[str, asyncio.Task[float]]) -> CertInfo:
    client = ctx.client(spec.node)
    if spec.node not in clocks:  # one clock reading per node, shared by its certificates
        clocks[spec.node] = asyncio.ensure_future(client.now(timeout=ctx.deadline))
    now = await clocks[spec.node]
    cert_pem = await _read(client, spec.path, ctx.deadline)
    key_pem, key_err = await _read_optional(client, spec.key, ctx.deadline)
    ca_pem, ca_err = await _read_optional(client, spec.ca, ctx.deadline)
    info = analyze_cert(cert_pem, path=spec.path, node=spec.node, role=spec.role,
                        member=spec.member, key_pem=key_pem, ca_pem=ca_pem, now=now,
                        expect_hosts=hosts, key_path=spec.key, ca_path=spec.ca)
    errors = [e for e in (info.error, key_err, ca_err) if e]
    info.error = "; ".join(errors) or None
    return info


async def _read(client: NodeReader, path: str, timeout: float) -> bytes:
    # One byte over the cap, so that a huge file is reported as huge, not cut silently.
    return await client.read_file(path, max_bytes=MAX_PEM + 1, timeout=timeout)


async def _read_optional(client: NodeReader, path: str | None,
                         timeout: float) -> tuple[bytes | None, str | None]:
    """A key or CA file: its bytes, or the error naming it (the cert is still analyzed)."""
    if not path:
        return None, None
    try:
        return await _read(client, path, timeout), None
    except NodeError as exc:
        return None, str(exc)


def expected_hosts(cluster: Cluster, spec: CertSpec) -> list[str]:
    """Hosts the SANs must cover: the member's client URL host for a server cert, the
    peer URL host for a peer cert; nothing for clients and CAs."""
    if spec.member is None:
        return []
    member = cluster.member(spec.member)
    urls = {"etcd-server": member.client_url, "etcd-peer": member.peer_url}.get(spec.role)
    hosts = (urlsplit(u.strip()).hostname for u in (urls or "").split(","))
    return list(dict.fromkeys(h for h in hosts if h))  # etcd takes comma-separated URLs
