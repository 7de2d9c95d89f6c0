"""The scheduler driver's bookkeeping, sans IO (Mesos' SchedulerProcess state).

``DriverCore`` knows the framework, whether the master counts it connected,
the registration backoff and the offers it holds; its methods take already
normalised arguments (see the ``normalize_*`` functions, run on the caller's
thread so that bad input raises there) and return the messages to send and
the statuses the driver must deliver to its own scheduler.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from actors.scheduler.ids import as_dicts, id_value, normalize_ids, uuid_bytes
from actors.scheduler.shapes import b64_text, check_not_protobuf, plain
from transport.messages import (
    AcceptOffers,
    DeactivateFramework,
    DeclineOffers,
    FrameworkToExecutor,
    KillTask,
    ReconcileTasks,
    RegisterFramework,
    ReregisterFramework,
    ResourceRequest,
    ReviveOffers,
    StatusUpdate,
    StatusUpdateAcknowledgement,
    SuppressOffers,
    UnregisterFramework,
)
from transport.schema import Message

__all__ = [
    "REGISTRATION_BACKOFF_INITIAL",
    "REGISTRATION_BACKOFF_MAX",
    "DriverCore",
    "Effects",
    "launch_operations",
    "normalize_filters",
    "normalize_framework",
    "normalize_operations",
    "normalize_statuses",
    "normalize_tasks",
    "status_for_callback",
]

Dict = dict[str, Any]

REGISTRATION_BACKOFF_INITIAL = 1.0  # seconds; doubled after each unanswered attempt
REGISTRATION_BACKOFF_MAX = 30.0


@dataclass
class Effects:
    """What a core call asks the shell to do: messages for the master, statuses for our own scheduler."""

    send: list[Message] = field(default_factory=list)
    deliver: list[Dict] = field(default_factory=list)


# --- normalisation (pure; raises ValueError naming the bad value) ------------


def normalize_framework(framework_info: Any, principal: str | None = None) -> Dict:
    """A FrameworkInfo dict: a copy with ``id`` as ``{"value"}`` when given, ``principal`` filled."""
    check_not_protobuf(framework_info, "framework_info")
    if framework_info is None or not hasattr(framework_info, "keys"):
        raise ValueError(f"framework_info must be a dict, got {type(framework_info).__name__} {framework_info!r}")
    info: Dict = plain(framework_info, "framework_info")
    if info.get("id") in (None, "", {}):
        info.pop("id", None)
    normalize_ids(info, "id")
    if principal and not info.get("principal"):
        info["principal"] = principal
    return info


def _normalize_task(task: Dict, where: str) -> Dict:
    if "task_id" not in task:
        raise ValueError(f"{where} has no task_id: {task!r}")
    if "agent_id" not in task and "slave_id" in task:  # old (pre-1.0) spelling
        task["agent_id"] = task["slave_id"]
    task.pop("slave_id", None)
    normalize_ids(task, "task_id", "agent_id")
    _data_as_text(task)
    executor = task.get("executor")
    if isinstance(executor, dict):
        task["executor"] = _data_as_text(normalize_ids(executor, "executor_id", "framework_id"))
    return task


def _data_as_text(info: Dict) -> Dict:
    """A TaskInfo's or ExecutorInfo's ``data`` given as bytes travels as base64 text (its v1 JSON form)."""
    if isinstance(info.get("data"), (bytes, bytearray, memoryview)):
        info["data"] = b64_text(info["data"])
    return info


def normalize_tasks(tasks: Any) -> list[Dict]:
    """One task dict or a list -> copies with ids as ``{"value"}``; unknown keys are kept."""
    return [_normalize_task(t, f"tasks[{i}]") for i, t in enumerate(as_dicts(tasks, "tasks"))]


def launch_operations(tasks: list[Dict]) -> list[Dict]:
    return [{"type": "LAUNCH", "launch": {"task_infos": tasks}}] if tasks else []


def normalize_operations(operations: Any) -> list[Dict]:
    """One operation dict or a list; LAUNCH operations get their tasks normalised."""
    out = as_dicts(operations, "operations")
    for i, op in enumerate(out):
        kind = op.get("type")
        if not isinstance(kind, str):
            raise ValueError(f"operations[{i}] has no type: {op!r}")  # noqa: TRY004
        if kind == "LAUNCH":
            launch = op.get("launch")
            if not isinstance(launch, dict):
                raise ValueError(f"operations[{i}] is LAUNCH without a 'launch' dict: {op!r}")
            op["launch"] = dict(launch, task_infos=normalize_tasks(launch.get("task_infos")))
    return out


def normalize_statuses(statuses: Any) -> list[Dict]:
    """Statuses to reconcile: one dict or a list, ids as ``{"value"}``."""
    out = as_dicts(statuses, "statuses")
    for i, status in enumerate(out):
        if "task_id" not in status:
            raise ValueError(f"statuses[{i}] has no task_id: {status!r}")
        if "agent_id" not in status and "slave_id" in status:
            status["agent_id"] = status.pop("slave_id")
        normalize_ids(status, "task_id", "agent_id", "executor_id")
    return out


def normalize_filters(filters: Any) -> Dict:
    if filters is None:
        return {}
    check_not_protobuf(filters, "filters")
    if not hasattr(filters, "keys"):
        raise ValueError(f"filters must be a dict like {{'refuse_seconds': 5.0}}, got {filters!r}")
    return plain(filters, "filters")  # type: ignore[no-any-return]


def status_for_callback(msg: StatusUpdate) -> Dict:
    """The v1 TaskStatus handed to ``statusUpdate``: ids as ``{"value"}``, ``uuid`` only if it needs an ack."""
    status = normalize_ids(dict(msg.status), "task_id", "agent_id", "executor_id")
    uuid = msg.uuid or uuid_bytes(status.get("uuid") or None)
    if uuid:
        status["uuid"] = uuid
    else:
        status.pop("uuid", None)
    if msg.agent_id and "agent_id" not in status:
        status["agent_id"] = {"value": msg.agent_id}
    if msg.executor_id and "executor_id" not in status:
        status["executor_id"] = {"value": msg.executor_id}
    if msg.timestamp and "timestamp" not in status:
        status["timestamp"] = msg.timestamp
    return status


# --- the core --------------------------------------------------------------------


class DriverCore:
    """State of one scheduler driver between its framework and the master."""

    def __init__(self, framework: Dict, implicit_acknowledgements: bool = True) -> None:
        self.framework = framework
        self.framework_id = id_value(framework["id"], "framework_info.id") if "id" in framework else ""
        self.implicit_acknowledgements = implicit_acknowledgements
        self.connected = False
        # A new driver coming with an id takes over from an older scheduler (Mesos' failover flag).
        self.failover = bool(self.framework_id)
        self.backoff = REGISTRATION_BACKOFF_INITIAL
        self.attempts = 0
        self.offers: dict[str, str] = {}  # offer id -> agent id of the offers we hold
        # Roles suppressed by suppressOffers and not revived since: sent with every
        # (re)registration, so suppression survives re-registration and master failover.
        self.suppressed_roles: list[str] = []

    @property
    def partition_aware(self) -> bool:
        caps = self.framework.get("capabilities") or []
        return any(isinstance(c, dict) and c.get("type") == "PARTITION_AWARE" for c in caps)

    # --- registration ----------------------------------------------------------

    def registration(self) -> Message:
        """The next (re)registration attempt."""
        self.attempts += 1
        if self.framework_id:
            framework = dict(self.framework, id={"value": self.framework_id})
            return ReregisterFramework(framework=framework, failover=self.failover,
                                       suppressed_roles=list(self.suppressed_roles))
        return RegisterFramework(framework=self.framework, suppressed_roles=list(self.suppressed_roles))

    def next_backoff(self) -> float:
        """Seconds until the next attempt if this one goes unanswered (doubling, capped)."""
        delay = self.backoff
        self.backoff = min(self.backoff * 2, REGISTRATION_BACKOFF_MAX)
        return delay

    def registered(self, framework_id: str) -> bool:
        """FrameworkRegistered/Reregistered arrived; False if it must be ignored (already connected)."""
        if self.connected:
            return False
        self.framework_id = framework_id
        self.framework["id"] = {"value": framework_id}
        self.connected = True
        self.failover = False
        self.backoff = REGISTRATION_BACKOFF_INITIAL
        self.attempts = 0
        return True

    def disconnected(self) -> bool:
        """The master is gone; True if we had been connected (the scheduler must be told)."""
        was = self.connected
        self.connected = False
        self.backoff = REGISTRATION_BACKOFF_INITIAL
        self.offers.clear()
        return was

    # --- offers -------------------------------------------------------------------

    def offers_received(self, offers: list[Dict]) -> list[Dict]:
        out = []
        for offer in offers:
            offer = normalize_ids(dict(offer), "id", "framework_id", "agent_id")
            if "id" in offer and "agent_id" in offer:
                self.offers[offer["id"]["value"]] = offer["agent_id"]["value"]
            out.append(offer)
        return out

    def rescinded(self, offer_id: str) -> None:
        self.offers.pop(offer_id, None)

    def accept(self, offer_ids: list[str], operations: list[Dict], filters: Dict) -> Effects:
        launches = [t for op in operations if op.get("type") == "LAUNCH" for t in op["launch"]["task_infos"]]
        if not self.connected:
            return Effects(deliver=[self._lost(t) for t in launches])
        agent = next((self.offers[o] for o in offer_ids if o in self.offers), None)
        for task in launches:
            if "agent_id" not in task and agent is not None:
                task["agent_id"] = {"value": agent}
        for o in offer_ids:
            self.offers.pop(o, None)
        if not operations:  # launchTasks with no tasks: Mesos declines the offers
            return Effects(send=[DeclineOffers(framework_id=self.framework_id, offer_ids=offer_ids, filters=filters)])
        msg = AcceptOffers(framework_id=self.framework_id, offer_ids=offer_ids, operations=operations, filters=filters)
        return Effects(send=[msg])

    def _lost(self, task: Dict) -> Dict:
        """What Mesos' driver tells its scheduler for a launch it could not send."""
        return {
            "task_id": task["task_id"],
            "state": "TASK_DROPPED" if self.partition_aware else "TASK_LOST",
            "source": "SOURCE_MASTER",
            "reason": "REASON_MASTER_DISCONNECTED",
            "message": "Master disconnected",
        }

    def decline(self, offer_ids: list[str], filters: Dict) -> Effects:
        if not self.connected:
            return Effects()
        for o in offer_ids:
            self.offers.pop(o, None)
        return Effects(send=[DeclineOffers(framework_id=self.framework_id, offer_ids=offer_ids, filters=filters)])

    # --- everything else the framework asks for ------------------------------

    def _if_connected(self, msg: Message) -> Effects:
        return Effects(send=[msg]) if self.connected else Effects()

    def kill(self, task_id: str) -> Effects:
        return self._if_connected(KillTask(framework_id=self.framework_id, task_id=task_id))

    def _roles(self) -> list[str]:
        roles = self.framework.get("roles")
        if isinstance(roles, list) and roles:
            return [r for r in roles if isinstance(r, str)]
        role = self.framework.get("role")
        return [role] if isinstance(role, str) and role else ["*"]

    def revive(self, roles: list[str]) -> Effects:
        """Revive ``roles`` (all the framework's when empty): no longer suppressed."""
        revived = set(roles or self._roles())
        self.suppressed_roles = [r for r in self.suppressed_roles if r not in revived]
        return self._if_connected(ReviveOffers(framework_id=self.framework_id, roles=roles))

    def suppress(self, roles: list[str]) -> Effects:
        """Suppress ``roles`` (all the framework's when empty), remembered for re-registration."""
        own = self._roles()
        self.suppressed_roles += [r for r in dict.fromkeys(roles or own) if r in own and r not in self.suppressed_roles]
        return self._if_connected(SuppressOffers(framework_id=self.framework_id, roles=roles))

    def reconcile(self, statuses: list[Dict]) -> Effects:
        return self._if_connected(ReconcileTasks(framework_id=self.framework_id, statuses=statuses))

    def framework_message(self, executor_id: str, agent_id: str, data: bytes) -> Effects:
        msg = FrameworkToExecutor(agent_id=agent_id, framework_id=self.framework_id, executor_id=executor_id, data=data)
        return self._if_connected(msg)

    def request_resources(self, requests: list[Dict]) -> Effects:
        return self._if_connected(ResourceRequest(framework_id=self.framework_id, requests=requests))

    def acknowledge(self, status: Dict) -> Effects:
        """An ack for ``status`` if it carries a uuid and an agent id (else there is nothing to ack)."""
        if not self.connected:
            return Effects()
        uuid = uuid_bytes(status.get("uuid"))
        agent = status.get("agent_id")
        task = status.get("task_id")
        if not uuid or agent is None or task is None:
            return Effects()
        msg = StatusUpdateAcknowledgement(
            agent_id=id_value(agent, "status.agent_id"),
            framework_id=self.framework_id,
            task_id=id_value(task, "status.task_id"),
            uuid=uuid,
        )
        return Effects(send=[msg])

    def implicit_ack(self, status: Dict) -> Effects:
        return self.acknowledge(status) if self.implicit_acknowledgements else Effects()

    def stop(self, failover: bool) -> Effects:
        """stop(): teardown (UnregisterFramework) or, for failover, DeactivateFramework."""
        if not self.framework_id:
            return Effects()
        if failover:
            return Effects(send=[DeactivateFramework(framework_id=self.framework_id)])
        return Effects(send=[UnregisterFramework(framework_id=self.framework_id)])

    def abort(self) -> Effects:
        """abort(): Mesos tells a connected master to deactivate the framework (stop offers)."""
        return self._if_connected(DeactivateFramework(framework_id=self.framework_id))

