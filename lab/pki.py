"""A kubeadm-shaped etcd PKI for the lab (ETCD_FACTS §4), made with `cryptography`.

One etcd CA shared by every node; per node a server and a peer cert carrying the node's
name and IP in their SANs with serverAuth+clientAuth, a healthcheck-client cert and the
apiserver-etcd-client cert. `reissue` re-signs an existing cert with the same key and
subject but other validity dates: that is how the lab fakes an expired certificate.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LEAF_DAYS = 365
CA_DAYS = 3650
SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH
CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH


@dataclass(frozen=True)
class CA:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _name(cn: str, org: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def new_key() -> ec.EllipticCurvePrivateKey:
    # P-256 keeps the lab fast on 2 cores; kubeadm also supports ECDSA keys.
    return ec.generate_private_key(ec.SECP256R1())


def make_ca() -> CA:
    key = new_key()
    start = _now() - dt.timedelta(minutes=5)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("etcd-ca"))
        .issuer_name(_name("etcd-ca"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    return CA(cert, key)


def _usage(ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=not ca,
        data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=False,
        encipher_only=False, decipher_only=False,
    )


def node_sans(node: str, ip: str) -> list[x509.GeneralName]:
    """kubeadm's etcd server/peer SANs: node name, localhost, advertise IP, 127.0.0.1, ::1."""
    ips = dict.fromkeys([ip, "127.0.0.1", "::1"])
    return [x509.DNSName(node), x509.DNSName("localhost")] + [
        x509.IPAddress(ipaddress.ip_address(i)) for i in ips
    ]


def issue(
    ca: CA, key: ec.EllipticCurvePrivateKey, subject: x509.Name,
    usages: list[x509.ObjectIdentifier], *, sans: list[x509.GeneralName] | None = None,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> x509.Certificate:
    """Sign a leaf cert the way kubeadm does (NotBefore = the CA's NotBefore, 365 days)."""
    start = not_before or ca.cert.not_valid_before_utc
    end = not_after or (_now() + dt.timedelta(days=LEAF_DAYS))
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), False
        )
    )
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return b.sign(ca.key, hashes.SHA256())


# --------------------------------------------------------------------------- files


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_pair(base: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    """Write base.crt (0644) and base.key (0600)."""
    base.parent.mkdir(parents=True, exist_ok=True)
    _write(base.with_suffix(".crt"), cert_pem(cert), 0o644)
    _write(base.with_suffix(".key"), key_pem(key), 0o600)


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def load_ca(base: Path) -> CA:
    cert = x509.load_pem_x509_certificate(base.with_suffix(".crt").read_bytes())
    key = serialization.load_pem_private_key(base.with_suffix(".key").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return CA(cert, key)


# --------------------------------------------------------------------------- per node


def pki_paths(node_root: Path) -> dict[str, Path]:
    """Base paths (without .crt/.key) of every cert on a node, by kubeadm role."""
    pki = node_root / "etc/kubernetes/pki"
    return {
        "etcd-ca": pki / "etcd/ca",
        "etcd-server": pki / "etcd/server",
        "etcd-peer": pki / "etcd/peer",
        "etcd-healthcheck-client": pki / "etcd/healthcheck-client",
        "apiserver-etcd-client": pki / "apiserver-etcd-client",
    }


def write_node_pki(node_root: Path, node: str, ip: str, ca: CA) -> None:
    """Issue every cert of one control-plane node (skips nothing; overwrites)."""
    paths = pki_paths(node_root)
    write_pair(paths["etcd-ca"], ca.cert, ca.key)
    both = [SERVER_AUTH, CLIENT_AUTH]
    for role in ("etcd-server", "etcd-peer"):
        key = new_key()
        write_pair(paths[role], issue(ca, key, _name(node), both, sans=node_sans(node, ip)), key)
    clients = {
        "etcd-healthcheck-client": "kube-etcd-healthcheck-client",
        "apiserver-etcd-client": "kube-apiserver-etcd-client",
    }
    for role, cn in clients.items():
        key = new_key()
        write_pair(paths[role], issue(ca, key, _name(cn, "system:masters"), [CLIENT_AUTH]), key)


def reissue(base: Path, ca: CA, not_before: dt.datetime, not_after: dt.datetime) -> Path:
    """Re-sign base.crt with the same key, subject, SANs and EKU but new dates.

    The old cert is moved aside with a timestamp (never deleted). Returns that path."""
    old = x509.load_pem_x509_certificate(base.with_suffix(".crt").read_bytes())
    key = serialization.load_pem_private_key(base.with_suffix(".key").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    eku = old.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    try:
        sans: list[x509.GeneralName] | None = list(
            old.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        )
    except x509.ExtensionNotFound:
        sans = None
    new = issue(ca, key, old.subject, list(eku), sans=sans, not_before=not_before,
                not_after=not_after)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    aside = base.with_name(f"{base.name}.crt.{stamp}")
    os.rename(base.with_suffix(".crt"), aside)
    _write(base.with_suffix(".crt"), cert_pem(new), 0o644)
    return aside
