"""The flags of where a master or an agent listens and what it advertises (Mesos' names).

``--ip``/``--port`` are what the ZeroMQ ROUTER binds; ``--advertise_ip`` and
``--advertise_port`` are what goes into its pids, i.e. where peers send
(default: the bound address, with ``--ip=0.0.0.0`` the host's routable IP);
``--hostname`` is only the name shown to people (MasterInfo/AgentInfo
``hostname``), never used to reach the process. ``--encrypt`` and the key files
turn CURVE on for every ZeroMQ link; ``--ssl_cert_file``/``--ssl_key_file`` (or
Mesos' ``LIBPROCESS_SSL_ENABLED`` with ``LIBPROCESS_SSL_CERT_FILE``/``_KEY_FILE``)
serve the HTTP port over TLS only (docs/security.md).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from transport.addresses import WILDCARD_IPS
from transport.curve import CurveKeys, load_key_pair

__all__ = ["HEARTBEAT_INTERVAL", "ListenFlags"]

HEARTBEAT_INTERVAL = 0.5  # seconds between the runtime's pings of each linked peer


def _ipv4(flag: str, value: str) -> None:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        raise ValueError(f"--{flag}: {value!r} is not an IPv4 address (e.g. 10.0.0.1)") from None


@dataclass
class ListenFlags:
    """Base of MasterConfig and AgentConfig; each sets its own ``port`` default."""

    ip: str = field(default="127.0.0.1", metadata={"help": "IP address to listen on (0.0.0.0: every interface)"})
    port: int = field(default=0, metadata={"help": "port to listen on (0: any free port)"})
    advertise_ip: str = field(default="", metadata={
        "help": "IP address put in this process's pid, for peers to send to (e.g. behind NAT)",
        "default_text": "--ip; with --ip=0.0.0.0 the host's routable address"})
    advertise_port: int | None = field(default=None, metadata={
        "help": "port put in this process's pid (e.g. a forwarded port)", "default_text": "--port"})
    http_port: int | None = field(default=None, metadata={
        "help": "port of the HTTP endpoints (0: any free port)", "default_text": "--port minus 10; 0 with --port=0"})
    http: bool = field(default=True, metadata={"help": "serve the HTTP endpoints (--no-http: none)"})
    heartbeat_timeout: float = field(default=75.0, metadata={
        "help": "seconds a connected peer (scheduler, agent, executor, master) may stay silent, as in a GC or "
                "VM pause, before it counts as gone; a peer whose process died is seen at once, from its "
                "closed connection"})
    hostname: str = field(default="", metadata={
        "help": "name shown to users for this process (MasterInfo/AgentInfo hostname); not used to reach it",
        "default_text": "the advertised IP"})
    encrypt: bool = field(default=False, metadata={
        "help": "CURVE-encrypt every ZeroMQ link (with no --curve_secret_key: a key pair made at start, "
                "so peers must learn it anew after a restart)"})
    curve_secret_key: str = field(default="", metadata={
        "help": "this process's CURVE key pair: ZeroMQ's secret certificate file (as zmq.auth.create_certificates "
                "writes it); implies --encrypt"})
    ssl_cert_file: str = field(default="", metadata={
        "help": "PEM certificate (chain) of the HTTP port: serve HTTPS only (Mesos: LIBPROCESS_SSL_CERT_FILE)"})
    ssl_key_file: str = field(default="", metadata={
        "help": "PEM private key of --ssl_cert_file (Mesos: LIBPROCESS_SSL_KEY_FILE)"})
    curve_public_key: str = field(default="", metadata={
        "help": "ZeroMQ's public certificate file of the same pair (needed only if the secret file lacks public-key)"})

    def validate_listen(self) -> None:
        """Raises ValueError naming the first bad flag of these."""
        if self.ip not in WILDCARD_IPS:
            _ipv4("ip", self.ip)
        if not 0 <= self.port < 65536:
            raise ValueError(f"--port must be in 0-65535, got {self.port!r}")
        if self.advertise_ip:
            _ipv4("advertise_ip", self.advertise_ip)
            if self.advertise_ip in WILDCARD_IPS:
                raise ValueError(f"--advertise_ip: {self.advertise_ip!r} cannot be sent to; name this host's address")
        if self.http and not 0 <= self.http_listen_port() < 65536:
            raise ValueError(f"--http_port must be in 0-65535, got {self.http_listen_port()!r}"
                             + ("" if self.http_port is not None else f" (--port {self.port} minus 10); set --http_port"))
        if not self.heartbeat_timeout > HEARTBEAT_INTERVAL or self.heartbeat_timeout == float("inf"):
            raise ValueError(f"--heartbeat_timeout must be a number of seconds > {HEARTBEAT_INTERVAL}, "
                             f"got {self.heartbeat_timeout!r}")
        if self.advertise_port is not None and not 0 < self.advertise_port < 65536:
            raise ValueError(f"--advertise_port must be in 1-65535, got {self.advertise_port!r}")
        if bool(self.ssl_cert_file) != bool(self.ssl_key_file):
            given, missing = ("ssl_cert_file", "ssl_key_file") if self.ssl_cert_file else ("ssl_key_file", "ssl_cert_file")
            raise ValueError(f"--{given} needs --{missing} (the certificate and its private key)")
        if self.ssl_cert_file:
            from transport.errors import TransportError
            from transport.tls import server_context

            try:
                server_context(self.ssl_cert_file, self.ssl_key_file)
            except TransportError as e:
                raise ValueError(str(e)) from None
        if self.curve_public_key and not self.curve_secret_key:
            raise ValueError("--curve_public_key needs --curve_secret_key (the pair's secret certificate)")
        if self.curve_secret_key:
            load_key_pair(self.curve_secret_key, self.curve_public_key)  # CurveError is a ValueError

    def tls_files(self, environ: Mapping[str, str]) -> tuple[str, str] | None:
        """(certificate, key) for HTTPS: the flags, else Mesos' LIBPROCESS_SSL_* variables when
        LIBPROCESS_SSL_ENABLED is true; None: plain HTTP."""
        if self.ssl_cert_file:
            return self.ssl_cert_file, self.ssl_key_file
        if environ.get("LIBPROCESS_SSL_ENABLED", "").strip().lower() in ("1", "true", "yes"):
            cert, key = environ.get("LIBPROCESS_SSL_CERT_FILE", ""), environ.get("LIBPROCESS_SSL_KEY_FILE", "")
            if cert and key:
                return cert, key
        return None

    @property
    def encrypted(self) -> bool:
        return self.encrypt or bool(self.curve_secret_key)

    def curve_keys(self) -> CurveKeys | None:
        """The key pair of --curve_secret_key, a new one with just --encrypt, None without CURVE."""
        if self.curve_secret_key:
            return load_key_pair(self.curve_secret_key, self.curve_public_key)
        if not self.encrypt:
            return None
        from transport.endpoint import generate_key_pair

        return generate_key_pair()

    def http_listen_port(self) -> int:
        """The HTTP port to bind: --http_port, else --port minus 10 (0 when --port is 0)."""
        if self.http_port is not None:
            return self.http_port
        return self.port - 10 if self.port else 0

    def node_options(self) -> dict[str, Any]:
        """The advertise and heartbeat arguments of ``Node(ip, port, ...)``."""
        return {"advertise_host": self.advertise_ip or None, "advertise_port": self.advertise_port,
                "heartbeat_interval": HEARTBEAT_INTERVAL, "heartbeat_timeout": self.heartbeat_timeout,
                "curve": self.curve_keys()}
