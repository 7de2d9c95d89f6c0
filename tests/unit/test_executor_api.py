"""v1 executor calls to the driver executor's messages and the agent's messages to v1 events
(actors/agent/executor_api.py), in the shapes pymesos' MesosExecutorDriver sends and reads."""

from __future__ import annotations

import json

import pytest

from actors.agent.executor_api import event_of, framework_message, parse_call, status_update
from actors.v1_api import CallError
from transport import messages as m

IDS = {"framework_id": {"value": "f"}, "executor_id": {"value": "e"}}


def test_a_pymesos_update_is_completed_into_the_drivers_status_update() -> None:
    body = {"type": "UPDATE", **IDS, "update": {"status": {
        "task_id": {"value": "t"}, "state": "TASK_RUNNING", "timestamp": 1700000000, "uuid": "AAEC", "data": "aGk="}}}
    update = status_update(parse_call(json.dumps(body).encode()), "agent-1")
    assert (update.framework_id, update.executor_id, update.agent_id, update.uuid) == ("f", "e", "agent-1", b"\x00\x01\x02")
    assert update.status["agent_id"] == {"value": "agent-1"} and update.status["executor_id"] == {"value": "e"}
    assert update.status["timestamp"] == 1700000000.0 and update.status["source"] == "SOURCE_EXECUTOR"
    assert update.status["data"] == "aGk="  # base64 text, the v1 JSON form the SDK carries too
    message = framework_message(parse_call(json.dumps({"type": "MESSAGE", **IDS, "message": {"data": "aGk="}})
                                           .encode()), "agent-1")
    assert message == m.ExecutorToFramework(agent_id="agent-1", framework_id="f", executor_id="e", data=b"hi")


@pytest.mark.parametrize("body, field", [
    (b"{", "JSON"),
    (json.dumps({"type": "LAUNCH", **IDS}).encode(), "'type'"),
    (json.dumps({"type": "UPDATE", "executor_id": {"value": "e"}, "update": {}}).encode(), "framework_id"),
    (json.dumps({"type": "UPDATE", **IDS}).encode(), "'update'"),
])
def test_malformed_calls_are_400_naming_the_field(body: bytes, field: str) -> None:
    with pytest.raises(CallError, match=field) as caught:
        parse_call(body)
    assert caught.value.status == 400


def test_an_update_without_uuid_or_state_is_refused() -> None:
    for status, field in (({"task_id": {"value": "t"}, "state": "TASK_RUNNING"}, "uuid"),
                          ({"task_id": {"value": "t"}, "uuid": "AAEC"}, "state")):
        call = parse_call(json.dumps({"type": "UPDATE", **IDS, "update": {"status": status}}).encode())
        with pytest.raises(CallError, match=field):
            status_update(call, "a")


def test_every_event_is_what_pymesos_reads() -> None:
    subscribed = event_of(m.ExecutorRegistered(executor_info={"executor_id": {"value": "e"}},
                                               framework_info={"id": {"value": "f"}}, agent_info={"id": {"value": "a"}},
                                               agent_id="a"), "c1")
    assert subscribed == {"type": "SUBSCRIBED", "subscribed": {
        "executor_info": {"executor_id": {"value": "e"}}, "framework_info": {"id": {"value": "f"}},
        "agent_info": {"id": {"value": "a"}}, "container_id": {"value": "c1"}}}
    launch = event_of(m.RunTask(framework={}, framework_pid="", task={"task_id": {"value": "t"}}), "c1")
    assert launch == {"type": "LAUNCH", "launch": {"task": {"task_id": {"value": "t"}}}}
    assert event_of(m.KillTask(framework_id="f", task_id="t"), "c1") == {"type": "KILL", "kill": {
        "task_id": {"value": "t"}}}
    assert event_of(m.StatusUpdateAcknowledgement(agent_id="a", framework_id="f", task_id="t", uuid=b"\x01"),
                    "c1") == {"type": "ACKNOWLEDGED", "acknowledged": {"task_id": {"value": "t"}, "uuid": "AQ=="}}
    assert event_of(m.FrameworkToExecutor(agent_id="a", framework_id="f", executor_id="e", data=b"hi"), "c1") == \
        {"type": "MESSAGE", "message": {"data": "aGk="}}
    assert event_of(m.ShutdownExecutor(), "c1") == {"type": "SHUTDOWN", "shutdown": {}}
    assert event_of(m.PingAgent(), "c1") is None
