"""Mesos' v1 scheduler HTTP API in the master's terms: calls to messages, messages to events.

Pure (no I/O). An HTTP framework is a framework like any other: each call a
v1 client POSTs (``{"type": "ACCEPT", "framework_id": ..., "accept": ...}``)
becomes the wire message a driver would have sent (``AcceptOffers``), which
the master core handles as it does a driver's; every message the core sends
to the framework (``ResourceOffers``) becomes a v1 event
(``{"type": "OFFERS", "offers": {"offers": [...]}}``) on its stream.

Only what is malformed is refused here (``CallError`` with Mesos' status and
a message naming the field); everything semantic (a stale offer, an unknown
task) is for the core, which answers asynchronously as it does drivers.
An HTTP scheduler's pid text is actors/v1_api.py's ``http_pid``.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from actors.scheduler.ids import id_value, id_values, uuid_bytes
from actors.scheduler.shapes import b64_text, for_callback
from actors.scheduler.state import status_for_callback
from actors.v1_api import HEARTBEAT, CallError, parse_json_call
from transport import messages as m
from transport.schema import Message

__all__ = ["CALL_TYPES", "HEARTBEAT", "CallError", "call_message", "event_of", "master_info_v1", "parse_call",
           "subscribe_message"]

Dict = dict[str, Any]


def parse_call(body: bytes) -> Dict:
    """The JSON call object; CallError 400 if it is no JSON object with a known ``type``."""
    call, kind = parse_json_call(body)
    if kind != "SUBSCRIBE" and kind not in CALL_TYPES:
        raise CallError(400, f"Failed to validate scheduler::Call: unknown call type {kind!r}")
    return call


def _field(call: Dict, name: str) -> Dict:
    value = call.get(name)
    if not isinstance(value, dict):
        raise CallError(400, f"Expecting '{name}' to be present")
    return value


def _ids(value: Any, what: str) -> list[str]:
    try:
        return id_values(value, what)
    except ValueError as e:
        raise CallError(400, str(e)) from None


def _id(value: Any, what: str) -> str:
    try:
        return id_value(value, what)
    except ValueError as e:
        raise CallError(400, f"Expecting '{what}' to be present: {e}") from None


def _bytes(value: Any, what: str) -> bytes:
    try:
        return uuid_bytes(value)
    except ValueError as e:
        raise CallError(400, f"'{what}': {e}") from None


def _roles(body: Dict) -> list[str]:
    roles = body.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise CallError(400, f"'roles' must be a list of role names, got {roles!r}")
    return roles


def subscribe_message(call: Dict) -> Message:
    """SUBSCRIBE -> RegisterFramework, or ReregisterFramework when the framework_info has an id."""
    subscribe = _field(call, "subscribe")
    info = subscribe.get("framework_info")
    if not isinstance(info, dict):
        raise CallError(400, "Expecting 'subscribe.framework_info' to be present")
    suppressed = subscribe.get("suppressed_roles", [])
    if not isinstance(suppressed, list):
        raise CallError(400, f"'subscribe.suppressed_roles' must be a list, got {suppressed!r}")
    info_id = info.get("id")
    call_id = call.get("framework_id")
    if call_id is not None or info_id is not None:
        fid = _id(call_id if call_id is not None else info_id, "framework_id")
        if call_id is None or info_id is None or _id(info_id, "subscribe.framework_info.id") != fid:
            raise CallError(400, "'framework_id' differs from 'subscribe.framework_info.id'")
        return m.ReregisterFramework(framework=dict(info, id={"value": fid}), failover=True,
                                     suppressed_roles=list(suppressed))
    return m.RegisterFramework(framework=dict(info), suppressed_roles=list(suppressed))


def _accept(fid: str, call: Dict) -> Message:
    body = _field(call, "accept")
    operations = body.get("operations", [])
    if not isinstance(operations, list) or not all(isinstance(op, dict) for op in operations):
        raise CallError(400, f"'accept.operations' must be a list of operations, got {operations!r}")
    return m.AcceptOffers(framework_id=fid, offer_ids=_ids(body.get("offer_ids"), "accept.offer_ids"),
                          operations=operations, filters=_filters(body))


def _filters(body: Dict) -> Dict:
    filters = body.get("filters", {})
    if not isinstance(filters, dict):
        raise CallError(400, f"'filters' must be an object like {{\"refuse_seconds\": 5}}, got {filters!r}")
    return filters


def _kill(fid: str, call: Dict) -> Message:
    body = _field(call, "kill")
    agent = body.get("agent_id")
    policy = body.get("kill_policy", {})
    return m.KillTask(framework_id=fid, task_id=_id(body.get("task_id"), "kill.task_id"),
                      agent_id=_id(agent, "kill.agent_id") if agent is not None else "",
                      kill_policy=policy if isinstance(policy, dict) else {})


def _acknowledge(fid: str, call: Dict) -> Message:
    body = _field(call, "acknowledge")
    return m.StatusUpdateAcknowledgement(
        framework_id=fid, agent_id=_id(body.get("agent_id"), "acknowledge.agent_id"),
        task_id=_id(body.get("task_id"), "acknowledge.task_id"), uuid=_bytes(body.get("uuid"), "acknowledge.uuid"))


def _reconcile(fid: str, call: Dict) -> Message:
    tasks = call.get("reconcile", {}).get("tasks", []) if isinstance(call.get("reconcile"), dict) else []
    if not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
        raise CallError(400, f"'reconcile.tasks' must be a list of objects, got {tasks!r}")
    statuses = []
    for i, task in enumerate(tasks):
        status: Dict = {"task_id": {"value": _id(task.get("task_id"), f"reconcile.tasks[{i}].task_id")}}
        if task.get("agent_id") is not None:
            status["agent_id"] = {"value": _id(task["agent_id"], f"reconcile.tasks[{i}].agent_id")}
        statuses.append(status)
    return m.ReconcileTasks(framework_id=fid, statuses=statuses)


def _message(fid: str, call: Dict) -> Message:
    body = _field(call, "message")
    return m.FrameworkToExecutor(framework_id=fid, agent_id=_id(body.get("agent_id"), "message.agent_id"),
                                 executor_id=_id(body.get("executor_id"), "message.executor_id"),
                                 data=_bytes(body.get("data"), "message.data"))


def _shutdown(fid: str, call: Dict) -> Message:
    body = _field(call, "shutdown")
    return m.ShutdownExecutor(framework_id=fid, executor_id=_id(body.get("executor_id"), "shutdown.executor_id"),
                              agent_id=_id(body.get("agent_id"), "shutdown.agent_id"))


def _update_framework(fid: str, call: Dict) -> Message:
    """UPDATE_FRAMEWORK: the new FrameworkInfo (its id must be the call's) as a re-registration."""
    body = _field(call, "update_framework")
    info = body.get("framework_info")
    if not isinstance(info, dict):
        raise CallError(400, "Expecting 'update_framework.framework_info' to be present")
    if _id(info.get("id"), "update_framework.framework_info.id") != fid:
        raise CallError(400, "'framework_id' differs from 'update_framework.framework_info.id'")
    suppressed = body.get("suppressed_roles", [])
    if not isinstance(suppressed, list):
        raise CallError(400, f"'update_framework.suppressed_roles' must be a list, got {suppressed!r}")
    return m.ReregisterFramework(framework=dict(info), suppressed_roles=list(suppressed))


def _request(fid: str, call: Dict) -> Message:
    requests = _field(call, "request").get("requests", [])
    if not isinstance(requests, list):
        raise CallError(400, f"'request.requests' must be a list, got {requests!r}")
    return m.ResourceRequest(framework_id=fid, requests=requests)


#: Every call but SUBSCRIBE: how it becomes the driver's message (framework id, call) -> message.
CALL_TYPES: dict[str, Callable[[str, Dict], Message]] = {
    "TEARDOWN": lambda fid, call: m.UnregisterFramework(framework_id=fid),
    "ACCEPT": _accept,
    "DECLINE": lambda fid, call: m.DeclineOffers(
        framework_id=fid, offer_ids=_ids(_field(call, "decline").get("offer_ids"), "decline.offer_ids"),
        filters=_filters(call["decline"])),
    "REVIVE": lambda fid, call: m.ReviveOffers(framework_id=fid, roles=_roles(call.get("revive") or {})),
    "SUPPRESS": lambda fid, call: m.SuppressOffers(framework_id=fid, roles=_roles(call.get("suppress") or {})),
    "KILL": _kill,
    "SHUTDOWN": _shutdown,
    "ACKNOWLEDGE": _acknowledge,
    "RECONCILE": _reconcile,
    "MESSAGE": _message,
    "REQUEST": _request,
    "UPDATE_FRAMEWORK": _update_framework,
}


def call_message(call: Dict) -> tuple[str, Message]:
    """A non-SUBSCRIBE call -> (its framework id, the message a driver would send)."""
    fid = _id(call.get("framework_id"), "framework_id")
    return fid, CALL_TYPES[call["type"]](fid, call)


def master_info_v1(info: Dict) -> Dict:
    """MasterInfo in v1 JSON: ``ip`` as Mesos' uint32 (network byte order), the rest as it is."""
    out = dict(info)
    try:
        out["ip"] = int.from_bytes(socket.inet_aton(str(info.get("ip", ""))), "little")
    except OSError:
        out.pop("ip", None)
    return out


def event_of(msg: Message, heartbeat_interval: float) -> Dict | None:
    """The v1 event of a message the master sends a framework (None: no event for it)."""
    if isinstance(msg, (m.FrameworkRegistered, m.FrameworkReregistered)):
        return {"type": "SUBSCRIBED", "subscribed": {
            "framework_id": {"value": msg.framework_id}, "heartbeat_interval_seconds": heartbeat_interval,
            "master_info": master_info_v1(msg.master_info)}}
    if isinstance(msg, m.ResourceOffers):
        return {"type": "OFFERS", "offers": {"offers": msg.offers}}
    if isinstance(msg, m.RescindResourceOffer):
        return {"type": "RESCIND", "rescind": {"offer_id": {"value": msg.offer_id}}}
    if isinstance(msg, m.StatusUpdate):
        return {"type": "UPDATE", "update": {"status": for_callback(status_for_callback(msg))}}
    if isinstance(msg, m.ExecutorToFramework):
        return {"type": "MESSAGE", "message": {"agent_id": {"value": msg.agent_id},
                                               "executor_id": {"value": msg.executor_id},
                                               "data": b64_text(msg.data)}}
    if isinstance(msg, m.AgentLost):
        return {"type": "FAILURE", "failure": {"agent_id": {"value": msg.agent_id}}}
    if isinstance(msg, m.ExitedExecutor):
        return {"type": "FAILURE", "failure": {"agent_id": {"value": msg.agent_id},
                                               "executor_id": {"value": msg.executor_id}, "status": msg.status}}
    if isinstance(msg, m.FrameworkError):
        return {"type": "ERROR", "error": {"message": msg.message}}
    return None
