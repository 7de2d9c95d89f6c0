"""The scheduler driver as pymesos code uses it: signature, use_addict, attributes, restart, shapes.

Against the protocol-level FakeMaster (tests/scenario/driver_fakes.py), every
message through the codec; time is a ManualClock.
"""

from __future__ import annotations

import base64
import json
import queue
from typing import Any

import pytest

from actors.clock import ManualClock
from actors.filters import drop_messages
from actors.node import Node
from frameworks import DRIVER_ABORTED, DRIVER_RUNNING, DRIVER_STOPPED, MesosSchedulerDriver, encode_data
from tests.scenario.driver_fakes import FRAMEWORK_ID, MASTER_INFO, FakeMaster, RecordingScheduler, next_of
from tests.scenario.test_driver_calls import offer, status_update
from tests.scenario.test_driver_registration import clock, node, received  # noqa: F401 (fixtures)
from transport.messages import (
    DeactivateFramework,
    FrameworkToExecutor,
    RegisterFramework,
    ReregisterFramework,
    ResourceOffers,
    StatusUpdateAcknowledgement,
    UnregisterFramework,
)
from transport.schema import Message

FRAMEWORK = {"user": "root", "name": "pymesos-style"}


@pytest.fixture
def master(node: Node, received: queue.Queue[Any]) -> Any:
    return FakeMaster.spawn(node, "master", received=received)


def tell(master: Any, driver: MesosSchedulerDriver, msg: Message) -> None:
    master.proxy().send(driver.pid, msg).get(timeout=5)


def started(node: Node, received: queue.Queue[Any], **kw: Any) -> tuple[RecordingScheduler, MesosSchedulerDriver]:
    sched = RecordingScheduler()
    driver = MesosSchedulerDriver(sched, FRAMEWORK, node.address, node=node, **kw)
    driver.start()
    next_of(received, RegisterFramework)
    sched.expect("registered")
    return sched, driver


def test_pymesos_positional_and_keyword_signatures(node: Node) -> None:
    sched = RecordingScheduler()
    a = MesosSchedulerDriver(sched, FRAMEWORK, node.address, True, False, "alice", None, True, 30)
    assert (a.sched, a.use_addict, a.implicit_acknowledgements, a.principal, a.failover, a.timeout) == (
        sched, True, False, "alice", True, 30.0)
    assert a.framework_info["principal"] == "alice" and a.master_uri == node.address
    b = MesosSchedulerDriver(sched=sched, framework=FRAMEWORK, master_uri=node.address, use_addict=True)
    c = MesosSchedulerDriver(scheduler=sched, framework_info=FRAMEWORK, master=node.address)  # mesopy's names
    assert b.sched is c.sched is c.scheduler is sched and c.master == c.master_uri == node.address
    with pytest.raises(TypeError, match="both sched and its alias scheduler"):
        MesosSchedulerDriver(sched, FRAMEWORK, node.address, scheduler=sched)
    with pytest.raises(TypeError, match="needs master_uri"):
        MesosSchedulerDriver(sched, FRAMEWORK)
    with pytest.raises(ValueError, match="timeout must be"):
        MesosSchedulerDriver(sched, FRAMEWORK, node.address, timeout=0)
    assert MesosSchedulerDriver(sched, FRAMEWORK, "10.0.0.7")._master_pid.port == 5050  # pymesos' default port


def test_use_addict_hands_attribute_dicts_that_still_are_dicts(
        node: Node, master: Any, received: queue.Queue[Any]) -> None:
    sched, driver = started(node, received, use_addict=True)
    tell(master, driver, ResourceOffers(offers=[offer(1)]))
    ((o,),) = sched.expect("resourceOffers")
    assert o["id"] == {"value": "O1"}
    assert o.id.value == "O1" and o.agent_id.value == "S1" and o.resources[0].scalar.value == 2.0
    assert o.unavailability == {} and not o.unavailability and "unavailability" not in o  # missing: empty
    assert json.loads(json.dumps(o)) == offer(1) and isinstance(o, dict)
    tell(master, driver, status_update("t1", "TASK_RUNNING", uuid=b"u" * 16))
    (update,) = sched.expect("statusUpdate")
    assert update.status == {} and update.state == "TASK_RUNNING" and update.task_id.value == "t1"
    assert "limitation" not in update and update.uuid == base64.b64encode(b"u" * 16).decode()
    assert next_of(received, StatusUpdateAcknowledgement)[1].uuid == b"u" * 16
    driver.stop()


