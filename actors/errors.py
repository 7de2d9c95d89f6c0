"""Errors of the actor runtime."""

from __future__ import annotations

__all__ = ["RuntimeFailure", "NameTaken", "ProcessStopped", "PeerExited", "RequestTimeout", "RemoteError"]


class RuntimeFailure(Exception):
    """Base class of the runtime's errors."""


class NameTaken(RuntimeFailure, ValueError):
    """A process name already in use on this node."""


class ProcessStopped(RuntimeFailure):
    """The requesting process stopped before its request was answered."""


class PeerExited(RuntimeFailure):
    """The process a request went to stopped, or its node died, before answering."""


class RequestTimeout(RuntimeFailure, TimeoutError):
    """No response within the request's timeout."""


class RemoteError(RuntimeFailure):
    """The receiver could not answer: no such process, no handler, or its handler failed."""
