"""Who may send what: one entitlement table per role, consulted before dispatch.

Each role (master, agent, scheduler driver, executor driver) builds an
:class:`Entitlements` from a table ``message type -> rule``. A rule is
``rule(sender, message) -> reason | None``: None when ``sender`` (a pid text)
is entitled to send that message, else a short constant reason
(``"not_current_master"``, ``"not_framework_scheduler"``...). A message type
missing from the table may come from anyone (registrations, pings answered
by the runtime...). A refused message is dropped, counted by (message type,
reason), and logged as ``message_not_entitled`` — the first ``log_first`` of
each (type, reason) in full, then every ``log_every``-th with its count — so a
flood of forgeries costs a counter increment, not a log line.

Reasons are constants chosen by the rules, never values from the message, so
the counter table stays as small as the table of rules.

Pure: no I/O, no clock; thread-safe counting (a Process's handlers run on its
own thread, but tests read the counts from others).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

import structlog

__all__ = ["LOG_EVERY", "LOG_FIRST", "Entitlements", "Rule", "only_from"]

Rule = Callable[[str, Any], "str | None"]
LOG_FIRST = 5
LOG_EVERY = 1000

log = structlog.get_logger(__name__)


def only_from(current: Callable[[], str | None], reason: str) -> Rule:
    """A rule: the sender must be ``current()`` (e.g. the current master's pid text); None is nobody."""

    def rule(sender: str, msg: Any) -> str | None:
        expected = current()
        return None if expected is not None and sender == expected else reason

    return rule


class Entitlements:
    """The table of one ``role``; see the module docstring."""

    def __init__(self, role: str, rules: Mapping[type, Rule], *, log_first: int = LOG_FIRST,
                 log_every: int = LOG_EVERY) -> None:
        self.role = role
        self.rules = dict(rules)
        self.log_first = log_first
        self.log_every = max(1, log_every)
        self._dropped: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def refusal(self, sender: str, msg: Any) -> str | None:
        """Why ``sender`` may not send ``msg`` (counted and logged), or None if it may."""
        rule = self.rules.get(type(msg))
        if rule is None:
            return None
        reason = rule(sender, msg)
        if reason is not None:
            self.refuse(sender, type(msg).__name__, reason)
        return reason

    def allows(self, sender: str, msg: Any) -> bool:
        return self.refusal(sender, msg) is None

    def guard(self, handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        """``handler(sender, msg)`` (a Process handler, sender a PID) behind this table."""

        def guarded(sender: Any, msg: Any) -> Any:
            if self.refusal(str(sender), msg) is not None:
                return None
            return handler(sender, msg)

        return guarded

    def dropped(self, type_name: str | None = None, reason: str | None = None) -> int:
        """Messages refused, in total or of one type and/or reason."""
        with self._lock:
            return sum(n for (t, r), n in self._dropped.items()
                       if type_name in (None, t) and reason in (None, r))

    def snapshot(self) -> dict[str, int]:
        """``"Type:reason" -> count`` (for state and metrics endpoints)."""
        with self._lock:
            return {f"{t}:{r}": n for (t, r), n in sorted(self._dropped.items())}

    def refuse(self, sender: str, type_name: str, reason: str) -> None:
        """Count (and maybe log) one refused message; for checks that are not table rules."""
        key = (type_name, reason)
        with self._lock:
            count = self._dropped.get(key, 0) + 1
            self._dropped[key] = count
        if count <= self.log_first or count % self.log_every == 0:
            log.warning("message_not_entitled", role=self.role, type=type_name, reason=reason,
                        sender=sender[:200], count=count, logged_every=None if count <= self.log_first
                        else self.log_every)
