"""v1 scheduler calls to the driver's messages and the master's messages to v1 events
(actors/master/scheduler_api.py): the shapes real clients send and read, and the 400s."""

from __future__ import annotations

import json
from typing import Any

import pytest

from actors.master.scheduler_api import (
    CALL_TYPES,
    CallError,
    call_message,
    event_of,
    parse_call,
    subscribe_message,
)
from actors.v1_api import http_pid, is_http_pid
from transport import messages as m
from transport.pid import PID

FID = {"value": "f-0000"}


def call(kind: str, **body: Any) -> dict[str, Any]:
    return {"type": kind, "framework_id": FID, **body}


def test_each_call_becomes_the_message_a_driver_sends() -> None:
    offers = {"offer_ids": [{"value": "o1"}], "filters": {"refuse_seconds": 3}}
    launch = [{"type": "LAUNCH", "launch": {"task_infos": []}}]
    assert call_message(call("ACCEPT", accept={**offers, "operations": launch})) == ("f-0000", m.AcceptOffers(
        framework_id="f-0000", offer_ids=["o1"], operations=launch, filters={"refuse_seconds": 3}))
    assert call_message(call("DECLINE", decline=offers))[1] == m.DeclineOffers(
        framework_id="f-0000", offer_ids=["o1"], filters={"refuse_seconds": 3})
    assert call_message(call("TEARDOWN"))[1] == m.UnregisterFramework(framework_id="f-0000")
    assert call_message(call("REVIVE", revive={"roles": ["a"]}))[1] == m.ReviveOffers(framework_id="f-0000",
                                                                                     roles=["a"])
    assert call_message(call("SUPPRESS"))[1] == m.SuppressOffers(framework_id="f-0000")
    # pymesos' killTask sends no agent_id
    assert call_message(call("KILL", kill={"task_id": {"value": "t"}}))[1] == m.KillTask(
        framework_id="f-0000", task_id="t")
    ack = call("ACKNOWLEDGE", acknowledge={"agent_id": {"value": "a"}, "task_id": {"value": "t"},
                                           "uuid": "AAECAw=="})
    assert call_message(ack)[1] == m.StatusUpdateAcknowledgement(
        framework_id="f-0000", agent_id="a", task_id="t", uuid=b"\x00\x01\x02\x03")
    assert call_message(call("RECONCILE", reconcile={"tasks": [{"task_id": {"value": "t"}}]}))[1] == \
        m.ReconcileTasks(framework_id="f-0000", statuses=[{"task_id": {"value": "t"}}])
    assert call_message(call("MESSAGE", message={"agent_id": {"value": "a"}, "executor_id": {"value": "e"},
                                                 "data": "aGk="}))[1] == m.FrameworkToExecutor(
        framework_id="f-0000", agent_id="a", executor_id="e", data=b"hi")
    assert call_message(call("REQUEST", request={"requests": [{"agent_id": {"value": "a"}}]}))[1] == \
        m.ResourceRequest(framework_id="f-0000", requests=[{"agent_id": {"value": "a"}}])
    assert set(CALL_TYPES) >= {"TEARDOWN", "ACCEPT", "DECLINE", "REVIVE", "SUPPRESS", "KILL", "ACKNOWLEDGE",
                               "RECONCILE", "MESSAGE", "REQUEST"}


def test_subscribe_registers_or_reregisters_with_the_framework_id() -> None:
    info = {"user": "u", "name": "n"}
    assert subscribe_message({"type": "SUBSCRIBE", "subscribe": {"framework_info": info}}) == \
        m.RegisterFramework(framework=info)
    again = subscribe_message({"type": "SUBSCRIBE", "framework_id": FID, "subscribe": {
        "framework_info": {**info, "id": FID}, "suppressed_roles": ["*"]}})
    assert again == m.ReregisterFramework(framework={**info, "id": FID}, failover=True, suppressed_roles=["*"])


@pytest.mark.parametrize("body, field", [
    (b"[1", "JSON"),
    (b"[]", "JSON object"),
    (b'{"framework_id": {"value": "x"}}', "'type'"),
    (b'{"type": "LAUNCH"}', "'LAUNCH'"),
])
def test_undecodable_calls_are_400_naming_what_is_wrong(body: bytes, field: str) -> None:
    with pytest.raises(CallError, match=field) as caught:
        parse_call(body)
    assert caught.value.status == 400


@pytest.mark.parametrize("bad, field", [
    (call("ACCEPT"), "'accept'"),
    (call("DECLINE", decline={"offer_ids": [{"value": ""}]}), "decline.offer_ids"),
    (call("KILL", kill={}), "kill.task_id"),
    (call("ACKNOWLEDGE", acknowledge={"agent_id": FID, "task_id": FID, "uuid": "%%"}), "acknowledge.uuid"),
    (call("REVIVE", revive={"roles": "a"}), "'roles'"),
    ({"type": "TEARDOWN"}, "framework_id"),
    ({"type": "SUBSCRIBE", "framework_id": FID, "subscribe": {"framework_info": {}}}, "differs"),
])
def test_malformed_calls_are_400_naming_the_field(bad: dict[str, Any], field: str) -> None:
    with pytest.raises(CallError, match=field) as caught:
        subscribe_message(bad) if bad["type"] == "SUBSCRIBE" else call_message(bad)
    assert caught.value.status == 400


def test_every_event_carries_its_sub_object_named_after_its_type() -> None:
    info = {"id": "m", "ip": "127.0.0.1", "port": 5050, "version": "1.11.0"}
    events = [
        event_of(m.FrameworkRegistered(framework_id="f", master_info=info), 15.0),
        event_of(m.ResourceOffers(offers=[{"id": {"value": "o"}}]), 15.0),
        event_of(m.RescindResourceOffer(offer_id="o"), 15.0),
        event_of(m.StatusUpdate(framework_id="f", status={"task_id": {"value": "t"}, "state": "TASK_RUNNING"},
                                uuid=b"\x01\x02", agent_id="a"), 15.0),
        event_of(m.ExecutorToFramework(agent_id="a", framework_id="f", executor_id="e", data=b"hi"), 15.0),
        event_of(m.AgentLost(agent_id="a"), 15.0),
        event_of(m.ExitedExecutor(agent_id="a", framework_id="f", executor_id="e", status=256), 15.0),
        event_of(m.FrameworkError(message="gone"), 15.0),
    ]
    for event in events:
        assert event is not None and event["type"].lower() in event
        json.dumps(event)  # JSON as it is
    subscribed, _, _, update, message, lost, exited, error = events
    assert subscribed["subscribed"]["heartbeat_interval_seconds"] == 15.0  # type: ignore[index]
    assert subscribed["subscribed"]["master_info"]["ip"] == 0x0100007F  # type: ignore[index]
    status = update["update"]["status"]  # type: ignore[index]
    assert (status["uuid"], status["agent_id"]) == ("AQI=", {"value": "a"})
    assert message["message"]["data"] == "aGk="  # type: ignore[index]
    assert "executor_id" not in lost["failure"] and exited["failure"]["status"] == 256  # type: ignore[index]
    assert error["error"] == {"message": "gone"}  # type: ignore[index]
    assert event_of(m.ReviveOffers(framework_id="f"), 15.0) is None


def test_http_scheduler_pids_are_told_apart_from_zeromq_pids() -> None:
    pid = http_pid("scheduler", "0b1e", "10.0.0.1:43210")
    assert is_http_pid(pid) and str(PID.parse(pid)) == pid and pid.endswith("@10.0.0.1:43210")
    assert not is_http_pid("scheduler(1)@10.0.0.1:43210")
