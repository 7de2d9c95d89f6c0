"""Messages of the runtime itself: links, exits, failed requests, echo."""

from __future__ import annotations

from typing import Any

from transport.schema import Message, message

__all__ = ["Link", "Exited", "RequestFailed", "Echo", "MasterRedirect"]

Dict = dict[str, Any]


@message
class Link(Message):
    """node -> remote node: tell me when the receiver process exits."""


@message
class Exited(Message):
    """node -> linker: the process ``pid`` has stopped (or its node is gone)."""

    pid: str


@message
class RequestFailed(Message):
    """responding node -> requester: the request could not be answered, and why."""

    error: str


@message
class Echo(Message):
    """any -> any: a payload to bounce back (tests and benchmarks of the runtime)."""

    payload: bytes = b""
    seq: int = 0


@message
class MasterRedirect(Message):
    """standby master -> agent or scheduler driver: I do not lead; register with ``leader`` ("" when none is elected)."""

    leader: str
    message: str = ""
