"""The agent against hostile input (pure parts): its entitlement table, the bounds of
its status update streams, and resend on UpdateFramework."""

from __future__ import annotations

from typing import Any

import pytest
from structlog.testing import capture_logs

from actors.agent.entitlements import FROM_EXECUTOR, FROM_MASTER, agent_entitlements
from actors.agent.status_updates import MAX_UPDATES_PER_STREAM, StatusUpdateManager
from actors.agent.tasks import TaskTable
from transport import messages as m
from transport.schema import Message

MASTER = "master@127.0.0.1:5050"
EXECUTOR = "executor(1)@127.0.0.1:40000"
FORGER = "master@127.0.0.1:6666"


def status(task: str, state: str, uuid: bytes) -> dict[str, Any]:
    return {"task_id": {"value": task}, "state": state, "uuid": uuid}


def _from_master() -> list[Message]:
    task = {"task_id": {"value": "t"}, "command": {"value": "id"}}
    return [
        m.AgentRegistered(agent_id="a"), m.AgentReregistered(agent_id="a"), m.PingAgent(),
        m.RunTask(framework={"id": {"value": "f"}}, framework_pid="s@h:1", task=task),
        m.KillTask(framework_id="f", task_id="t"), m.ShutdownFramework(framework_id="f"),
        m.ShutdownAgent(message="bye"), m.UpdateFramework(framework_id="f", framework_pid="s@h:1"),
        m.StatusUpdateAcknowledgement(agent_id="a", framework_id="f", task_id="t", uuid=b"u"),
        m.FrameworkToExecutor(agent_id="a", framework_id="f", executor_id="e", data=b""),
        m.MasterRedirect(leader="master@127.0.0.1:5050"), m.CheckpointResources(resources=[]),
        m.ShutdownExecutor(framework_id="f", executor_id="t", agent_id="a"),
        m.ReconcileTasks(framework_id="f", statuses=[{"task_id": {"value": "t"}, "state": "TASK_RUNNING"}]),
    ]


def _table() -> TaskTable:
    table = TaskTable()
    table.add_framework("f", {}, "s@h:1")
    table.add_task("f", {"task_id": {"value": "t"}, "command": {"value": "id"}}, "c1")
    table.registered("f", "t", EXECUTOR)
    return table


def test_the_table_covers_what_the_master_sends() -> None:
    assert {type(x) for x in _from_master()} == set(FROM_MASTER)


@pytest.mark.parametrize("index", range(len(FROM_MASTER)))
def test_master_commands_only_from_the_current_master(index: int) -> None:
    table = agent_entitlements(lambda: MASTER, _table())
    msg = _from_master()[index]
    assert table.allows(MASTER, msg)
    with capture_logs() as logs:
        assert not table.allows(FORGER, msg)
        assert not table.allows(EXECUTOR, msg)
    assert table.dropped(type(msg).__name__, "not_current_master") == 2
    assert [e["role"] for e in logs if e["event"] == "message_not_entitled"] == ["agent", "agent"]


def test_without_a_master_nobody_sends_master_commands() -> None:
    table = agent_entitlements(lambda: None, _table())
    assert not table.allows(MASTER, m.ShutdownAgent())


def test_executor_messages_only_from_that_registered_executor() -> None:
    table = agent_entitlements(lambda: MASTER, _table())
    update = m.StatusUpdate(framework_id="f", status=status("t", "TASK_FINISHED", b"1"), uuid=b"1", executor_id="t")
    message = m.ExecutorToFramework(agent_id="a", framework_id="f", executor_id="t", data=b"x")
    assert {type(update), type(message)} == set(FROM_EXECUTOR)
    for msg in (update, message):
        assert table.allows(EXECUTOR, msg)
        assert not table.allows(MASTER, msg)
        assert not table.allows("executor(2)@127.0.0.1:40000", msg)
    other = m.StatusUpdate(framework_id="f", status=status("t", "TASK_FINISHED", b"1"), uuid=b"1", executor_id="x")
    assert not table.allows(EXECUTOR, other)  # not its executor id
    assert table.dropped(reason="not_that_executor") == 5


def test_anyone_may_register_an_executor_or_ask_for_usage() -> None:
    table = agent_entitlements(lambda: MASTER, _table())
    assert table.allows(FORGER, m.RegisterExecutor(framework_id="f", executor_id="t"))
    assert table.allows(FORGER, m.ResourceUsageRequest())


# --- status update bounds -----------------------------------------------------------


def _manager() -> StatusUpdateManager:
    manager = StatusUpdateManager(retry_interval=10, max_interval=40)
    manager.paused = False
    return manager


def test_a_stream_keeps_the_head_the_latest_and_the_terminal_within_its_bound() -> None:
    manager = _manager()
    for i in range(MAX_UPDATES_PER_STREAM + 500):
        manager.update("f", status("t", "TASK_RUNNING", b"%d" % i), now=0)
    manager.update("f", status("t", "TASK_FINISHED", b"end"), now=0)
    kept = manager.pending("f")
    assert len(kept) == MAX_UPDATES_PER_STREAM
    assert kept[0].uuid == b"0"  # the outstanding head stays until acknowledged
    assert kept[-2].uuid == b"%d" % (MAX_UPDATES_PER_STREAM + 499) and kept[-1].uuid == b"end"
    assert manager.dropped == 501


def test_a_removed_framework_keeps_no_stream_and_takes_no_more_updates() -> None:
    manager = _manager()
    for i in range(20):
        manager.update("f", status(f"t{i}", "TASK_LOST", b"u%d" % i), now=0)
    manager.update("g", status("t", "TASK_RUNNING", b"g1"), now=0)
    assert manager.remove_framework("f") == 20
    assert manager.pending("f") == [] and len(manager.pending("g")) == 1
    assert manager.update("f", status("t99", "TASK_KILLED", b"late"), now=1) == (False, [])
    assert manager.pending("f") == []


def test_update_framework_resends_that_framework_once_per_retry_interval() -> None:
    manager = _manager()
    for i in range(5):
        manager.update("f", status(f"t{i}", "TASK_LOST", b"f%d" % i), now=0)
    manager.update("g", status("t", "TASK_RUNNING", b"g1"), now=0)
    assert len(manager.resend("f", now=1)) == 5  # only f's heads
    assert sum(len(manager.resend("f", now=1 + i / 1000)) for i in range(2000)) == 0  # forged repeats: nothing
    assert len(manager.resend("f", now=2, moved=True)) == 5  # the framework failed over to a new pid
    assert len(manager.resend("f", now=12.5)) == 5  # a retry interval later


def test_resend_while_disconnected_sends_nothing() -> None:
    manager = _manager()
    manager.update("f", status("t", "TASK_RUNNING", b"1"), now=0)
    manager.paused = True
    assert manager.resend("f", now=50, moved=True) == []
