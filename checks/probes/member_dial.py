"""How the members probe dials one member: the member's client URL as a `Target`, the
TLS context blackstart connects with (`client_context`), the `MemberRun` that carries the
member's deadline and the step it is in, and the two ways a failure is written into its
`MemberState` (`mark_failed`, `member_label`). Shared by every step of the probe."""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from blackstart.checks.model import Member, TLSFiles
from blackstart.checks.probe_results import MemberState


@dataclass
class MemberRun:
    """One member's probe in flight: its absolute deadline and the step it is in, so a
    timeout says where it stuck (TCP, TLS or the etcd API)."""

    end: float
    stage: str = "TCP connect"

    def left(self) -> float:
        return max(0.01, self.end - time.monotonic())


def mark_failed(state: MemberState, cls: str, error: str, fault: str | None = None) -> None:
    state.healthy, state.error_class, state.error, state.tls_fault = False, cls, error, fault


def member_label(member: Member) -> str:
    return f"member {member.name} ({member.client_url})"


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
