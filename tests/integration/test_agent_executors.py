"""Custom executors (frameworks.MesosExecutorDriver) under a real agent, driven
by a stand-in master (tests/integration/agent_support.py)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from actors.node import Node
from tests.integration.agent_support import FRAMEWORK_ID, StandInMaster, command_task, spawn_master, start_agent

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

ECHO = os.path.join(os.path.dirname(__file__), "echo_executor.py")


def echo_task(task_id: str, executor_id: str = "echo") -> dict[str, Any]:
    task = command_task("unused", task_id=task_id)
    del task["command"]
    task["executor"] = {"executor_id": {"value": executor_id}, "name": "echo",
                        "command": {"value": f"{sys.executable} {ECHO}", "shell": True},
                        "resources": [{"name": "mem", "type": "SCALAR", "scalar": {"value": 64}}]}
    return task


@pytest.fixture
def master(tmp_path: os.PathLike[str]) -> Iterator[StandInMaster]:
    node = Node().start()
    master = spawn_master(node)
    start_agent(node, master, str(tmp_path))
    yield master
    node.stop()


def test_framework_messages_both_ways_and_tasks_share_the_executor(master: StandInMaster) -> None:
    master.run_task(echo_task("e1"))
    master.run_task(echo_task("e2"))
    master.wait_state("e1", "TASK_RUNNING")
    master.wait_state("e2", "TASK_RUNNING")
    master.to_executor("echo", b"ping")
    message = master.wait(lambda: master.messages and master.messages[0])
    assert (message.data, message.executor_id, message.framework_id) == (b"echo:ping", "echo", FRAMEWORK_ID)
    assert message.agent_id == "agent-S0"
    usage = master.sync_agent()
    assert [e["executor_id"] for e in usage.executors] == ["echo"]  # one executor for both tasks
    master.to_executor("echo", b"finish")
    assert master.wait_terminal("e1").status["state"] == "TASK_FINISHED"
    assert master.wait_terminal("e2").status["state"] == "TASK_FINISHED"


def test_executor_crash_fails_its_tasks_and_is_reported(master: StandInMaster) -> None:
    master.run_task(echo_task("c1"))
    master.wait_state("c1", "TASK_RUNNING")
    master.to_executor("echo", b"crash")
    update = master.wait_terminal("c1")
    assert update.status["state"] == "TASK_FAILED"
    assert update.status["reason"] == "REASON_EXECUTOR_TERMINATED"
    assert update.status["source"] == "SOURCE_AGENT"
    exited = master.wait(lambda: master.exited_executors and master.exited_executors[0])
    assert (exited.executor_id, exited.status) == ("echo", 7 << 8)


def test_executor_that_never_registers_times_out(tmp_path: os.PathLike[str]) -> None:
    node = Node().start()
    try:
        master = spawn_master(node)
        start_agent(node, master, str(tmp_path), executor_registration_timeout=0.5)
        task = echo_task("r1")
        task["executor"]["command"] = {"value": "sleep 30", "shell": True}
        master.run_task(task)
        update = master.wait_terminal("r1")
        assert update.status["state"] == "TASK_FAILED"
        assert update.status["reason"] == "REASON_EXECUTOR_REGISTRATION_TIMEOUT"
    finally:
        node.stop()
