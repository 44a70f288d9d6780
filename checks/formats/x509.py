"""Pure certificate analysis: one PEM certificate (plus its key and CA) → a CertInfo.

No I/O: the probe (checks.probes.certificates) reads the files and the node's clock and passes bytes
and `now` in. Problems are short stable strings in `CertInfo.problems`, each explained in
`CertInfo.explain[problem]`:

  expired, not-yet-valid, expiring (< 30 days), chain (not signed by the CA),
  key-mismatch, san (a host of the member's URLs not covered), eku, ca-flag

Input that cannot be parsed (empty, garbage, truncated, DER instead of PEM, huge, an
encrypted key) gives a CertInfo whose `error` names the file and the reason; this module
never raises for bad bytes.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Callable, Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID

from blackstart.checks.probe_results import CertInfo

MAX_PEM = 1 << 20  # a certificate or key file over 1 MiB is not a certificate
EXPIRING_DAYS = 30
SERVER_ROLES = ("etcd-server", "etcd-peer")
CLIENT_ROLES = ("etcd-healthcheck-client", "apiserver-etcd-client")
CA_ROLES = ("etcd-ca",)
CLOCK_HINT = ("check the clock first: a clock reset by the power loss makes valid "
              "certificates look expired or not yet valid")


class BadInput(Exception):
    """A file that is not what it should be; the message names the file and why."""


# --------------------------------------------------------------------------- loading


def load_cert(data: bytes, path: str) -> x509.Certificate:
    """The first certificate of a PEM file, or BadInput naming `path` and the reason."""
    _check_size(data, path, "certificate")
    if b"-----BEGIN" not in data:
        if data[:1] == b"\x30":
            raise BadInput(f"{path}: DER-encoded (binary) certificate, expected PEM "
                           f"(convert: openssl x509 -inform der -in {path})")
        raise BadInput(f"{path}: not a PEM certificate (no BEGIN CERTIFICATE line)")
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise BadInput(f"{path}: PEM file holds no CERTIFICATE block")
    try:
        return x509.load_pem_x509_certificate(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise BadInput(f"{path}: truncated or malformed PEM certificate ({_short(exc)})") from exc


def load_cas(data: bytes, path: str) -> list[x509.Certificate]:
    """Every certificate of a CA file (a bundle during a CA rotation holds several)."""
    first = load_cert(data, path)  # the clear errors for an empty/DER/garbage file
    try:
        return x509.load_pem_x509_certificates(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return [first]  # a damaged later block: judge by the first one


def load_key(data: bytes, path: str) -> PrivateKeyTypes:
    """The private key of a PEM file, or BadInput (encrypted, DER, garbage...)."""
    _check_size(data, path, "key")
    if b"-----BEGIN" not in data:
        raise BadInput(f"{path}: not a PEM private key")
    if b"ENCRYPTED" in data:
        raise BadInput(f"{path}: the private key is encrypted (passphrase-protected); "
                       "etcd cannot use it and blackstart cannot compare it")
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError as exc:  # cryptography's way to say "needs a password"
        raise BadInput(f"{path}: the private key is encrypted (passphrase-protected)") from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise BadInput(f"{path}: truncated or malformed private key ({_short(exc)})") from exc


def _check_size(data: bytes, path: str, what: str) -> None:
    if not data.strip():
        raise BadInput(f"{path}: empty {what} file")
    if len(data) > MAX_PEM:
        raise BadInput(f"{path}: {len(data)} bytes, too large for a {what} file")


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__


# --------------------------------------------------------------------------- analysis


def analyze_cert(
    cert_pem: bytes, *, path: str, node: str, role: str, member: str | None = None,
    key_pem: bytes | None = None, ca_pem: bytes | None = None, now: float,
    expect_hosts: Sequence[str] = (), key_path: str | None = None, ca_path: str | None = None,
) -> CertInfo:
    """Analyze one certificate at `now` (the NODE's clock, epoch seconds).

    `expect_hosts`: hosts/IPs the SANs must cover (from the member's URLs). Unreadable key
    or CA files are reported in `error` (naming them) while the certificate's own findings
    are still filled in.
    """
    info = CertInfo(path=path, node=node, role=role, member=member)
    try:
        cert = load_cert(cert_pem, path)
    except BadInput as exc:
        info.error = str(exc)
        return info
    try:
        _describe(info, cert, now)
        _check_validity(info, cert, now)
        _check_ca_flag(info, cert, role)
        _check_eku(info, cert, role)
        _check_sans(info, cert, expect_hosts)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        # cryptography parses some fields lazily: a malformed name or extension surfaces here
        info.error = f"{path}: malformed certificate content ({_short(exc)})"
        return info
    errors: list[str] = []
    if key_pem is not None:
        _guard(errors, lambda: _check_key(info, cert, load_key(key_pem, key_path or "key")))
    if ca_pem is not None:
        _guard(errors, lambda: _check_chain(info, cert, load_cas(ca_pem, ca_path or "ca"),
                                            role))
    if errors:
        info.error = "; ".join(errors)
    return info


def _guard(errors: list[str], fn: Callable[[], None]) -> None:
    try:
        fn()
    except BadInput as exc:
        errors.append(str(exc))


def _problem(info: CertInfo, name: str, why: str) -> None:
    if name not in info.problems:
        info.problems.append(name)
    info.explain[name] = why


def _describe(info: CertInfo, cert: x509.Certificate, now: float) -> None:
    info.subject = cert.subject.rfc4514_string()
    info.issuer = cert.issuer.rfc4514_string()
    info.not_before = cert.not_valid_before_utc.timestamp()
    info.not_after = cert.not_valid_after_utc.timestamp()
    info.days_left = (info.not_after - now) / 86400
    info.sans = [f"DNS:{d}" for d in _dns_sans(cert)] + [f"IP:{i}" for i in _ip_sans(cert)]


def _when(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _ago(seconds: float) -> str:
    days = seconds / 86400
    return f"{days:.0f} days" if days >= 2 else f"{seconds / 3600:.1f} hours"


def _check_validity(info: CertInfo, cert: x509.Certificate, now: float) -> None:
    nb, na = info.not_before or 0.0, info.not_after or 0.0
    if now < nb:
        _problem(info, "not-yet-valid",
                 f"NotBefore is {_when(nb)}, {_ago(nb - now)} after the node's clock "
                 f"({_when(now)}): {CLOCK_HINT}")
    if now >= na:
        _problem(info, "expired",
                 f"expired on {_when(na)}, {_ago(now - na)} ago by the node's clock; "
                 f"{CLOCK_HINT}, then renew it")
    elif na - now < EXPIRING_DAYS * 86400:
        _problem(info, "expiring",
                 f"expires on {_when(na)}, in {_ago(na - now)}: renew it soon")


def _basic_ca(cert: x509.Certificate) -> bool | None:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return None
    except ValueError:  # a malformed extension
        return None


def _check_ca_flag(info: CertInfo, cert: x509.Certificate, role: str) -> None:
    is_ca = _basic_ca(cert)
    if role in CA_ROLES and not is_ca:
        _problem(info, "ca-flag", "this CA certificate lacks basicConstraints CA:TRUE, so "
                                  "nothing it signs will verify")
    elif role not in CA_ROLES and is_ca:
        _problem(info, "ca-flag", "a leaf certificate with CA:TRUE; kubeadm issues etcd leaf "
                                  "certificates with CA:FALSE")


def _eku(cert: x509.Certificate) -> set[x509.ObjectIdentifier] | None:
    try:
        return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except (x509.ExtensionNotFound, ValueError):
        return None  # no EKU extension: Go accepts the certificate for any usage


_EKU_NAMES = {ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
              ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth"}


def _check_eku(info: CertInfo, cert: x509.Certificate, role: str) -> None:
    have = _eku(cert)
    if have is None or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in have:
        return
    need = {ExtendedKeyUsageOID.CLIENT_AUTH}
    if role in SERVER_ROLES:
        need.add(ExtendedKeyUsageOID.SERVER_AUTH)
    elif role not in CLIENT_ROLES:
        return
    missing = sorted(_EKU_NAMES[o] for o in need - have)
    if missing:
        _problem(info, "eku", f"extended key usage lacks {' and '.join(missing)}; {role} "
                              f"needs {_need_text(role)}")


def _need_text(role: str) -> str:
    if role in SERVER_ROLES:
        return "serverAuth + clientAuth (etcd uses it both ways, etcd#9785)"
    return "clientAuth"


def _check_key(info: CertInfo, cert: x509.Certificate, key: PrivateKeyTypes) -> None:
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        theirs = cert.public_key().public_bytes(*fmt)
    except (ValueError, UnsupportedAlgorithm):
        theirs = b""  # a key type cryptography cannot load cannot match the key file
    if key.public_key().public_bytes(*fmt) != theirs:
        _problem(info, "key-mismatch", "the key file's public key is not the certificate's: "
                                       "they do not belong together")


def _check_chain(info: CertInfo, cert: x509.Certificate, cas: list[x509.Certificate],
                 role: str) -> None:
    if role in CA_ROLES and cert in cas:
        return
    whys = [_not_issued_by(cert, ca) for ca in cas]
    if all(whys):
        names = ", ".join(ca.subject.rfc4514_string() for ca in cas)
        _problem(info, "chain", f"not signed by the CA {names}: {whys[0]}; issued by another "
                                "CA (another cluster, a regenerated CA?)")


def _not_issued_by(cert: x509.Certificate, ca: x509.Certificate) -> str:
    """Why `ca` did not sign `cert` ("" if it did): issuer name, then signature."""
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm) as exc:
        if cert.issuer != ca.subject:
            return "the issuer is not the CA's subject"
        return f"the CA's signature does not verify ({_short(exc) or 'bad signature'})"
    return ""


# --------------------------------------------------------------------------- SANs


def _san_ext(cert: x509.Certificate) -> x509.SubjectAlternativeName | None:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return None


def _dns_sans(cert: x509.Certificate) -> list[str]:
    ext = _san_ext(cert)
    return [] if ext is None else list(ext.get_values_for_type(x509.DNSName))


def _ip_sans(cert: x509.Certificate) -> list[str]:
    ext = _san_ext(cert)
    return [] if ext is None else [str(ip) for ip in ext.get_values_for_type(x509.IPAddress)]


def host_covered(host: str, dns: Sequence[str], ips: Sequence[str]) -> bool:
    """Whether a SAN set covers `host` the way Go's x509 does.

    An IP must be in the IP SANs (a DNS SAN spelling the IP does not count); a name
    matches a DNS SAN case-insensitively, and `*.a.b` covers exactly one extra label.
    The CN is ignored (Go ≥ 1.15).
    """
    host = host.strip("[]").rstrip(".")
    try:
        want = ipaddress.ip_address(host)
    except ValueError:
        return any(dns_match(pattern, host) for pattern in dns)
    return any(_same_ip(want, ip) for ip in ips)


def _same_ip(want: ipaddress.IPv4Address | ipaddress.IPv6Address, san: str) -> bool:
    try:
        return ipaddress.ip_address(san) == want
    except ValueError:
        return False


def dns_match(pattern: str, host: str) -> bool:
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern == host:
        return True
    if not pattern.startswith("*."):
        return False
    head, _, rest = host.partition(".")
    return bool(head) and rest == pattern[2:]


def _check_sans(info: CertInfo, cert: x509.Certificate, hosts: Sequence[str]) -> None:
    dns, ips = _dns_sans(cert), _ip_sans(cert)
    missing = [h for h in hosts if h and not host_covered(h, dns, ips)]
    if missing:
        have = ", ".join(info.sans) or "no SANs at all"
        _problem(info, "san", f"does not cover {', '.join(missing)} (has {have}); clients "
                              "dialling it fail with 'certificate is valid for …, not …'. "
                              "Issue a per-node certificate; never copy one between nodes")


# --------------------------------------------------------------------------- TLS blame


# What each TLS failure string implicates: (substring, problems that would cause it,
# which certificates to suspect). The TLS error never names the file; this narrows it.
_TLS_RULES: tuple[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...] = (
    (("certificate has expired or is not yet valid",),
     ("expired", "not-yet-valid"), ("server", "client", "ca")),
    (("tls: expired certificate",), ("expired", "not-yet-valid"), ("client",)),
    (("tls: bad certificate", "tls: unknown certificate"),
     ("expired", "not-yet-valid", "chain", "eku", "key-mismatch"), ("client", "ca")),
    (("unknown authority",), ("chain", "expired", "not-yet-valid"), ("server", "ca")),
    (("is valid for", "not valid for any names", "does not match any of DNSNames"),
     ("san",), ("server",)),
    (("private key does not match",), ("key-mismatch",), ("server", "client")),
)


def tls_suspects(certs: Sequence[CertInfo], *, member: str | None, client_cert: str | None,
                 error_text: str) -> list[CertInfo]:
    """The certificate files most likely at fault for a TLS failure, best suspect first.

    `member`: the member whose endpoint failed (its server cert is a suspect);
    `client_cert`: the path of the client certificate used (blackstart's or the
    apiserver's). Certificates showing a problem that explains the error come first; if
    none does, the certificate the error points at (e.g. the rejected client cert) is
    returned alone. Empty when the text is not a TLS error we know.
    """
    for needles, causes, roles in _TLS_RULES:
        if any(n in error_text for n in needles):
            candidates = _candidates(certs, member, client_cert, roles)
            guilty = [c for c in candidates if set(c.problems) & set(causes)]
            return guilty or candidates[:1]
    return []


def _candidates(certs: Sequence[CertInfo], member: str | None, client_cert: str | None,
                roles: Sequence[str]) -> list[CertInfo]:
    out: list[CertInfo] = []
    for kind in roles:
        out.extend(c for c in certs if _is(c, kind, member, client_cert) and c not in out)
    return out


def _is(c: CertInfo, kind: str, member: str | None, client_cert: str | None) -> bool:
    if kind == "server":
        return c.role == "etcd-server" and (member is None or c.member == member)
    if kind == "client":
        return client_cert is not None and c.path == client_cert
    return c.role in CA_ROLES
