"""Test certificates for HTTPS, made with the openssl binary (tests/install_system_packages.sh)."""

from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["self_signed"]


def self_signed(directory: Path, name: str = "server") -> tuple[Path, Path]:
    """(certificate, key) PEM files of a fresh self-signed P-256 certificate for 127.0.0.1 and
    localhost, valid for a day; the certificate is its own CA."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=30)
    return cert, key
