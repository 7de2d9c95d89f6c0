"""pymesos' helpers, by the names its users import (``from frameworks.utils import ...``).

``encode_data(bytes) -> str``: base64 text, the v1 JSON form of a ``bytes``
field (task ``data``, status ``data``, framework messages); text is encoded as
UTF-8 first (pymesos would raise on Python 3). ``decode_data(str | bytes) -> bytes``
reverses it. ``parse_duration(text) -> float`` reads Mesos' duration text
(``5secs``, ``1.5mins``, ``100ms``, ``2days``, ``3weeks``) and plain seconds
(``"5"``), as the MESOS_* environment carries them.
"""

from __future__ import annotations

import base64
import binascii

from actors.flags import parse_duration

__all__ = ["decode_data", "encode_data", "parse_duration"]


def encode_data(data: bytes | bytearray | memoryview | str) -> str:
    """Base64 text of ``data`` (no trailing newline)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"encode_data takes bytes, got {type(data).__name__} {data!r}")
    return base64.b64encode(bytes(data)).decode("ascii")


def decode_data(data: str | bytes | bytearray) -> bytes:
    """The bytes that base64 ``data`` (text or ASCII bytes) stands for; ValueError naming bad input."""
    if isinstance(data, str):
        try:
            data = data.encode("ascii")
        except UnicodeEncodeError:
            raise ValueError(f"decode_data: {data!r} is not base64 text") from None
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"decode_data takes base64 text or bytes, got {type(data).__name__} {data!r}")
    try:
        return binascii.a2b_base64(bytes(data))
    except binascii.Error as e:
        raise ValueError(f"decode_data: {bytes(data)!r} is not base64 ({e})") from None
