"""Certificate renewal as kubeadm does it, in pure functions over PEM bytes.

The existing certificate is the authoritative source: subject, SANs and extended key
usage are copied from it; a new key of the same type is generated; the CA on disk signs
it with SHA-256; NotAfter = now + 365 days. CAs are never renewed here.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtensionOID

from blackstart.checks.errors import BlackstartError
from blackstart.checks.formats.x509 import analyze_cert

LEAF_DAYS = 365
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


class CertError(BlackstartError):
    """A certificate or key cannot be read, matched or signed."""


def time_problem(cert_pem: bytes, now: float, path: str = "certificate") -> str | None:
    """'expired', 'not-yet-valid' or None, by the given clock: the checks' own judgement,
    so the renew plan and the findings can never disagree about what is expired."""
    info = analyze_cert(cert_pem, path=path, node="", role="", now=now)
    if info.error:
        raise CertError(info.error)
    return next((p for p in ("expired", "not-yet-valid") if p in info.problems), None)


def is_ca(cert_pem: bytes) -> bool:
    try:
        bc = _load_cert(cert_pem).extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return False
    return bool(bc.value.ca)


def renew(cert_pem: bytes, ca_cert_pem: bytes, ca_key_pem: bytes, now: float
          ) -> tuple[bytes, bytes]:
    """(new cert PEM, new key PEM) keeping subject, SANs and EKU of `cert_pem`."""
    old = _load_cert(cert_pem)
    ca = _load_cert(ca_cert_pem)
    ca_key = _load_key(ca_key_pem)
    key = _new_key_like(old)
    t = dt.datetime.fromtimestamp(now, dt.UTC)
    b = (x509.CertificateBuilder()
         .subject_name(old.subject)
         .issuer_name(ca.subject)
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         # kubeadm: NotBefore = the CA's, so a node whose clock went back still accepts it
         .not_valid_before(ca.not_valid_before_utc)
         .not_valid_after(t + dt.timedelta(days=LEAF_DAYS))
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(_key_usage(), critical=True))
    for oid in (ExtensionOID.EXTENDED_KEY_USAGE, ExtensionOID.SUBJECT_ALTERNATIVE_NAME):
        try:
            ext = old.extensions.get_extension_for_oid(oid)
        except x509.ExtensionNotFound:
            continue
        b = b.add_extension(ext.value, critical=ext.critical)
    b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
        ca_key.public_key()), critical=False)
    algo = None if isinstance(ca_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    cert = b.sign(ca_key, algo)
    _issued_by(cert, ca)
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL
                                if not isinstance(key, ed25519.Ed25519PrivateKey)
                                else serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def describe(cert_pem: bytes) -> str:
    c = _load_cert(cert_pem)
    try:
        sans = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        san_text = ", ".join(str(v.value) for v in sans)
    except x509.ExtensionNotFound:
        san_text = "-"
    return f"subject {c.subject.rfc4514_string()}; SANs {san_text}"


def _key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=True, key_encipherment=True,
                         content_commitment=False, data_encipherment=False,
                         key_agreement=False, key_cert_sign=False, crl_sign=False,
                         encipher_only=False, decipher_only=False)


def _new_key_like(old: x509.Certificate) -> PrivateKey:
    pub = old.public_key()
    if isinstance(pub, rsa.RSAPublicKey):
        return rsa.generate_private_key(65537, max(2048, pub.key_size))
    if isinstance(pub, ec.EllipticCurvePublicKey):
        return ec.generate_private_key(pub.curve)
    if isinstance(pub, ed25519.Ed25519PublicKey):
        return ed25519.Ed25519PrivateKey.generate()
    raise CertError(f"unsupported key type {type(pub).__name__}")


def _load_cert(pem: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise CertError(f"not a PEM certificate: {exc}") from exc


def _load_key(pem: bytes) -> PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise CertError(f"not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
                      | ed25519.Ed25519PrivateKey):
        raise CertError(f"unsupported CA key type {type(key).__name__}")
    return key


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> None:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise CertError("the CA key does not match the CA certificate: a cert it signs "
                        f"does not verify against the CA ({type(exc).__name__})") from exc


def check_ca_pair(ca_cert_pem: bytes, ca_key_pem: bytes, sample_pem: bytes, now: float
                  ) -> None:
    """Before any file moves: the CA cert parses, the key parses and is the CA's own, and
    it signs a test cert (shaped like `sample_pem`) that verifies against the CA."""
    ca = _load_cert(ca_cert_pem)
    key = _load_key(ca_key_pem)
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    if (key.public_key().public_bytes(serialization.Encoding.DER, pub)
            != ca.public_key().public_bytes(serialization.Encoding.DER, pub)):
        raise CertError("the CA key is not the key of the CA certificate (public keys differ)")
    renew(sample_pem, ca_cert_pem, ca_key_pem, now)
