"""Every wire message of mesopy, in one place (Mesos' messages.proto).

Each record names its sender and receiver in its docstring. Fields hold plain
data: text, numbers, bytes, and Mesos v1 JSON shapes as dicts (resources,
task infos, statuses) so that what a framework passes in travels unchanged.
Mesos' names are kept, with Agent for Slave.
"""

from __future__ import annotations

from typing import Any

from transport.schema import Message, message

__all__ = [
    # runtime
    "Link", "Exited", "RequestFailed", "Echo",
]

Dict = dict[str, Any]


# --- runtime ------------------------------------------------------------------


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
