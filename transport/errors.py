"""Errors raised by the transport layer."""

from __future__ import annotations

__all__ = ["TransportError", "PIDError", "DecodeError", "SchemaError", "AddressInUse"]


class TransportError(Exception):
    """Base class of every transport error."""


class AddressInUse(TransportError, OSError):
    """The port asked for is taken by another process."""


class PIDError(TransportError, ValueError):
    """A process id that cannot be parsed or is out of range."""


class SchemaError(TransportError, ValueError):
    """A message record whose fields do not match its schema."""


class DecodeError(TransportError, ValueError):
    """Bytes from the wire that do not decode into a valid message.

    ``reason`` is a short category used as a counter key:
    ``oversized``, ``garbage``, ``bad_envelope``, ``unknown_type``, ``bad_fields``,
    ``too_deep``.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
