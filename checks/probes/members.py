"""Probe every etcd member: can we reach it, does TLS work, what does it say about itself.

Per member, bounded by `ctx.deadline` as a whole, all members at once:

1. TCP connect, then a TLS handshake with Python's ssl and blackstart's client cert, so a
   failure gets a precise class (refused, timeout, tls, dns, unknown) and, for TLS, the
   certificate at fault: a server cert the client rejects shows up in *our* verify error;
   a client cert the server rejects shows up as the server's *alert*.
2. The etcd3 client (blocking gRPC, in a thread, with gRPC timeouts): status, member list,
   alarms.

Nothing here changes anything on a member.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from blackstart.checks.etcd_client import etcd_client
from blackstart.checks.formats.proto_wire import ProtoError, read_varint
from blackstart.checks.model import Member, TLSFiles, majority
from blackstart.checks.probe_results import CertInfo, MemberState
from blackstart.checks.probes.context import ProbeContext
from blackstart.checks.requests import alarm_name


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
    run = _Run(end=time.monotonic() + ctx.deadline)
    try:
        await asyncio.wait_for(_probe(ctx, member, state, run), ctx.deadline)
    except TimeoutError:
        _fail(state, "timeout", f"{_where(member)}: {run.stage}: no answer within "
                                f"{ctx.deadline:g}s")
    except Exception as exc:  # a probe never raises: the result carries the error
        _fail(state, "unknown", f"{_where(member)}: {type(exc).__name__}: {exc}")
    return state


@dataclass
class _Run:
    """One member's probe in flight: its absolute deadline and the step it is in, so a
    timeout says where it stuck (TCP, TLS or the etcd API)."""

    end: float
    stage: str = "TCP connect"

    def left(self) -> float:
        return max(0.01, self.end - time.monotonic())


def _fail(state: MemberState, cls: str, error: str, fault: str | None = None) -> None:
    state.healthy, state.error_class, state.error, state.tls_fault = False, cls, error, fault


def _where(member: Member) -> str:
    return f"member {member.name} ({member.client_url})"


# --------------------------------------------------------------------------- step 1: TLS


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    secure: bool


def parse_target(url: str) -> Target:
    parts = urlsplit(url if "://" in url else f"https://{url}")
    if not parts.hostname:
        raise ValueError(f"{url!r} has no host")
    secure = parts.scheme in ("https", "unixs")
    return Target(parts.hostname, parts.port or 2379, secure)


async def _probe(ctx: ProbeContext, member: Member, state: MemberState, run: _Run) -> None:
    try:
        target = parse_target(member.client_url)
    except ValueError as exc:
        _fail(state, "unknown", f"member {member.name}: bad client URL ({exc})")
        return
    client = ctx.cluster.client
    if not await _reach(ctx, member, target, state, run, client=client):
        client = await _second_opinion(ctx, member, target, state, run)
        if client is None:
            return
    run.stage = "etcd API (status, member list, alarms)"
    rejected = (state.error, state.tls_fault)
    await _ask_etcd(client, target, state, run)
    if client is not ctx.cluster.client and state.error_class is None:
        # healthy or not, our own certificate is still at fault: keep saying so
        if state.error != rejected[0]:
            state.error = f"{rejected[0]}; {state.error}"
        state.tls_fault = rejected[1]


async def _second_opinion(ctx: ProbeContext, member: Member, target: Target,
                          state: MemberState, run: _Run) -> TLSFiles | None:
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
    if await _reach(ctx, member, target, state, run, client=alt):
        state.error = (f"{first[1]}; the member answered blackstart with its own server "
                       f"certificate {alt.cert} instead")
        state.tls_fault = first[2]
        return alt
    state.error_class, state.error, state.tls_fault = first
    return None


async def _reach(ctx: ProbeContext, member: Member, target: Target, state: MemberState,
                 run: _Run, *, client: TLSFiles | None) -> bool:
    """TCP then TLS; on failure fill `state` and return False."""
    try:
        sslctx = client_context(client) if target.secure else None
    except (OSError, ssl.SSLError) as exc:
        path, why = _local_tls_fault(client, exc)
        _fail(state, "tls", f"cannot use the client certificate: {why}", path)
        return False
    try:
        try:
            await _handshake(target, sslctx, run)
        except (ssl.SSLError, ConnectionResetError) as exc:
            if sslctx is None or not _tls13_only(exc, run):
                raise
            # a member that refuses TLS 1.2 (--tls-min-version=TLS1.3): ask again in 1.3
            await _handshake(target, client_context(client, tls12=False), run)
        return True
    except ssl.SSLError as exc:
        run.stage = "finding the certificate at fault"
        await _blame_tls(ctx, member, target, state, exc=exc, run=run)
    except ConnectionRefusedError:
        _fail(state, "refused", f"{_where(member)}: connection refused "
                                "(nothing listens: etcd down or crash-looping)")
    except socket.gaierror as exc:
        _fail(state, "dns", f"{_where(member)}: cannot resolve {target.host} ({exc.strerror})")
    except OSError as exc:
        _fail(state, "unknown", f"{_where(member)}: {exc.strerror or exc}")
    return False


async def _handshake(target: Target, sslctx: ssl.SSLContext | None, run: _Run) -> None:
    run.stage = "TCP connect"
    _, writer = await asyncio.open_connection(target.host, target.port)
    try:
        if sslctx is not None:
            run.stage = "TLS handshake (TCP connected, no TLS answer)"
            await writer.start_tls(sslctx, server_hostname=target.host)
    finally:
        writer.close()


def _tls13_only(exc: OSError, run: _Run) -> bool:
    """Did the member turn down TLS 1.2 itself: a protocol-version alert, or (some
    servers) a reset in the middle of the handshake."""
    if isinstance(exc, ConnectionResetError):
        return run.stage.startswith("TLS handshake")
    text = f"{getattr(exc, 'reason', '')} {exc}".upper()
    return "PROTOCOL_VERSION" in text or "UNSUPPORTED_PROTOCOL" in text


def client_context(client: TLSFiles | None, verify: bool = True,
                   tls12: bool = True) -> ssl.SSLContext:
    """The TLS context blackstart uses: our CA, our client cert, TLS ≤ 1.2 by default.

    TLS 1.2 on purpose: under 1.3 a server rejects the client certificate only after the
    handshake, so the reason would be lost; under 1.2 it is an alert in the handshake.
    """
    ctx = ssl.create_default_context(cafile=client.ca if client and client.ca else None)
    if tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if client and client.cert:
        ctx.load_cert_chain(client.cert, client.key or None)
    return ctx


def _local_tls_fault(client: TLSFiles | None, exc: Exception) -> tuple[str | None, str]:
    """Which of our own files could not be loaded, and why (ssl does not say which)."""
    if client is None:
        return None, str(exc)
    for path in (client.ca, client.cert, client.key):
        if path and not os.access(path, os.R_OK):
            why = "no such file" if not os.path.exists(path) else "not readable"
            return path, f"{path}: {why}"
    text = str(exc)
    if "KEY_VALUES_MISMATCH" in text:
        return client.key, f"{client.key} does not belong to {client.cert}"
    if "verify" in text.lower() or "x509" in text.lower():
        return client.ca, f"{client.ca}: {text}"
    return client.cert, f"{client.cert} or {client.key}: {text}"


# --------------------------------------------------------------------------- TLS blame


# Python/OpenSSL wording → the Go wording that blackstart.checks.formats.x509.tls_suspects knows.
_VERIFY_GO = {
    9: "x509: certificate has expired or is not yet valid",  # not yet valid
    10: "x509: certificate has expired or is not yet valid",  # expired
    62: "x509: certificate is valid for other names",  # hostname mismatch
}
_ALERT_GO = (
    ("CERTIFICATE_EXPIRED", "remote error: tls: expired certificate"),
    ("UNKNOWN_CA", "remote error: tls: unknown certificate authority"),
    ("BAD_CERTIFICATE", "remote error: tls: bad certificate"),
    ("CERTIFICATE_REQUIRED", "remote error: tls: bad certificate"),
    ("UNSUPPORTED_CERTIFICATE", "remote error: tls: bad certificate"),
)


def go_wording(exc: ssl.SSLError) -> tuple[str, str]:
    """(side, Go-style text). side: "server" = we rejected the server's certificate,
    "client" = the server rejected ours, "other" = neither (protocol trouble)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        code = exc.verify_code
        return "server", _VERIFY_GO.get(code, "x509: certificate signed by unknown authority")
    reason = (exc.reason or "") + " " + str(exc)
    for needle, text in _ALERT_GO:
        if needle in reason.upper().replace(" ", "_"):
            return "client", text
    return "other", str(exc)


