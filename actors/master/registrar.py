"""The master's registrar (Mesos' ``Registrar``): registry operations applied in order, each acted on
only once it is stored.

``apply(change, then, out)`` changes the registry and, once the registry that
holds the change is stored, runs ``then(out)``: the master acknowledges an
agent's registration, or marks its tasks unreachable, only after that. One
write is outstanding at a time; operations that arrive meanwhile are batched
into the next write, so writes are ordered and each holds every change before
it. A failed write is final (``failed``): the master aborts, as Mesos'
does, since it can no longer promise what it acknowledges.

In memory (no ``--zk``) there is nothing to wait for: ``then`` runs at once.
Pure: the shell carries out ``WriteRegistry`` and reports with ``written``.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from actors.master.model import Abort, Effect, WriteRegistry
from actors.master.registry import Registry, RegistryError

__all__ = ["Continuation", "Registrar"]

log = structlog.get_logger(__name__)
Continuation = Callable[[list[Effect]], None]


class Registrar:
    """``durable``: the registry is stored outside the master (ZooKeeper) and each change waits for it."""

    def __init__(self, durable: bool) -> None:
        self.durable = durable
        self.registry = Registry()
        self.failed = ""
        self.writes = 0  # writes completed (for metrics and tests)
        self._pending: list[Continuation] = []
        self._writing: list[Continuation] | None = None

    @property
    def busy(self) -> bool:
        """A write is outstanding."""
        return self._writing is not None

    def apply(self, change: Callable[[Registry], None], then: Continuation, out: list[Effect]) -> None:
        """Apply ``change`` to the registry; run ``then(out)`` once it is stored (never, if storing fails)."""
        if self.failed:
            log.warning("registry_operation_dropped", reason=self.failed)
            return
        change(self.registry)
        if not self.durable:
            then(out)
            return
        self._pending.append(then)
        if self._writing is None:
            self._write(out)

    def written(self, error: str, out: list[Effect]) -> None:
        """The outstanding write ended (``error`` "" when stored): run its continuations, start the next."""
        batch, self._writing = self._writing, None
        if batch is None:
            log.warning("registry_write_unexpected")
            return
        if error:
            self._fail(f"registry write failed: {error}", out)
            return
        self.writes += 1
        for then in batch:
            then(out)
        if self._pending and not self.failed:
            self._write(out)

    def _write(self, out: list[Effect]) -> None:
        batch, self._pending = self._pending, []
        try:
            data = self.registry.encode()
        except RegistryError as e:
            self._fail(str(e), out)
            return
        self._writing = batch
        out.append(WriteRegistry(data))

    def _fail(self, reason: str, out: list[Effect]) -> None:
        self.failed = reason
        self._pending.clear()
        log.error("registrar_failed", reason=reason)
        out.append(Abort(reason))
