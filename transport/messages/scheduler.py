"""Messages between a scheduler driver and the master (and those the master relays)."""

from __future__ import annotations

from dataclasses import field
from typing import Any

from transport.schema import Message, message

__all__ = [
    "RegisterFramework",
    "ReregisterFramework",
    "FrameworkRegistered",
    "FrameworkReregistered",
    "UnregisterFramework",
    "DeactivateFramework",
    "FrameworkError",
    "ResourceOffers",
    "RescindResourceOffer",
    "AcceptOffers",
    "DeclineOffers",
    "ReviveOffers",
    "SuppressOffers",
    "KillTask",
    "ReconcileTasks",
    "ResourceRequest",
    "AgentLost",
    "ExitedExecutor",
    "StatusUpdate",
    "StatusUpdateAcknowledgement",
    "FrameworkToExecutor",
    "ExecutorToFramework",
]

Dict = dict[str, Any]


# Ids are plain text on the wire where a field only routes; the v1 JSON shapes
# (framework_info, task, status, offers) travel as dicts with {"value": ...} ids.


@message
class RegisterFramework(Message):
    """scheduler driver -> master: register ``framework`` (a v1 FrameworkInfo dict),
    with offers suppressed for ``suppressed_roles`` (v1 Subscribe's suppressed_roles)."""

    framework: Dict
    suppressed_roles: list[str] = field(default_factory=list)


@message
class ReregisterFramework(Message):
    """scheduler driver -> master: come back with ``framework["id"]`` after a disconnection or failover;
    ``suppressed_roles`` replaces the roles suppressed before (as a v1 re-Subscribe)."""

    framework: Dict
    failover: bool = False
    suppressed_roles: list[str] = field(default_factory=list)


@message
class FrameworkRegistered(Message):
    """master -> scheduler driver: registered as ``framework_id``."""

    framework_id: str
    master_info: Dict


@message
class FrameworkReregistered(Message):
    """master -> scheduler driver: re-registered."""

    framework_id: str
    master_info: Dict


@message
class UnregisterFramework(Message):
    """scheduler driver -> master: tear the framework down (stop without failover)."""

    framework_id: str


@message
class DeactivateFramework(Message):
    """scheduler driver -> master: disconnecting for failover; keep the tasks until failover_timeout."""

    framework_id: str


@message
class FrameworkError(Message):
    """master -> scheduler driver: a fatal error (e.g. framework removed); the driver aborts."""

    message: str


@message
class ResourceOffers(Message):
    """master -> scheduler driver: offers (v1 Offer dicts)."""

    offers: list[Dict]


@message
class RescindResourceOffer(Message):
    """master -> scheduler driver: the offer is no longer valid."""

    offer_id: str


@message
class AcceptOffers(Message):
    """scheduler driver -> master: run ``operations`` (v1 Offer.Operation dicts, e.g. LAUNCH) on offers."""

    framework_id: str
    offer_ids: list[str]
    operations: list[Dict]
    filters: Dict = field(default_factory=dict)


@message
class DeclineOffers(Message):
    """scheduler driver -> master: give the offers back, with filters (refuse_seconds)."""

    framework_id: str
    offer_ids: list[str]
    filters: Dict = field(default_factory=dict)


@message
class ReviveOffers(Message):
    """scheduler driver -> master: clear filters and unsuppress ``roles`` (all when empty)."""

    framework_id: str
    roles: list[str] = field(default_factory=list)


@message
class SuppressOffers(Message):
    """scheduler driver -> master: stop offers for ``roles`` (all when empty) until revived."""

    framework_id: str
    roles: list[str] = field(default_factory=list)


@message
class KillTask(Message):
    """scheduler driver -> master -> agent -> executor: kill a task."""

    framework_id: str
    task_id: str
    agent_id: str = ""
    kill_policy: Dict = field(default_factory=dict)


@message
class ReconcileTasks(Message):
    """scheduler driver -> master: statuses (v1 TaskStatus dicts) to reconcile; empty means implicit (all)."""

    framework_id: str
    statuses: list[Dict] = field(default_factory=list)


@message
class ResourceRequest(Message):
    """scheduler driver -> master: a hint of resources wanted (v1 Request dicts)."""

    framework_id: str
    requests: list[Dict]


@message
class AgentLost(Message):
    """master -> scheduler driver: an agent was removed (slaveLost)."""

    agent_id: str


@message
class ExitedExecutor(Message):
    """agent -> master -> scheduler driver: an executor ended (executorLost); ``status`` is its wait status."""

    agent_id: str
    framework_id: str
    executor_id: str
    status: int


@message
class StatusUpdate(Message):
    """executor -> agent -> master -> scheduler driver: a task's new state.

    ``status`` is a v1 TaskStatus dict (task_id, state, reason, message, source,
    agent_id, executor_id, timestamp, uuid, data); ``uuid`` identifies the update for
    acknowledgement (empty for updates that need none, e.g. reconciliation answers).
    ``latest_state`` (agent -> master, Mesos' ``latest_state``): the task's state at
    the agent as of sending, newer than ``status`` when this is an unacknowledged
    update resent while later ones wait behind it ("" from senders that do not say).
    """

    framework_id: str
    status: Dict
    uuid: bytes = b""
    agent_id: str = ""
    executor_id: str = ""
    timestamp: float = 0.0
    latest_state: str = ""


@message
class StatusUpdateAcknowledgement(Message):
    """scheduler driver -> master -> agent -> executor: the update ``uuid`` of ``task_id`` arrived."""

    agent_id: str
    framework_id: str
    task_id: str
    uuid: bytes


@message
class FrameworkToExecutor(Message):
    """scheduler driver -> master -> agent -> executor: opaque data."""

    agent_id: str
    framework_id: str
    executor_id: str
    data: bytes


@message
class ExecutorToFramework(Message):
    """executor -> agent -> master -> scheduler driver: opaque data."""

    agent_id: str
    framework_id: str
    executor_id: str
    data: bytes