def test_registered_callbacks_get_addict_too_and_the_driver_reports_the_version(
        node: Node, master: Any, received: queue.Queue[Any]) -> None:
    sched = RecordingScheduler()
    driver = MesosSchedulerDriver(sched, FRAMEWORK, node.address, use_addict=True, node=node)
    assert driver.version is None and driver.aborted and driver.framework_id is None
    driver.start()
    framework_id, master_info = sched.expect("registered")
    assert framework_id.value == FRAMEWORK_ID and master_info.hostname == "m"
    assert driver.version == MASTER_INFO["version"] and not driver.aborted and driver.framework_id == FRAMEWORK_ID
    assert driver.stop() == DRIVER_STOPPED and driver.aborted


def test_join_status_equals_the_number_and_the_name(node: Node, master: Any, received: queue.Queue[Any]) -> None:
    _, driver = started(node, received)
    driver.stop()
    status = driver.join()
    assert status == DRIVER_STOPPED == 4 == status and status == "DRIVER_STOPPED" and status != "DRIVER_ABORTED"
    assert json.dumps(status) == "4"


def test_a_stopped_driver_starts_again_as_a_new_framework(
        node: Node, master: Any, received: queue.Queue[Any]) -> None:
    sched, driver = started(node, received)
    assert driver.stop() == DRIVER_STOPPED
    assert next_of(received, UnregisterFramework)[1].framework_id == FRAMEWORK_ID
    assert driver.join(5) == DRIVER_STOPPED
    assert driver.start() == DRIVER_RUNNING
    _, msg = next_of(received, RegisterFramework)
    assert "id" not in msg.framework  # torn down: it registers anew
    sched.expect("registered")
    assert driver.connected
    driver.stop()


def test_an_aborted_driver_starts_again_with_its_framework_id(
        node: Node, master: Any, received: queue.Queue[Any]) -> None:
    sched, driver = started(node, received)
    assert driver.abort() == DRIVER_ABORTED and driver.aborted
    assert next_of(received, DeactivateFramework)[1].framework_id == FRAMEWORK_ID
    assert driver.start() == DRIVER_RUNNING
    _, msg = next_of(received, ReregisterFramework)
    assert msg.framework["id"] == {"value": FRAMEWORK_ID} and msg.failover
    sched.expect("registered")  # Mesos' master answers a failover with FrameworkRegistered
    driver.stop()


def test_the_constructors_failover_is_what_stop_does(node: Node, master: Any, received: queue.Queue[Any]) -> None:
    _, driver = started(node, received, failover=True)
    driver.stop()
    assert next_of(received, DeactivateFramework)[1].framework_id == FRAMEWORK_ID  # not torn down
    assert driver.framework_id == FRAMEWORK_ID


def test_framework_messages_take_base64_text_or_bytes(node: Node, master: Any, received: queue.Queue[Any]) -> None:
    _, driver = started(node, received)
    driver.sendFrameworkMessage({"value": "E1"}, {"value": "S1"}, encode_data(b"\x00ping"))
    driver.sendFrameworkMessage("E1", "S1", b"raw")
    assert next_of(received, FrameworkToExecutor)[1].data == b"\x00ping"
    assert next_of(received, FrameworkToExecutor)[1].data == b"raw"
    with pytest.raises(ValueError, match="must be base64.*'not base64!'"):
        driver.sendFrameworkMessage("E1", "S1", "not base64!")
    driver.stop()


def test_registration_gives_up_after_timeout(node: Node, clock: ManualClock, master: Any) -> None:
    dropped = drop_messages(RegisterFramework)
    sched = RecordingScheduler()
    driver = MesosSchedulerDriver(sched, FRAMEWORK, node.address, timeout=5, node=node)
    driver.start()
    dropped.future.result(timeout=5)  # the first attempt is out: the deadline is armed
    clock.advance(5.0)
    (message,) = sched.expect("error")
    assert "within 5 s" in message and driver.join(5) == DRIVER_ABORTED
    driver.stop()


class TaskInfo:
    """Looks like a protobuf message class (mesos_pb2.TaskInfo) to the SDK."""

    DESCRIPTOR = object()

    def SerializeToString(self) -> bytes:  # noqa: N802 (protobuf's name)
        return b""


def test_protobuf_objects_are_refused_naming_what_was_given(
        node: Node, master: Any, received: queue.Queue[Any]) -> None:
    with pytest.raises(ValueError, match=r"framework_info must be a dict \(a mesos_pb2 TaskInfo object was given"):
        MesosSchedulerDriver(RecordingScheduler(), TaskInfo(), node.address)
    _, driver = started(node, received)
    with pytest.raises(ValueError, match=r"tasks\[0\] must be a dict \(a mesos_pb2 TaskInfo.*MessageToDict"):
        driver.launchTasks("O1", [TaskInfo()])
    driver.stop()
