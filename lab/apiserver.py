"""A stand-in for kube-apiserver: really talks to its etcd, logs what happened, klog-style.

Every ~2 s it makes one real attempt: TCP connect, TLS handshake with the
apiserver-etcd-client cert and the etcd CA, then a read of /registry/health through the
etcd gRPC gateway. Each attempt writes one klog line in CRI format, worded the way
kube-apiserver (grpc-go, Go's crypto/tls and x509) words the same failure, built from the
real exception. Run as:

    python -m blackstart.lab.apiserver kube-apiserver --node etcd1 --etcd-servers=https://IP:2379
        --etcd-cafile=... --etcd-certfile=... --etcd-keyfile=... --log FILE --pidfile FILE
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import signal
import socket
import ssl
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509

from blackstart.lab.crilog import open_writer
from blackstart.lab.klog import klog_line

TIMEOUT = 2.0
HEALTH_KEY = "/registry/health"


@dataclass(frozen=True)
class Attempt:
    ok: bool
    level: str  # klog level letter
    where: str  # klog file:line, like the component that logs it upstream
    msg: str


@dataclass(frozen=True)
class TLSConf:
    ca: str
    cert: str
    key: str


def _go_time(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dial_failed(addr: str, host: str, desc: str) -> Attempt:
    msg = (f'[core] [Channel #1 SubChannel #2] grpc: addrConn.createTransport failed to '
           f'connect to {{Addr: "{addr}", ServerName: "{host}", }}. Err: connection error: '
           f'desc = "transport: {desc}"')
    return Attempt(False, "W", "logging.go:59", msg)


def _peer_cert(host: str, port: int, tlsconf: TLSConf) -> x509.Certificate | None:
    """The server's cert fetched without verification, to word x509 errors like Go.

    Our client cert is still presented: etcd aborts the handshake without one."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.load_cert_chain(tlsconf.cert, tlsconf.key)
    try:
        with socket.create_connection((host, port), TIMEOUT) as raw, \
                ctx.wrap_socket(raw, server_hostname=host) as tls:
            der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError):
        return None
    return x509.load_der_x509_certificate(der) if der else None


def x509_text(err: ssl.SSLCertVerificationError, host: str, port: int, tlsconf: TLSConf) -> str:
    """Go's x509 wording for a verification failure seen by Python's ssl."""
    code = err.verify_code
    if code in (9, 10):  # X509_V_ERR_CERT_NOT_YET_VALID, X509_V_ERR_CERT_HAS_EXPIRED
        now = dt.datetime.now(dt.UTC)
        cert = _peer_cert(host, port, tlsconf)
        if cert is None:
            return "x509: certificate has expired or is not yet valid"
        if code == 10:
            rel = f"is after {_go_time(cert.not_valid_after_utc)}"
        else:
            rel = f"is before {_go_time(cert.not_valid_before_utc)}"
        return ("x509: certificate has expired or is not yet valid: "
                f"current time {_go_time(now)} {rel}")
    if code == 62:  # hostname mismatch
        return f"x509: certificate is valid for other names, not {host}"
    if code in (2, 19, 20, 21):
        return "x509: certificate signed by unknown authority"
    return f"x509: {err.verify_message}"


def tls_alert_text(err: ssl.SSLError) -> str:
    """'remote error: tls: bad certificate' from OpenSSL's 'SSLV3_ALERT_BAD_CERTIFICATE'."""
    reason = str(getattr(err, "reason", None) or err)
    for marker in ("ALERT_", "alert "):
        if marker in reason:
            alert = reason.split(marker, 1)[1].split(" (", 1)[0].split("]", 1)[0]
            return f"remote error: tls: {alert.lower().replace('_', ' ')}"
    return f"tls: {reason.lower()}"


