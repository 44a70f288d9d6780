"""Certificates made with `cryptography` for the cert tests: a CA and leafs with any flaw.

Standalone on purpose (no lab/ import): each test says exactly which flaw it builds.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = dt.datetime(2026, 11, 26, 1, 0, 0, tzinfo=dt.UTC)
NOW_TS = NOW.timestamp()
SERVER = (ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH)
CLIENT = (ExtendedKeyUsageOID.CLIENT_AUTH,)


@dataclass(frozen=True)
class Pair:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def cert_der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())

    def key_pem_encrypted(self, password: bytes = b"secret") -> bytes:
        return self.key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.BestAvailableEncryption(password))


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(cn: str = "etcd-ca", *, ca_flag: bool = True, base: dt.datetime = NOW) -> Pair:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(base - dt.timedelta(days=100))
        .not_valid_after(base + dt.timedelta(days=3550))
        .add_extension(x509.BasicConstraints(ca=ca_flag, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return Pair(cert, key)


def make_leaf(ca: Pair, cn: str = "etcd1", *, dns: tuple[str, ...] = ("etcd1", "localhost"),
              ips: tuple[str, ...] = ("127.0.0.1", "::1"), eku: tuple[x509.ObjectIdentifier,
              ...] | None = SERVER, start_days: float = -100, end_days: float = 265,
              ca_flag: bool = False, base: dt.datetime = NOW) -> Pair:
    """A leaf signed by `ca`, valid from base+start_days to base+end_days."""
    key = ec.generate_private_key(ec.SECP256R1())
    b = (
        x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(ca.cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(base + dt.timedelta(days=start_days))
        .not_valid_after(base + dt.timedelta(days=end_days))
        .add_extension(x509.BasicConstraints(ca=ca_flag, path_length=None), critical=True)
    )
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    if names:
        b = b.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if eku is not None:
        b = b.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    return Pair(b.sign(ca.key, hashes.SHA256()), key)
