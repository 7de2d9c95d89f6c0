"""The scheduler driver's pure parts: id normalisation and DriverCore."""

from __future__ import annotations

import base64

import pytest

from actors.scheduler.ids import (
    as_dicts,
    as_texts,
    id_dict,
    id_value,
    id_values,
    uuid_bytes,
)
from actors.scheduler.state import (
    REGISTRATION_BACKOFF_MAX,
    DriverCore,
    launch_operations,
    normalize_framework,
    normalize_operations,
    normalize_tasks,
    status_for_callback,
)
from frameworks.scheduler_driver import parse_master
from transport.messages import (
    AcceptOffers,
    DeactivateFramework,
    DeclineOffers,
    RegisterFramework,
    ReregisterFramework,
    StatusUpdate,
    StatusUpdateAcknowledgement,
    UnregisterFramework,
)
from transport.pid import PID


def test_ids_in_either_shape_one_or_many() -> None:
    assert id_value("a") == "a" and id_value({"value": "a"}) == "a"
    assert id_values("a") == ["a"] and id_values({"value": "a"}) == ["a"]
    assert id_values(["a", {"value": "b"}]) == ["a", "b"] and id_values(None) == []
    assert id_dict("a") == {"value": "a"}
    assert as_dicts({"a": 1}, "x") == [{"a": 1}] and as_dicts(None, "x") == []
    assert as_texts("r", "roles") == ["r"] and as_texts(None, "roles") == []


@pytest.mark.parametrize("bad", ["", {"id": "x"}, {"value": ""}, 7, None])
def test_bad_ids_are_named(bad: object) -> None:
    with pytest.raises(ValueError, match="offer_id"):
        id_value(bad, "offer_id")


def test_uuid_accepts_bytes_and_base64_text() -> None:
    raw = bytes(range(16))
    assert uuid_bytes(raw) == raw and uuid_bytes(base64.b64encode(raw).decode()) == raw and uuid_bytes(None) == b""
    with pytest.raises(ValueError, match="base64"):
        uuid_bytes("not base64!")


def test_parse_master() -> None:
    assert parse_master("10.0.0.1:5050") == PID("master", "10.0.0.1", 5050)
    assert parse_master("localhost:5050") == PID("master", "127.0.0.1", 5050)
    assert parse_master("master@10.0.0.1:5051") == PID("master", "10.0.0.1", 5051)
    with pytest.raises(ValueError, match="zk://"):
        parse_master("zk://a:2181/mesos")


def test_framework_normalised_without_touching_the_callers_dict() -> None:
    given = {"name": "f", "id": "fw-1", "whatever": True}
    info = normalize_framework(given, principal="p")
    assert info["id"] == {"value": "fw-1"} and info["principal"] == "p" and info["whatever"] is True
    assert given == {"name": "f", "id": "fw-1", "whatever": True}
    assert "id" not in normalize_framework({"name": "f", "id": {}})
    with pytest.raises(ValueError, match="framework_info"):
        normalize_framework(["name"])


def test_backoff_doubles_up_to_the_cap_and_resets_on_registration() -> None:
    core = DriverCore({"name": "f"})
    delays = [core.next_backoff() for _ in range(7)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, REGISTRATION_BACKOFF_MAX, REGISTRATION_BACKOFF_MAX]
    assert isinstance(core.registration(), RegisterFramework)
    assert core.registered("fw-1") and core.next_backoff() == 1.0
    assert not core.registered("fw-1")  # already connected: ignored


def test_registration_messages() -> None:
    core = DriverCore({"name": "f", "id": {"value": "fw-1"}})
    msg = core.registration()
    assert isinstance(msg, ReregisterFramework) and msg.failover and msg.framework["id"] == {"value": "fw-1"}
    core.registered("fw-1")
    assert core.disconnected() and not core.disconnected()
    msg = core.registration()
    assert isinstance(msg, ReregisterFramework) and not msg.failover


def connected_core(**framework: object) -> DriverCore:
    core = DriverCore({"name": "f", **framework})
    core.registered("fw-1")
    return core


def test_accept_fills_agent_id_and_forgets_offers() -> None:
    core = connected_core()
    core.offers_received([{"id": "O1", "agent_id": {"value": "S1"}}])
    ops = launch_operations(normalize_tasks({"task_id": "t1", "name": "n", "future": 1}))
    (msg,) = core.accept(["O1"], ops, {}).send
    assert isinstance(msg, AcceptOffers)
    task = msg.operations[0]["launch"]["task_infos"][0]
    assert task == {"task_id": {"value": "t1"}, "name": "n", "future": 1, "agent_id": {"value": "S1"}}
    assert core.offers == {}
    (decline,) = core.accept(["O2"], [], {"refuse_seconds": 1}).send
    assert isinstance(decline, DeclineOffers) and decline.offer_ids == ["O2"]


def test_disconnected_launch_is_lost_or_dropped() -> None:
    for caps, state in (([], "TASK_LOST"), ([{"type": "PARTITION_AWARE"}], "TASK_DROPPED")):
        core = DriverCore({"name": "f", "capabilities": caps})
        effects = core.accept(["O1"], normalize_operations(launch_operations(normalize_tasks([{"task_id": "t"}]))), {})
        assert effects.send == [] and [s["state"] for s in effects.deliver] == [state]
        assert core.kill("t").send == [] and core.decline(["O1"], {}).send == []


def test_acknowledge_needs_uuid_and_agent() -> None:
    core = connected_core()
    status = {"task_id": {"value": "t"}, "agent_id": "S1", "uuid": b"u" * 16}
    assert core.acknowledge(status).send == [
        StatusUpdateAcknowledgement(agent_id="S1", framework_id="fw-1", task_id="t", uuid=b"u" * 16)
    ]
    assert core.acknowledge({"task_id": "t", "agent_id": "S1"}).send == []
    assert core.acknowledge({"task_id": "t", "uuid": b"u"}).send == []
    assert DriverCore({"name": "f"}, implicit_acknowledgements=False).implicit_ack(status).send == []


def test_status_for_callback() -> None:
    msg = StatusUpdate(framework_id="fw", status={"task_id": "t", "state": "TASK_RUNNING", "uuid": b"old"}, uuid=b"")
    status = status_for_callback(msg)
    assert status["task_id"] == {"value": "t"} and status["uuid"] == b"old"
    msg = StatusUpdate(framework_id="fw", status={"task_id": {"value": "t"}, "state": "TASK_LOST"}, agent_id="S")
    status = status_for_callback(msg)
    assert "uuid" not in status and status["agent_id"] == {"value": "S"}


def test_stop_and_abort_messages() -> None:
    assert DriverCore({"name": "f"}).stop(False).send == []  # never registered: nothing to tear down
    core = connected_core()
    assert core.stop(False).send == [UnregisterFramework(framework_id="fw-1")]
    assert core.stop(True).send == [DeactivateFramework(framework_id="fw-1")]
    assert core.abort().send == [DeactivateFramework(framework_id="fw-1")]
    core.disconnected()
    assert core.abort().send == []
