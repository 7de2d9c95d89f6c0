"""The agent with real command executor processes (posix isolation), driven by
a stand-in master (tests/integration/agent_support.py)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from actors.filters import clear_filters, drop_messages
from actors.node import Node
from tests.integration.agent_support import (
    StandInMaster,
    command_task,
    spawn_master,
    start_agent,
)
from transport.messages import StatusUpdateAcknowledgement

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


@pytest.fixture
def cluster(tmp_path: os.PathLike[str]) -> Iterator[tuple[StandInMaster, object, str]]:
    node = Node().start()
    master = spawn_master(node)
    agent = start_agent(node, master, str(tmp_path), task_kill_grace_period=3.0)
    yield master, agent, str(tmp_path)
    clear_filters()
    node.stop()


def test_command_task_finishes_and_sandbox_holds_output(cluster) -> None:
    master, _agent, work_dir = cluster
    task = command_task("echo hello-sandbox; echo oops >&2; echo $MESOS_EXECUTOR_ID")
    master.run_task(task)
    task_id = task["task_id"]["value"]
    update = master.wait_terminal(task_id)
    assert update.status["state"] == "TASK_FINISHED"
    assert master.states(task_id) == ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"]
    assert update.status["message"] == "Command exited with status 0"
    runs = os.path.join(work_dir, "slaves", "agent-S0", "frameworks", "fw-0001", "executors", task_id, "runs")
    (container,) = [c for c in os.listdir(runs) if c != "latest"]
    assert os.readlink(os.path.join(runs, "latest")) == container  # Mesos' runs/latest
    out = _stdout(work_dir, task_id)
    assert "hello-sandbox" in out and task_id in out
    with open(os.path.join(runs, container, "stderr")) as f:
        assert "oops" in f.read()


def test_failing_command_reports_exit_status(cluster) -> None:
    master, _, _ = cluster
    task = command_task("exit 3")
    master.run_task(task)
    update = master.wait_terminal(task["task_id"]["value"])
    assert update.status["state"] == "TASK_FAILED"
    assert update.status["message"] == "Command exited with status 3"
    assert update.status["source"] == "SOURCE_EXECUTOR"


def _stdout(work_dir: str, task_id: str) -> str:
    """The command's stdout in its sandbox ("" until the sandbox and the file exist)."""
    runs = os.path.join(work_dir, "slaves", "agent-S0", "frameworks", "fw-0001", "executors", task_id, "runs")
    for container in os.listdir(runs) if os.path.isdir(runs) else []:
        path = os.path.join(runs, container, "stdout")
        if os.path.exists(path):
            with open(path) as f:
                return f.read()
    return ""


def _run_then_kill(master: Any, task: dict[str, Any], ready: Callable[[], bool] = lambda: True) -> Any:
    """Run ``task``, kill it once running and ``ready()``, and return its terminal update."""
    task_id = task["task_id"]["value"]
    master.run_task(task)
    master.wait_state(task_id, "TASK_RUNNING")
    master.poll(ready)
    master.kill_task(task_id)
    return master.wait_terminal(task_id)


def test_kill_without_grace_period_uses_sigterm(cluster) -> None:
    master, _, _ = cluster
    update = _run_then_kill(master, command_task("sleep 60"))
    assert update.status["state"] == "TASK_KILLED"
    assert update.status["message"] == "Command terminated by signal SIGTERM"


def test_kill_with_grace_period_escalates_to_sigkill(cluster) -> None:
    master, _, work_dir = cluster
    # The shell ignores SIGTERM, so only the SIGKILL after the grace period ends it. TASK_RUNNING
    # comes when the shell starts: the kill waits for "armed", printed once the trap is set.
    task = command_task("trap '' TERM; echo armed; while true; do sleep 0.05; done",
                        kill_policy={"grace_period": {"nanoseconds": 300_000_000}})
    update = _run_then_kill(master, task, lambda: "armed" in _stdout(work_dir, task["task_id"]["value"]))
    assert update.status["state"] == "TASK_KILLED"
    assert update.status["message"] == "Command terminated by signal SIGKILL"


def test_lost_acknowledgement_is_retried(tmp_path) -> None:
    node = Node().start()
    try:
        master = spawn_master(node)
        agent = start_agent(node, master, str(tmp_path), status_update_retry_interval=0.3)
        task = command_task("true")
        task_id = task["task_id"]["value"]
        # The first acknowledgement (of TASK_STARTING) is lost on its way to the agent.
        lost = drop_messages(StatusUpdateAcknowledgement, receiver="agent(1)", count=1)
        master.run_task(task)
        master.wait_terminal(task_id)
        assert lost.matched == 1
        states = master.states(task_id)
        assert states[0] == states[1] == "TASK_STARTING"  # retried after the lost ack, same uuid
        assert master.updates[0].uuid == master.updates[1].uuid
        # Later updates may be resent too if an acknowledgement is slower than 0.3 s, never reordered.
        assert list(dict.fromkeys(states)) == ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"]
        master.sync_agent()  # the last acknowledgement has been handled
        assert not agent.updates.pending()
    finally:
        clear_filters()
        node.stop()
