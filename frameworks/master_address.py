"""The master a scheduler driver is given as ``host:port`` text, as its pid (``parse_master``)."""

from __future__ import annotations

from typing import Any

from transport.errors import PIDError
from transport.pid import PID, parse_address

__all__ = ["parse_master"]


def parse_master(master: Any) -> PID:
    """``"host:port"`` (or ``"master@host:port"``) -> the master's pid; ValueError naming bad text."""
    if not isinstance(master, str) or not master.strip():
        raise ValueError(f"master must be 'host:port', got {master!r}")
    text = master.strip()
    try:
        if "@" in text:
            return PID.parse(text)
        if ":" not in text:
            text += ":5050"  # pymesos' default for a bare host name
        host, port = parse_address(text)
    except PIDError as e:
        raise ValueError(f"master {text!r} must be host:port ({e})") from None
    if host == "localhost":
        host = "127.0.0.1"
    return PID("master", host, port)
