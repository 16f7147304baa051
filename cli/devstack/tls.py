"""A local certificate authority for the secure stack: one CA, certificates issued from it.

Everything is generated on this machine at the first secure start and kept under
`<devstack>/tls/` (private keys readable by the owner only), so that the broker, Redis and the
gateway speak TLS on loopback exactly as they would in production, without anyone handing out
certificates. A production deployment brings its own CA; nothing outside the local stack reads
this directory.

Keys are ECDSA P-256: small, fast handshakes, and understood by Java 17, OpenSSL (librdkafka,
Redis) and Python's ssl module alike. Java reads its key store as PKCS#12 (its PEM key store
wants encrypted PKCS#8 keys, which librdkafka and Redis would then need passwords for); the
others read PEM.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.tls import certificate_sha256

CA_NAME = "reward-ledger local CA"
VALID_DAYS = 825  # the longest lifetime browsers and most TLS stacks accept for a leaf
LOOPBACK_NAMES = ("localhost",)
LOOPBACK_ADDRESSES = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class IssuedCertificate:
    """A certificate and its key as files: PEM for OpenSSL users, PKCS#12 for Java."""

    name: str
    certificate: Path
    key: Path
    pkcs12: Path
    pkcs12_password: str

    def sha256(self) -> str:
        """The certificate's SHA-256 fingerprint, lowercase hex (what an API key binds to)."""
        return certificate_sha256(self.certificate.read_bytes())


class LocalAuthority:
    """The CA under `directory`; created on first use, reused afterwards."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def ca_certificate(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def _ca_key(self) -> Path:
        return self.directory / "ca.key"

    def ensure(self) -> None:
        if self.ca_certificate.exists() and self._ca_key.exists():
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
        now = _now()
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        _write_private(self._ca_key, _pem_key(key))
        self.ca_certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))

    def issue(self, name: str, common_name: str, server: bool = True) -> IssuedCertificate:
        """The certificate `name` (issued once, then reused) for `common_name`.

        A server certificate names every loopback address, so clients verify the host name as
        they would in production; every certificate may also authenticate its holder as a
        client (the brokers present theirs to each other, partners theirs to the gateway).
        """
        issued = self._files(name)
        if issued.certificate.exists() and issued.key.exists() and issued.pkcs12.exists():
            return issued
        self.ensure()
        ca_key = serialization.load_pem_private_key(self._ca_key.read_bytes(), password=None)
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        ca = x509.load_pem_x509_certificate(self.ca_certificate.read_bytes())
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        usages = [ExtendedKeyUsageOID.CLIENT_AUTH]
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
        )
        if server:
            usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName(n) for n in LOOPBACK_NAMES]
                    + [x509.IPAddress(ipaddress.ip_address(a)) for a in LOOPBACK_ADDRESSES]
                ),
                critical=False,
            )
        certificate = builder.add_extension(x509.ExtendedKeyUsage(usages), False).sign(
            ca_key, hashes.SHA256()
        )
        _write_private(issued.key, _pem_key(key))
        issued.certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        _write_private(
            issued.pkcs12,
            pkcs12.serialize_key_and_certificates(
                name=name.encode(),
                key=key,
                cert=certificate,
                cas=[ca],
                encryption_algorithm=serialization.BestAvailableEncryption(
                    issued.pkcs12_password.encode()
                ),
            ),
        )
        return issued

    def _files(self, name: str) -> IssuedCertificate:
        password_file = self.directory / f"{name}.p12.password"
        if not password_file.exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            _write_private(password_file, secrets.token_urlsafe(24).encode())
        return IssuedCertificate(
            name=name,
            certificate=self.directory / f"{name}.pem",
            key=self.directory / f"{name}.key",
            pkcs12=self.directory / f"{name}.p12",
            pkcs12_password=password_file.read_text().strip(),
        )


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_private(path: Path, data: bytes) -> None:
    """Write a secret readable by its owner only, never briefly world-readable."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
