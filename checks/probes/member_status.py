"""Step 2 of the members probe: ask the member's etcd API (the etcd3 client, blocking
gRPC in a thread, with gRPC timeouts) for its status, member list and alarms, and turn
the answers, or the gRPC failure, into the `MemberState`. Read-only calls only."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

from blackstart.checks.etcd_client import etcd_client
from blackstart.checks.formats.proto_wire import proto_fields
from blackstart.checks.model import TLSFiles
from blackstart.checks.probe_results import MemberState
from blackstart.checks.probes.member_dial import MemberRun, Target, mark_failed
from blackstart.checks.requests import alarm_name


async def ask_etcd(client: TLSFiles | None, target: Target, state: MemberState,
                   run: MemberRun) -> None:
    try:
        await asyncio.to_thread(_etcd_calls, client, target, state, run.left())
    except Exception as exc:
        cls, text = classify_grpc(exc)
        mark_failed(state, cls, f"member {state.name} ({state.endpoint}): etcd API: {text}")


def _etcd_calls(client: TLSFiles | None, target: Target, state: MemberState,
                timeout: float) -> None:
    from etcd3 import etcdrpc

    etcd = etcd_client(target.host, target.port, timeout=timeout,
                       tls=client if target.secure else None)
    try:
        status = etcd.maintenancestub.Status(etcdrpc.StatusRequest(), timeout)
        fill_status(state, status)
        members = etcd.clusterstub.MemberList(etcdrpc.MemberListRequest(), timeout)
        _apply_member_list(state, members.members, status.header.member_id)
        alarms = etcd.maintenancestub.Alarm(
            etcdrpc.AlarmRequest(action=etcdrpc.AlarmRequest.GET), timeout)
        state.alarms = sorted({alarm_name(a.alarm) for a in alarms.alarms})
    finally:
        etcd.close()


def fill_status(state: MemberState, status: Any) -> None:
    """An etcdserverpb.StatusResponse → the state's fields."""
    extra = proto_fields(status.SerializeToString())
    member_id, leader = int(status.header.member_id), int(status.leader)
    state.member_id = f"{member_id:x}"
    state.leader_id = f"{leader:x}" if leader else None
    state.leader = bool(leader) and leader == member_id
    state.raft_term, state.raft_index = int(status.raftTerm), int(status.raftIndex)
    state.revision, state.db_size = int(status.header.revision), int(status.dbSize)
    state.version = str(status.version)
    in_use = extra.get(9)  # dbSizeInUse: newer than the etcd3 package's protos
    state.db_size_in_use = int(in_use[0]) if in_use and isinstance(in_use[0], int) else None
    state.healthy = bool(leader)
    if not leader:
        state.error = (f"member {state.name} answers but has no leader "
                       "(no quorum, or an election is running)")


def _apply_member_list(state: MemberState, members: Any, own_id: int) -> None:
    """The member's own name from the member list, when the inventory only had a host."""
    for m in members:
        if m.ID == own_id and m.name and state.name == _host_of(state.endpoint):
            state.name = m.name


def _host_of(url: str) -> str:
    return urlsplit(url).hostname or url


def classify_grpc(exc: BaseException) -> tuple[str, str]:
    """A gRPC (or etcd3) failure → (error class, text)."""
    import grpc

    if isinstance(exc, grpc.RpcError):
        code = exc.code() if hasattr(exc, "code") else None
        details = exc.details() if hasattr(exc, "details") else str(exc)
        text = f"{getattr(code, 'name', code)}: {details}"
        low = (details or "").lower()
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return "timeout", text
        if "connection refused" in low:
            return "refused", text
        if "handshake" in low or "ssl" in low or "certificate" in low:
            return "tls", text
        if "dns" in low or "resolve" in low:
            return "dns", text
        return "unknown", text
    return "unknown", f"{type(exc).__name__}: {exc}"
