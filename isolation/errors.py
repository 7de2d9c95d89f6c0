"""Errors of the isolation package."""

from __future__ import annotations

__all__ = ["IsolationError", "IsolationValueError"]


class IsolationError(Exception):
    """Base class of every isolation error (cgroup I/O, unknown container, ...)."""


class IsolationValueError(IsolationError, ValueError):
    """A bad value given to the isolation package: an unknown isolator in the
    ``--isolation`` flag, a negative limit, an unusable container id.

    Also a ``ValueError`` so flag parsing can turn it into exit status 2.
    """