async def _blame_tls(ctx: ProbeContext, member: Member, target: Target, state: MemberState,
                     *, exc: ssl.SSLError, run: _Run) -> None:
    side, go_text = go_wording(exc)
    detail = exc.verify_message if isinstance(exc, ssl.SSLCertVerificationError) else exc.reason
    client = ctx.cluster.client
    certs = await _suspect_infos(ctx, member)
    fault, why = _pick_fault(certs, member, client, side, go_text)
    if side == "server" and fault is None:
        fault = f"the certificate served at {target.host}:{target.port}"
        why = await _presented_cert_text(ctx, target, run)
    seen = ("the member's certificate was rejected by blackstart" if side == "server" else
            "the member rejected blackstart's client certificate" if side == "client" else
            "TLS failed")
    msg = f"{_where(member)}: TLS handshake failed: {seen} ({detail or exc})"
    if fault:
        msg += f"; at fault: {fault}"
    if why:
        msg += f" ({why})"
    _fail(state, "tls", msg, fault)


def _pick_fault(certs: list[CertInfo], member: Member, client: TLSFiles | None, side: str,
                go_text: str) -> tuple[str | None, str]:
    from blackstart.checks.formats.x509 import tls_suspects

    client_cert = client.cert if client and client.cert else None
    suspects = tls_suspects(certs, member=member.name, client_cert=client_cert,
                            error_text=go_text)
    if side == "client":  # the alert is about the certificate we sent
        suspects = [c for c in suspects if c.path == client_cert] or suspects
    if suspects:
        best = suspects[0]
        return best.path, "; ".join(best.problems) or "named by the TLS error"
    if side == "client" and client_cert:
        return client_cert, "rejected by the member"
    if side == "server" and member.server:
        return member.server.cert, "rejected by blackstart's TLS check"
    return None, ""


