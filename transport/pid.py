"""Process ids: ``name@host:port``, as in libprocess."""

from __future__ import annotations

import re
from dataclasses import dataclass

from transport.errors import PIDError

__all__ = ["PID", "parse_address", "MAX_NAME", "MAX_HOST", "MAX_PID_TEXT"]

_NAME = re.compile(r"^[A-Za-z0-9_.()\-]+$")
MAX_NAME = 256  # characters of a process name
MAX_HOST = 255  # characters of a host (a DNS name is at most 253)
MAX_PID_TEXT = MAX_NAME + 1 + MAX_HOST + 8  # name@host:port, bracketed IPv6 included


def _shown(text: str) -> str:
    """``text`` for an error message: at most 60 characters of it."""
    return repr(text) if len(text) <= 60 else repr(text[:57]) + f"... ({len(text)} characters)"


def parse_address(text: str) -> tuple[str, int]:
    """Split ``host:port`` and validate it; raises PIDError naming the text."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise PIDError(f"address {_shown(text)} must be host:port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not (port_text.isascii() and port_text.isdigit()):
        raise PIDError(f"address {_shown(text)}: port {_shown(port_text)} is not a number")
    if len(port_text) > 5:  # before int(): 5,000 digits must cost nothing (and int() refuses 4,301)
        raise PIDError(f"address {_shown(text)}: port {_shown(port_text)} is not in 1-65535")
    port = int(port_text)
    if not 0 < port < 65536:
        raise PIDError(f"address {_shown(text)}: port {port} is not in 1-65535")
    if len(host) > MAX_HOST:
        raise PIDError(f"address {_shown(text)}: host of {len(host)} characters (at most {MAX_HOST})")
    if not host.isascii() or not host.isprintable() or " " in host:
        raise PIDError(f"address {_shown(text)}: host {_shown(host)} must be printable ASCII without white space")
    return host, port


@dataclass(frozen=True, slots=True)
class PID:
    """The address of one process: its name and the host:port of its OS process."""

    name: str
    host: str
    port: int

    def __post_init__(self) -> None:
        if len(self.name) > MAX_NAME or not _NAME.fullmatch(self.name):
            raise PIDError(f"process name {_shown(self.name)} must be at most {MAX_NAME} letters, "
                           "digits, and _.()-")
        if type(self.port) is not int or not 0 < self.port < 65536:
            raise PIDError(f"process {self.name!r}: port {self.port} is not in 1-65535")

    @classmethod
    def parse(cls, text: str) -> PID:
        """Parse ``name@host:port``; raises PIDError naming the bad text."""
        if not isinstance(text, str):
            raise PIDError(f"process id must be a string, got {type(text).__name__}")
        if len(text) > MAX_PID_TEXT:
            raise PIDError(f"process id {_shown(text)} is longer than {MAX_PID_TEXT} characters")
        name, sep, address = text.partition("@")
        if not sep or not name:
            raise PIDError(f"process id {_shown(text)} must be name@host:port")
        host, port = parse_address(address)
        try:
            return cls(name, host, port)
        except PIDError as e:
            raise PIDError(f"process id {_shown(text)}: {e}") from None

    @property
    def address(self) -> str:
        """``host:port`` of the OS process holding this process."""
        return f"{self.host}:{self.port}"

    def __str__(self) -> str:
        return f"{self.name}@{self.host}:{self.port}"
