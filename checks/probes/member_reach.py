"""Step 1 of the members probe: TCP connect, then a TLS handshake with Python's ssl and
blackstart's client certificate, so a failure gets a precise class (refused, timeout,
tls, dns, unknown). TLS 1.2 first (a rejected client certificate is then an alert in the
handshake), 1.3 when the member refuses 1.2; a TLS failure goes to `member_tls_blame` to
name the certificate at fault. Nothing is sent to etcd here."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl

from blackstart.checks.model import Member, TLSFiles
from blackstart.checks.probe_results import MemberState
from blackstart.checks.probes.context import ProbeContext
from blackstart.checks.probes.member_dial import (
    MemberRun,
    Target,
    client_context,
    mark_failed,
    member_label,
)
from blackstart.checks.probes.member_tls_blame import blame_tls


async def reach(ctx: ProbeContext, member: Member, target: Target, state: MemberState,
                run: MemberRun, *, client: TLSFiles | None) -> bool:
    """TCP then TLS; on failure fill `state` and return False."""
    try:
        sslctx = client_context(client) if target.secure else None
    except (OSError, ssl.SSLError) as exc:
        path, why = _local_tls_fault(client, exc)
        mark_failed(state, "tls", f"cannot use the client certificate: {why}", path)
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
        await blame_tls(ctx, member, target, state, exc=exc, run=run)
    except ConnectionRefusedError:
        mark_failed(state, "refused", f"{member_label(member)}: connection refused "
                                      "(nothing listens: etcd down or crash-looping)")
    except socket.gaierror as exc:
        mark_failed(state, "dns",
                    f"{member_label(member)}: cannot resolve {target.host} ({exc.strerror})")
    except OSError as exc:
        mark_failed(state, "unknown", f"{member_label(member)}: {exc.strerror or exc}")
    return False


async def _handshake(target: Target, sslctx: ssl.SSLContext | None, run: MemberRun) -> None:
    run.stage = "TCP connect"
    _, writer = await asyncio.open_connection(target.host, target.port)
    try:
        if sslctx is not None:
            run.stage = "TLS handshake (TCP connected, no TLS answer)"
            await writer.start_tls(sslctx, server_hostname=target.host)
    finally:
        writer.close()


def _tls13_only(exc: OSError, run: MemberRun) -> bool:
    """Did the member turn down TLS 1.2 itself: a protocol-version alert, or (some
    servers) a reset in the middle of the handshake."""
    if isinstance(exc, ConnectionResetError):
        return run.stage.startswith("TLS handshake")
    text = f"{getattr(exc, 'reason', '')} {exc}".upper()
    return "PROTOCOL_VERSION" in text or "UNSUPPORTED_PROTOCOL" in text


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