async def _suspect_infos(ctx: ProbeContext, member: Member) -> list[CertInfo]:
    """CertInfos for the client cert, the member's server cert and the CA, where readable."""
    client = ctx.cluster.client
    jobs = []
    if client and client.cert:
        jobs.append(_analyze(ctx, None, client.cert, ca=client.ca, role="client"))
    if member.server:
        jobs.append(_analyze(ctx, member.node, member.server.cert, ca=member.server.ca,
                             role="etcd-server", member=member.name))
    if client and client.ca:
        jobs.append(_analyze(ctx, None, client.ca, role="etcd-ca"))
    infos = await asyncio.gather(*jobs)
    return [i for i in infos if i is not None]


async def _analyze(ctx: ProbeContext, node: str | None, path: str, *, role: str,
                   ca: str | None = None, member: str | None = None) -> CertInfo | None:
    """Analyze one cert file: local files directly, a member's via its node (if we may)."""
    from blackstart.checks.formats.x509 import analyze_cert

    try:
        pem = await _read(ctx, node, path)
        ca_pem = await _read(ctx, node, ca) if ca else None
    except Exception:  # unreadable: it cannot be analyzed, the TLS error still stands
        return None
    if pem is None:
        return None
    member_obj = ctx.cluster.member(member) if member else None
    hosts = [urlsplit(member_obj.client_url).hostname or ""] if member_obj else []
    return analyze_cert(pem, path=path, node=node or "local", role=role, member=member,
                        ca_pem=ca_pem, now=ctx.now(), expect_hosts=hosts, ca_path=ca)


async def _read(ctx: ProbeContext, node: str | None, path: str) -> bytes | None:
    if node is None:
        return await asyncio.to_thread(_read_local, path)
    if not ctx.cluster.node(node).has_access:
        return None
    data: bytes = await ctx.client(node).read_file(path, max_bytes=1 << 20,
                                                   timeout=ctx.deadline)
    return data


def _read_local(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(1 << 20)


async def _presented_cert_text(ctx: ProbeContext, target: Target, run: _Run) -> str:
    """What the certificate the member actually serves says (handshake without verify)."""
    try:
        sslctx = client_context(ctx.cluster.client, verify=False)
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(target.host, target.port, ssl=sslctx,
                                    server_hostname=target.host), run.left())
        sslobj = writer.get_extra_info("ssl_object")
        der = sslobj.getpeercert(binary_form=True) if sslobj else None
        writer.close()
    except (OSError, ssl.SSLError, TimeoutError):
        return ""
    return describe_der(der, ctx.now()) if der else ""


def describe_der(der: bytes, now: float) -> str:
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    nb, na = cert.not_valid_before_utc.timestamp(), cert.not_valid_after_utc.timestamp()
    subject = cert.subject.rfc4514_string()
    if now > na:
        return f"served certificate {subject} expired {cert.not_valid_after_utc:%Y-%m-%d %H:%M}Z"
    if now < nb:
        return (f"served certificate {subject} is not valid before "
                f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M}Z (check this node's clock)")
    return f"served certificate {subject}"


# --------------------------------------------------------------------------- step 2: etcd


async def _ask_etcd(client: TLSFiles | None, target: Target, state: MemberState,
                    run: _Run) -> None:
    try:
        await asyncio.to_thread(_etcd_calls, client, target, state, run.left())
    except Exception as exc:
        cls, text = classify_grpc(exc)
        _fail(state, cls, f"member {state.name} ({state.endpoint}): etcd API: {text}")


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


def proto_fields(raw: bytes) -> dict[int, list[int | bytes]]:
    """Top-level fields of a protobuf message (varint and length-delimited), by number.

    Used for StatusResponse fields newer than the etcd3 package's .proto files; the
    protobuf runtime keeps unknown fields when it re-serializes.
    """
    out: dict[int, list[int | bytes]] = {}
    i = 0
    try:
        while i < len(raw):
            key, i = read_varint(raw, i)
            num, wire = key >> 3, key & 7
            if wire == 0:
                val, i = read_varint(raw, i)
                out.setdefault(num, []).append(val)
            elif wire == 2:
                size, i = read_varint(raw, i)
                out.setdefault(num, []).append(raw[i:i + size])
                i += size
            elif wire in (1, 5):
                i += 8 if wire == 1 else 4
            else:
                break  # groups are not used by etcd; stop rather than misread
    except ProtoError:
        pass  # a truncated tail: keep the fields read so far
    return out
