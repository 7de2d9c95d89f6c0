"""Mesos' v1 executor HTTP API in the agent's terms: calls to messages, messages to events.

Pure (no I/O). An HTTP executor (pymesos' ``MesosExecutorDriver``) is an
executor like any other: its ``SUBSCRIBE`` is the driver's ``RegisterExecutor``,
``UPDATE`` its ``StatusUpdate`` and ``MESSAGE`` its ``ExecutorToFramework``;
what the agent sends it (``ExecutorRegistered``, ``RunTask``...) becomes a v1
event on its stream (``SUBSCRIBED``, ``LAUNCH``, ``KILL``, ``ACKNOWLEDGED``,
``MESSAGE``, ``SHUTDOWN``). Statuses lacking ``agent_id``/``executor_id`` or
with an integer ``timestamp`` (as pymesos sends them) are completed.
"""

from __future__ import annotations

from typing import Any

from actors.scheduler.ids import id_value, uuid_bytes
from actors.scheduler.shapes import b64_text, for_callback
from actors.v1_api import CallError, parse_json_call
from transport import messages as m
from transport.schema import Message

__all__ = ["CALL_TYPES", "ExecutorCall", "event_of", "framework_message", "parse_call", "status_update"]

Dict = dict[str, Any]
CALL_TYPES = ("SUBSCRIBE", "UPDATE", "MESSAGE")


class ExecutorCall:
    """A decoded call: ``kind``, the framework and executor ids, the call's own object."""

    def __init__(self, kind: str, framework_id: str, executor_id: str, body: Dict) -> None:
        self.kind = kind
        self.framework_id = framework_id
        self.executor_id = executor_id
        self.body = body


def _id(value: Any, what: str) -> str:
    try:
        return id_value(value, what)
    except ValueError as e:
        raise CallError(400, f"Expecting '{what}' to be present: {e}") from None


def parse_call(body: bytes) -> ExecutorCall:
    call, kind = parse_json_call(body)
    if kind not in CALL_TYPES:
        raise CallError(400, f"Expecting 'type' to be one of {', '.join(CALL_TYPES)}, got {kind!r}")
    own = call.get(kind.lower(), {})
    if not isinstance(own, dict) or (kind != "SUBSCRIBE" and kind.lower() not in call):
        raise CallError(400, f"Expecting '{kind.lower()}' to be present")
    return ExecutorCall(kind, _id(call.get("framework_id"), "framework_id"),
                        _id(call.get("executor_id"), "executor_id"), own)


def status_update(call: ExecutorCall, agent_id: str) -> m.StatusUpdate:
    """An UPDATE's status as the driver's StatusUpdate: ``uuid`` bytes, ids and timestamp completed."""
    status = call.body.get("status")
    if not isinstance(status, dict):
        raise CallError(400, "Expecting 'update.status' to be present")
    status = dict(status)
    _id(status.get("task_id"), "update.status.task_id")
    if not isinstance(status.get("state"), str):
        raise CallError(400, "Expecting 'update.status.state' to be present")
    try:
        uuid = uuid_bytes(status.get("uuid"))
    except ValueError as e:
        raise CallError(400, f"'update.status.uuid': {e}") from None
    if not uuid:
        raise CallError(400, "Expecting 'update.status.uuid' to be present")
    timestamp = status.get("timestamp")
    status.update(uuid=uuid, executor_id={"value": call.executor_id}, agent_id={"value": agent_id},
                  timestamp=float(timestamp) if isinstance(timestamp, (int, float)) else 0.0)
    status.setdefault("source", "SOURCE_EXECUTOR")
    return m.StatusUpdate(framework_id=call.framework_id, status=status, uuid=uuid, agent_id=agent_id,
                          executor_id=call.executor_id, timestamp=status["timestamp"])


def framework_message(call: ExecutorCall, agent_id: str) -> m.ExecutorToFramework:
    try:
        data = uuid_bytes(call.body.get("data"))
    except ValueError as e:
        raise CallError(400, f"'message.data': {e}") from None
    return m.ExecutorToFramework(agent_id=agent_id, framework_id=call.framework_id,
                                 executor_id=call.executor_id, data=data)


def event_of(msg: Message, container_id: str) -> Dict | None:
    """The v1 executor event of a message the agent sends an executor (None: none)."""
    if isinstance(msg, m.ExecutorRegistered):
        return {"type": "SUBSCRIBED", "subscribed": for_callback({
            "executor_info": msg.executor_info, "framework_info": msg.framework_info,
            "agent_info": msg.agent_info, "container_id": {"value": container_id}})}
    if isinstance(msg, m.RunTask):
        return {"type": "LAUNCH", "launch": {"task": for_callback(msg.task)}}
    if isinstance(msg, m.KillTask):
        kill: Dict = {"task_id": {"value": msg.task_id}}
        if msg.kill_policy:
            kill["kill_policy"] = msg.kill_policy
        return {"type": "KILL", "kill": kill}
    if isinstance(msg, m.StatusUpdateAcknowledgement):
        return {"type": "ACKNOWLEDGED", "acknowledged": {"task_id": {"value": msg.task_id},
                                                         "uuid": b64_text(msg.uuid)}}
    if isinstance(msg, m.FrameworkToExecutor):
        return {"type": "MESSAGE", "message": {"data": b64_text(msg.data)}}
    if isinstance(msg, m.ShutdownExecutor):
        return {"type": "SHUTDOWN", "shutdown": {}}
    return None
