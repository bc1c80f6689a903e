"""``telehealth serve --dev --lan``: HTTPS on this machine's LAN address, for a phone to join.

A phone's browser gives a page its camera only in a secure context, and a phone cannot reach
127.0.0.1, so the development server can listen on the LAN address with a self-signed
certificate naming that address. The certificate and its key are kept in ignored files next to
``.dev-secret`` (``.dev-lan-cert.pem``, ``.dev-lan-key.pem``), so the exception a browser was
told to make for it survives restarts; a new one is made only when the address changes or it is
about to expire. Development only: never a way to run a deployment.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CERT_FILE = ".dev-lan-cert.pem"
KEY_FILE = ".dev-lan-key.pem"
VALID_DAYS = 365
RENEW_BEFORE_DAYS = 14
COMMON_NAME = "Rapport development (self-signed)"
# Private addresses a UDP socket is "connected" to: no packet is sent, the kernel only picks the
# route, and so the source address a LAN peer would see.
_PROBE_TARGETS = ("10.255.255.255", "192.168.255.255", "172.31.255.255")


class LanError(Exception):
    """No LAN address to serve on, or the certificate files cannot be used."""


def _usable(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return not (ip.is_loopback or ip.is_unspecified or ip.is_link_local or ip.is_multicast)


def find_lan_address() -> str:
    """This machine's IPv4 address on its local network."""
    for target in _PROBE_TARGETS:
        with (
            contextlib.suppress(OSError),
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe,
        ):
            probe.connect((target, 9))
            address = str(probe.getsockname()[0])
            if _usable(address):
                return address
    # No route to a private network: any address the host name resolves to, other than loopback.
    with contextlib.suppress(OSError):
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            address = str(info[4][0])
            if _usable(address):
                return address
    raise LanError("no LAN address found (is this machine on a network?): give one with --lan-host")


@dataclass(frozen=True)
class DevCertificate:
    cert_path: Path
    key_path: Path
    address: str

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert_path, self.key_path)
        return context


def _still_good(cert_path: Path, address: str, now: dt.datetime) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return False
    ips = [str(ip) for ip in names.get_values_for_type(x509.IPAddress)]
    renew_at = cert.not_valid_after_utc - dt.timedelta(days=RENEW_BEFORE_DAYS)
    return address in ips and now < renew_at


def ensure_certificate(directory: Path, address: str) -> DevCertificate:
    """The self-signed certificate for ``address`` in ``directory``: the kept one when it still
    names the address and is not about to expire, else a new one (P-256, a year)."""
    ipaddress.ip_address(address)  # ValueError for a name: the SAN must be an IP address
    cert_path, key_path = directory / CERT_FILE, directory / KEY_FILE
    now = dt.datetime.now(dt.UTC)
    if key_path.is_file() and _still_good(cert_path, address, now):
        return DevCertificate(cert_path, key_path, address)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, COMMON_NAME)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(address))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(key_pem)
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    except OSError as exc:
        raise LanError(f"cannot write the development certificate in {directory}: {exc}") from exc
    return DevCertificate(cert_path, key_path, address)


def fingerprint(cert_path: Path) -> str:
    """The SHA-256 fingerprint as browsers show it (AA:BB:...), to compare on the phone."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()
