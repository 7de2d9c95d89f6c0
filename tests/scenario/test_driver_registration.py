"""MesosSchedulerDriver against a stand-in master: registration, retries, disconnection, stop/abort.

The master here is tests/scenario/driver_fakes.FakeMaster, a real Process that
speaks the protocol (a legitimate protocol-level test of the driver, independent
of actors/master). Time is a ManualClock: retries happen when the test advances it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from actors.clock import ManualClock
from actors.filters import clear_filters, drop_messages, future_message
from actors.node import Node
from frameworks import (
    DRIVER_ABORTED,
    DRIVER_NOT_STARTED,
    DRIVER_RUNNING,
    DRIVER_STOPPED,
    MesosSchedulerDriver,
)
from tests.scenario.driver_fakes import (
    FRAMEWORK_ID,
    MASTER_INFO,
    FakeMaster,
    RecordingScheduler,
    next_of,
)
from transport.messages import (
    DeactivateFramework,
    FrameworkError,
    FrameworkRegistered,
    RegisterFramework,
    ReregisterFramework,
    UnregisterFramework,
)

FRAMEWORK = {"user": "root", "name": "test-fw", "some_future_key": [1, 2]}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def node(clock: ManualClock) -> Iterator[Node]:
    n = Node(clock=clock, force_encoding=True).start()  # every message goes through the codec
    yield n
    clear_filters()
    n.stop()


@pytest.fixture
def received() -> queue.Queue[Any]:
    return queue.Queue()


def spawn_master(node: Node, received: queue.Queue[Any], **kw: Any) -> Any:
    return FakeMaster.spawn(node, "master", received=received, **kw)


def make_driver(node: Node, sched: RecordingScheduler, **kw: Any) -> MesosSchedulerDriver:
    return MesosSchedulerDriver(sched, kw.pop("framework", FRAMEWORK), node.address, node=node, **kw)


def start_registered(node: Node, received: queue.Queue[Any]) -> tuple[RecordingScheduler, MesosSchedulerDriver]:
    """A started driver whose scheduler has seen ``registered`` (the master saw RegisterFramework)."""
    sched = RecordingScheduler()
    driver = make_driver(node, sched)
    driver.start()
    sched.expect("registered")
    next_of(received, RegisterFramework)
    return sched, driver


def test_registers_and_reports_registered(node: Node, received: queue.Queue[Any]) -> None:
    spawn_master(node, received)
    sched = RecordingScheduler()
    driver = make_driver(node, sched, principal="alice")
    assert driver.status == DRIVER_NOT_STARTED
    assert driver.start() == DRIVER_RUNNING
    assert driver.start() == DRIVER_RUNNING  # a second start changes nothing
    sender, msg = next_of(received, RegisterFramework)
    assert sender == driver.pid
    assert driver.pid is not None and driver.pid.name.startswith("scheduler(") and len(driver.pid.name) == 19
    assert msg.framework["name"] == "test-fw" and msg.framework["principal"] == "alice"
    assert msg.framework["some_future_key"] == [1, 2]  # unknown keys travel unchanged
    got_driver = sched.calls.get(timeout=5)
    assert got_driver == ("registered", ({"value": FRAMEWORK_ID}, MASTER_INFO))
    assert driver.connected and driver.framework_id == FRAMEWORK_ID  # text, as pymesos has it
    assert driver.stop() == DRIVER_STOPPED
    assert driver.join() == DRIVER_STOPPED


def test_registration_is_retried_with_backoff(node: Node, clock: ManualClock, received: queue.Queue[Any]) -> None:
    spawn_master(node, received)
    dropped = drop_messages(RegisterFramework, count=2)
    sched = RecordingScheduler()
    driver = make_driver(node, sched)
    driver.start()
    dropped.future.result(timeout=5)  # first attempt sent (and dropped); retry armed at 1 s
    second = future_message(RegisterFramework)
    clock.advance(0.9)
    assert received.empty() and not second.done()
    clock.advance(0.1)
    second.result(timeout=5)  # second attempt, dropped too; next in 2 s
    third = future_message(RegisterFramework)
    clock.advance(1.9)
    assert not third.done()
    clock.advance(0.1)
    next_of(received, RegisterFramework)
    assert sched.expect("registered")[0] == {"value": FRAMEWORK_ID}
    clock.advance(60)  # registered: no more attempts
    assert received.empty()
    driver.stop()
    driver.join()


def test_master_started_after_the_driver(node: Node, clock: ManualClock, received: queue.Queue[Any]) -> None:
    sched = RecordingScheduler()
    driver = make_driver(node, sched)
    first = future_message(RegisterFramework)
    driver.start()
    first.result(timeout=5)  # went nowhere: no master yet
    spawn_master(node, received)
    clock.advance(1.0)
    next_of(received, RegisterFramework)
    sched.expect("registered")
    assert sched.calls.empty()  # no disconnected() for a master we never had
    driver.stop()
    driver.join()


def test_framework_with_id_reregisters_as_failover(node: Node, received: queue.Queue[Any]) -> None:
    spawn_master(node, received)
    sched = RecordingScheduler()
    framework = dict(FRAMEWORK, id="fw-7", failover_timeout=60.0)
    driver = make_driver(node, sched, framework=framework)
    driver.start()
    _, msg = next_of(received, ReregisterFramework)
    assert msg.failover is True and msg.framework["id"] == {"value": "fw-7"}
    assert sched.expect("registered") == ({"value": "fw-7"}, MASTER_INFO)
    driver.stop(failover=True)
    driver.join()


def test_master_exit_calls_disconnected_then_reregisters(
    node: Node, clock: ManualClock, received: queue.Queue[Any]
) -> None:
    master = spawn_master(node, received)
    sched = RecordingScheduler()
    driver = make_driver(node, sched)
    driver.start()
    next_of(received, RegisterFramework)
    sched.expect("registered")
    master.stop()
    sched.expect("disconnected")
    assert not driver.connected
    spawn_master(node, received)
    clock.advance(1.0)
    _, msg = next_of(received, ReregisterFramework)
    assert msg.failover is False and msg.framework["id"] == {"value": FRAMEWORK_ID}
    assert sched.expect("reregistered") == (MASTER_INFO,)
    assert driver.connected
    driver.stop()
    driver.join()


def test_stop_tears_the_framework_down(node: Node, received: queue.Queue[Any]) -> None:
    spawn_master(node, received)
    _, driver = start_registered(node, received)
    assert driver.stop() == DRIVER_STOPPED
    assert driver.join() == DRIVER_STOPPED
    _, msg = next_of(received, UnregisterFramework)
    assert msg.framework_id == FRAMEWORK_ID
    assert driver.pid is not None and driver.pid.name not in node.names()
    assert driver.stop() == DRIVER_STOPPED and driver.launchTasks("o", []) == DRIVER_STOPPED


def test_stop_with_failover_deactivates(node: Node, received: queue.Queue[Any]) -> None:
    spawn_master(node, received)
    _, driver = start_registered(node, received)
    driver.stop(failover=True)
    driver.join()
    _, msg = next_of(received, DeactivateFramework)
    assert msg.framework_id == FRAMEWORK_ID
    assert received.empty()


def test_run_returns_when_stopped_from_a_callback(node: Node, received: queue.Queue[Any]) -> None:
    spawn_master(node, received)
    sched = RecordingScheduler()
    sched.reactions["registered"] = lambda driver, *_: driver.stop()
    driver = make_driver(node, sched)
    result: queue.Queue[int] = queue.Queue()
    runner = threading.Thread(target=lambda: result.put(driver.run()))
    runner.start()
    assert result.get(timeout=5) == DRIVER_STOPPED
    runner.join(5)
    next_of(received, RegisterFramework)
    next_of(received, UnregisterFramework)


def test_framework_error_aborts(node: Node, received: queue.Queue[Any]) -> None:
    master = spawn_master(node, received)
    sched, driver = start_registered(node, received)
    master.proxy().send(driver.pid, FrameworkError(message="Framework has been removed")).get(timeout=5)
    assert sched.expect("error") == ("Framework has been removed",)
    assert driver.join() == DRIVER_ABORTED
    next_of(received, DeactivateFramework)  # Mesos' abort tells a connected master
    assert driver.killTask("t1") == DRIVER_ABORTED
    assert driver.stop() == DRIVER_ABORTED
    next_of(received, UnregisterFramework)  # stop after abort still tears down, as in Mesos


def test_registration_from_a_stranger_is_ignored(node: Node, received: queue.Queue[Any]) -> None:
    spawn_master(node, received, answer=False)
    stranger = FakeMaster.spawn(node, "impostor", received=queue.Queue())
    sched = RecordingScheduler()
    driver = make_driver(node, sched)
    driver.start()
    next_of(received, RegisterFramework)
    stranger.proxy().send(driver.pid, FrameworkRegistered(framework_id="evil", master_info={})).get(timeout=5)
    with pytest.raises(queue.Empty):
        sched.calls.get(timeout=0.3)
    assert not driver.connected
    driver.stop()
    driver.join()


@pytest.mark.parametrize(
    "master, fragment",
    [
        ("zk://10.0.0.1:2181", "needs a path"),
        ("zk://10.0.0.1/mesos", "bad server"),
        ("host:99999", "'host:99999'"),
        ("", "host:port"),
    ],
)
def test_bad_master_addresses(master: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(")):
        MesosSchedulerDriver(RecordingScheduler(), FRAMEWORK, master)


def test_join_and_stop_before_start() -> None:
    driver = MesosSchedulerDriver(RecordingScheduler(), FRAMEWORK, "127.0.0.1:5050")
    assert driver.join() == DRIVER_NOT_STARTED
    assert driver.stop() == DRIVER_NOT_STARTED
    assert driver.abort() == DRIVER_NOT_STARTED
    assert driver.declineOffer("o1") == DRIVER_NOT_STARTED
