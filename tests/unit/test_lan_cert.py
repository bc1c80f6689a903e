"""The ``--lan`` certificate: made once for the address, kept across restarts (so a browser's
exception survives), made again for a new address; the key is readable by its owner only; and
``--lan`` is refused outside development mode."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from cryptography import x509

from telehealth import lan
from telehealth.cli import main


def test_the_certificate_names_the_address_and_is_kept(tmp_path: Path) -> None:
    first = lan.ensure_certificate(tmp_path, "192.168.1.20")
    cert = x509.load_pem_x509_certificate(first.cert_path.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("192.168.1.20")]
    assert first.key_path.stat().st_mode & 0o777 == 0o600
    kept = first.cert_path.read_bytes()
    again = lan.ensure_certificate(tmp_path, "192.168.1.20")
    assert again.cert_path.read_bytes() == kept  # a restart: the same certificate
    again.ssl_context()  # the key and certificate belong together
    moved = lan.ensure_certificate(tmp_path, "10.0.0.7")
    assert moved.cert_path.read_bytes() != kept


def test_a_broken_certificate_file_is_replaced(tmp_path: Path) -> None:
    lan.ensure_certificate(tmp_path, "192.168.1.20")
    (tmp_path / lan.CERT_FILE).write_text("not a certificate")
    fresh = lan.ensure_certificate(tmp_path, "192.168.1.20")
    fresh.ssl_context()


def test_a_name_is_not_an_address(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        lan.ensure_certificate(tmp_path, "my-laptop.local")


def test_lan_needs_dev_mode(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # serve forbids the SDK's loopback patch for the rest of the process: not in the tests'.
    monkeypatch.setattr("rapport_sdk.loopback.forbid_in_this_process", lambda: None)
    monkeypatch.setenv("TELEHEALTH_JWT_SECRET", "lan-secret-" + "x" * 40)
    assert main(["serve", "--lan", "--lan-host", "127.0.0.1", "--cert-dir", str(tmp_path)]) == 2
    assert "--dev" in capsys.readouterr().err
    assert main(["serve", "--dev", "--lan-host", "laptop", "--cert-dir", str(tmp_path)]) == 2
    assert "must be an IP address" in capsys.readouterr().err
