"""Probe every etcd member: can we reach it, does TLS work, what does it say about itself.

Per member, bounded by `ctx.deadline` as a whole, all members at once:

1. TCP connect, then a TLS handshake with Python's ssl and blackstart's client cert, so a
   failure gets a precise class (refused, timeout, tls, dns, unknown) and, for TLS, the
   certificate at fault: a server cert the client rejects shows up in *our* verify error;
   a client cert the server rejects shows up as the server's *alert*.
2. The etcd3 client (blocking gRPC, in a thread, with gRPC timeouts): status, member list,
   alarms.

This module runs the steps per member, bounded and all at once; the steps are beside it:
`member_dial` (target, TLS context, the run), `member_reach` (TCP and TLS),
`member_tls_blame` (the certificate at fault) and `member_status` (the etcd API).
Nothing here changes anything on a member.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence

from blackstart.checks.model import Member, TLSFiles, majority
from blackstart.checks.probe_results import MemberState
from blackstart.checks.probes.context import ProbeContext
from blackstart.checks.probes.member_dial import (
    MemberRun,
    Target,
    mark_failed,
    member_label,
    parse_target,
)
from blackstart.checks.probes.member_reach import reach
from blackstart.checks.probes.member_status import ask_etcd


def quorum(states: Sequence[MemberState], total: int) -> tuple[int, int, int]:
    """(healthy, total, needed): raft needs a majority of the *configured* members."""
    healthy = sum(1 for s in states if s.healthy)
    return healthy, total, majority(total)


async def probe_members(ctx: ProbeContext) -> list[MemberState]:
    """One MemberState per inventory member, in inventory order; never raises."""
    jobs = [_bounded(ctx, m) for m in ctx.cluster.members]
    return list(await asyncio.gather(*jobs))


async def _bounded(ctx: ProbeContext, member: Member) -> MemberState:
    state = MemberState(name=member.name, endpoint=member.client_url)
    run = MemberRun(end=time.monotonic() + ctx.deadline)
    try:
        await asyncio.wait_for(_probe(ctx, member, state, run), ctx.deadline)
    except TimeoutError:
        mark_failed(state, "timeout", f"{member_label(member)}: {run.stage}: no answer within "
                                      f"{ctx.deadline:g}s")
    except Exception as exc:  # a probe never raises: the result carries the error
        mark_failed(state, "unknown", f"{member_label(member)}: {type(exc).__name__}: {exc}")
    return state


async def _probe(ctx: ProbeContext, member: Member, state: MemberState, run: MemberRun) -> None:
    try:
        target = parse_target(member.client_url)
    except ValueError as exc:
        mark_failed(state, "unknown", f"member {member.name}: bad client URL ({exc})")
        return
    client = ctx.cluster.client
    if not await reach(ctx, member, target, state, run, client=client):
        client = await _second_opinion(ctx, member, target, state, run)
        if client is None:
            return
    run.stage = "etcd API (status, member list, alarms)"
    rejected = (state.error, state.tls_fault)
    await ask_etcd(client, target, state, run)
    if client is not ctx.cluster.client and state.error_class is None:
        # healthy or not, our own certificate is still at fault: keep saying so
        if state.error != rejected[0]:
            state.error = f"{rejected[0]}; {state.error}"
        state.tls_fault = rejected[1]


async def _second_opinion(ctx: ProbeContext, member: Member, target: Target,
                          state: MemberState, run: MemberRun) -> TLSFiles | None:
    """When the member rejected *our* client certificate, ask again with the member's own
    server certificate (kubeadm gives it clientAuth; operators do the same with etcdctl),
    so quorum is still known while the expired client cert is reported. Local files only."""
    own, alt = ctx.cluster.client, member.server
    node = next((n for n in ctx.cluster.nodes if n.name == member.node), None)
    if (alt is None or node is None or not node.is_local or own is None
            or state.error_class != "tls" or state.tls_fault != own.cert
            or not all(os.path.isfile(f) for f in (alt.cert, alt.key, alt.ca))):
        return None
    first = (state.error_class, state.error, state.tls_fault)
    state.error_class = state.error = state.tls_fault = None
    if await reach(ctx, member, target, state, run, client=alt):
        state.error = (f"{first[1]}; the member answered blackstart with its own server "
                       f"certificate {alt.cert} instead")
        state.tls_fault = first[2]
        return alt
    state.error_class, state.error, state.tls_fault = first
    return None
