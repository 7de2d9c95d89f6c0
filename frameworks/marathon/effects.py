"""What Marathon's core asks its shell to do (pure records): store, launch, kill, decline, revive,
reconcile, publish an event. The shell carries them out in order (stores first: nothing is
launched or acknowledged before it is durable)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Decline", "Effect", "Event", "Kill", "Launch", "Reconcile", "Remove", "Revive", "Save"]


@dataclass(frozen=True)
class Save:
    key: str
    value: bytes


@dataclass(frozen=True)
class Remove:
    key: str


@dataclass(frozen=True)
class Launch:
    offer_ids: list[dict[str, str]]
    tasks: list[dict[str, Any]]


@dataclass(frozen=True)
class Decline:
    offer_ids: list[dict[str, str]]
    refuse_seconds: float


@dataclass(frozen=True)
class Kill:
    task_id: str
    agent_id: str


@dataclass(frozen=True)
class Revive:
    pass


@dataclass(frozen=True)
class Reconcile:
    statuses: list[dict[str, Any]] = field(default_factory=list)  # empty: implicit


@dataclass(frozen=True)
class Event:
    """One event of ``/v2/events`` (``eventType`` is in ``data``)."""

    data: dict[str, Any]


Effect = Save | Remove | Launch | Decline | Kill | Revive | Reconcile | Event
