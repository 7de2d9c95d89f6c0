"""Process ids: ``name@host:port``, as in libprocess."""

from __future__ import annotations

import re
from dataclasses import dataclass

from transport.errors import PIDError

__all__ = ["PID", "parse_address"]

_NAME = re.compile(r"^[A-Za-z0-9_.()\-]+$")


def parse_address(text: str) -> tuple[str, int]:
    """Split ``host:port`` and validate it; raises PIDError naming the text."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise PIDError(f"address {text!r} must be host:port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not (port_text.isascii() and port_text.isdigit()):
        raise PIDError(f"address {text!r}: port {port_text!r} is not a number")
    port = int(port_text)
    if not 0 < port < 65536:
        raise PIDError(f"address {text!r}: port {port} is not in 1-65535")
    if any(c.isspace() for c in host):
        raise PIDError(f"address {text!r}: host {host!r} contains white space")
    return host, port


@dataclass(frozen=True, slots=True)
class PID:
    """The address of one process: its name and the host:port of its OS process."""

    name: str
    host: str
    port: int

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise PIDError(f"process name {self.name!r} must be letters, digits, and _.()-")
        if not 0 < self.port < 65536:
            raise PIDError(f"process {self.name!r}: port {self.port} is not in 1-65535")

    @classmethod
    def parse(cls, text: str) -> PID:
        """Parse ``name@host:port``; raises PIDError naming the bad text."""
        if not isinstance(text, str):
            raise PIDError(f"process id must be a string, got {type(text).__name__}")
        name, sep, address = text.partition("@")
        if not sep or not name:
            raise PIDError(f"process id {text!r} must be name@host:port")
        host, port = parse_address(address)
        try:
            return cls(name, host, port)
        except PIDError as e:
            raise PIDError(f"process id {text!r}: {e}") from None

    @property
    def address(self) -> str:
        """``host:port`` of the OS process holding this process."""
        return f"{self.host}:{self.port}"

    def __str__(self) -> str:
        return f"{self.name}@{self.host}:{self.port}"
