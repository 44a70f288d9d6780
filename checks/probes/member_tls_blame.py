"""Which certificate is at fault when a member's TLS handshake fails.

A server certificate blackstart rejects shows up in *our* verify error; a client
certificate the member rejects shows up as the member's *alert*. Either is put in Go's
wording (what `checks.formats.x509.tls_suspects` knows), the candidate files (our client
cert, the member's server cert, the CA) are analyzed where readable, and when none is
named the certificate the member really serves is described. Reads only.
"""

from __future__ import annotations

import asyncio
import ssl
from urllib.parse import urlsplit

from blackstart.checks.model import Member, TLSFiles
from blackstart.checks.probe_results import CertInfo, MemberState
from blackstart.checks.probes.context import ProbeContext
from blackstart.checks.probes.member_dial import (
    MemberRun,
    Target,
    client_context,
    mark_failed,
    member_label,
)

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


async def blame_tls(ctx: ProbeContext, member: Member, target: Target, state: MemberState,
                    *, exc: ssl.SSLError, run: MemberRun) -> None:
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
    msg = f"{member_label(member)}: TLS handshake failed: {seen} ({detail or exc})"
    if fault:
        msg += f"; at fault: {fault}"
    if why:
        msg += f" ({why})"
    mark_failed(state, "tls", msg, fault)


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


async def _presented_cert_text(ctx: ProbeContext, target: Target, run: MemberRun) -> str:
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
