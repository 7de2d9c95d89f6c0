"""TLS contexts of the HTTP side (the standard library's ssl): the server's, from PEM files, and
a client's, checking servers against a CA file (Mesos' LIBPROCESS_SSL_CA_FILE by default)."""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping

from transport.errors import TransportError

__all__ = ["client_context", "server_context"]


def server_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """A TLS 1.2+ server context with the PEM certificate chain and key; TransportError naming
    the files and the fault if they cannot be used."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as e:
        raise TransportError(f"cannot use --ssl_cert_file={cert_file} with --ssl_key_file={key_file}: "
                             f"{getattr(e, 'strerror', None) or e}") from None
    return context


def client_context(ca_file: str = "", environ: Mapping[str, str] | None = None) -> ssl.SSLContext:
    """What an https:// request is checked with: ``ca_file`` (PEM), else LIBPROCESS_SSL_CA_FILE,
    else the system's CAs; TransportError naming a file that cannot be used."""
    ca_file = ca_file or (os.environ if environ is None else environ).get("LIBPROCESS_SSL_CA_FILE", "")
    try:
        return ssl.create_default_context(cafile=ca_file or None)
    except (OSError, ssl.SSLError) as e:
        raise TransportError(f"--ssl_ca_file {ca_file!r}: {getattr(e, 'strerror', None) or e}") from None