def _range_request(host: str, key: str) -> bytes:
    body = json.dumps({"key": base64.b64encode(key.encode()).decode()}).encode()
    head = (f"POST /v3/kv/range HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    return head.encode() + body


def _read_reply(tls: ssl.SSLSocket) -> bytes:
    chunks = []
    for _ in range(1024):  # bounded: replies here are a few hundred bytes
        data = tls.recv(65536)
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


def read_result(reply: bytes, endpoint: str) -> Attempt:
    """Turn the gateway's HTTP reply into the apiserver's health-check wording."""
    head, _, body = reply.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1:2]
    if status == [b"200"]:
        rev = ""
        try:
            rev = json.loads(body.decode(errors="replace")).get("header", {}).get("revision", "")
        except ValueError:
            pass  # chunked or odd body: the status line already says ok
        return Attempt(True, "I", "healthz.go:176",
                       f'"etcd" ok: read {HEALTH_KEY} from {endpoint} (revision {rev})')
    try:
        msg = json.loads(body.decode(errors="replace")).get("message", "")
    except ValueError:
        msg = body.decode(errors="replace").strip()[:200]
    return Attempt(False, "E", "healthz.go:261",
                   f'"etcd" failed: error getting data from etcd: '
                   f'{msg or head[:60].decode(errors="replace")}')


def attempt(endpoint: str, tlsconf: TLSConf, timeout: float = TIMEOUT) -> Attempt:
    """One real connection to etcd, described the way kube-apiserver logs it."""
    u = urlsplit(endpoint)
    host, port = u.hostname or "127.0.0.1", u.port or 2379
    addr = f"{host}:{port}"
    ctx = ssl.create_default_context(cafile=tlsconf.ca)
    ctx.load_cert_chain(tlsconf.cert, tlsconf.key)
    try:
        raw = socket.create_connection((host, port), timeout)
    except ConnectionRefusedError:
        return _dial_failed(addr, host, f"Error while dialing: dial tcp {addr}: connect: "
                                        "connection refused")
    except TimeoutError:
        return _dial_failed(addr, host, f"Error while dialing: dial tcp {addr}: i/o timeout")
    except OSError as exc:
        return _dial_failed(addr, host, f"Error while dialing: dial tcp {addr}: "
                                        f"{(exc.strerror or str(exc)).lower()}")
    with raw:
        return _talk(raw, ctx, endpoint, tlsconf)


def _talk(raw: socket.socket, ctx: ssl.SSLContext, endpoint: str, tlsconf: TLSConf) -> Attempt:
    u = urlsplit(endpoint)
    host, port = u.hostname or "127.0.0.1", u.port or 2379
    addr = f"{host}:{port}"
    try:
        with ctx.wrap_socket(raw, server_hostname=host) as tls:
            tls.sendall(_range_request(host, HEALTH_KEY))
            return read_result(_read_reply(tls), endpoint)
    except ssl.SSLCertVerificationError as exc:
        why = x509_text(exc, host, port, tlsconf)
        return _dial_failed(addr, host, f"authentication handshake failed: {why}")
    except ssl.SSLError as exc:
        return _dial_failed(addr, host, f"authentication handshake failed: {tls_alert_text(exc)}")
    except TimeoutError:
        return Attempt(False, "E", "healthz.go:261",
                       '"etcd" failed: error getting data from etcd: context deadline exceeded')
    except OSError as exc:
        return _dial_failed(addr, host, f"connection reset: read tcp {addr}: "
                                        f"{(exc.strerror or str(exc)).lower()}")


def run(args: argparse.Namespace) -> None:
    log = open_writer(args.log)
    tlsconf = TLSConf(args.etcd_cafile, args.etcd_certfile, args.etcd_keyfile)
    endpoint = args.etcd_servers.split(",")[0]
    log.write(klog_line("I", f"Version: v1.30.0-lab, node {args.node}, etcd {endpoint}",
                        "server.go:155"))
    for _ in range(args.max_attempts):
        result = attempt(endpoint, tlsconf)
        log.write(klog_line(result.level, result.msg, result.where))
        time.sleep(args.interval)
        if args.pidfile and not Path(args.pidfile).exists():
            break  # the lab forgot us (lab down, DIR removed): never linger as an orphan
    log.close()


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="blackstart.lab.apiserver")
    p.add_argument("component", choices=["kube-apiserver"])
    p.add_argument("--node", required=True)
    p.add_argument("--etcd-servers", required=True)
    p.add_argument("--advertise-address", default="")
    p.add_argument("--etcd-cafile", required=True)
    p.add_argument("--etcd-certfile", required=True)
    p.add_argument("--etcd-keyfile", required=True)
    p.add_argument("--log", required=True, type=Path)
    p.add_argument("--pidfile", default="")
    p.add_argument("--interval", type=float, default=2.0)
    p.add_argument("--max-attempts", type=int, default=10_000_000)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    run(parse(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
