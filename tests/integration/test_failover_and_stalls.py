"""Framework failover and stalls with real processes (kill -9, SIGSTOP) on loopback: a scheduler
that dies is replaced within its failover_timeout and gets its tasks back; past the timeout its
tasks are killed; a stalled (SIGSTOPped) scheduler or agent is slow, not dead."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.netns_support import Launcher, Proc
from tests.integration.operators_support import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[Launcher]:
    launch = Launcher(tmp_path)
    try:
        yield launch
    finally:
        launch.close()


def _cluster(launcher: Launcher, *master_flags: str) -> tuple[Proc, Proc, str]:
    port = free_port()
    master = launcher.master("m", port, *master_flags)
    address = f"127.0.0.1:{port}"
    agent = launcher.agent("a", address, 0)
    return master, agent, address


def _running(scheduler: Proc, *tasks: str) -> str:
    fid = str(scheduler.wait_for("registered")["framework_id"])
    running: set[str] = set()
    while not running >= set(tasks):  # in any order
        running.add(scheduler.wait_for("status", state="TASK_RUNNING")["task_id"])
    return fid


def _nothing(proc: Proc, event: str, within: float, **fields: object) -> None:
    """No ``event`` from ``proc`` within ``within`` seconds (a wait on the event, which must time out)."""
    with pytest.raises(AssertionError, match=f"no {event}"):
        proc.wait_for(event, timeout=within, **fields)


def test_a_killed_scheduler_is_replaced_within_its_failover_timeout(launcher: Launcher) -> None:
    master, _agent, address = _cluster(launcher)
    first = launcher.scheduler("m", address, "--tasks=2", "--failover-timeout=60", "--checkpoint")
    fid = _running(first, "t0", "t1")
    first.kill()  # kill -9
    master.wait_for("framework_disconnected", framework_id=fid)
    second = launcher.scheduler("m", address, f"--framework-id={fid}", "--failover-timeout=60", "--checkpoint")
    assert second.wait_for("registered")["framework_id"] == fid  # a new instance: registered, as in Mesos
    second.tell("reconcile")
    states = {second.wait_for("status", reason="REASON_RECONCILIATION")["task_id"] for _ in range(2)}
    assert states == {"t0", "t1"}
    second.tell("kill t0")  # the tasks are the new instance's to manage
    second.wait_for("status", task_id="t0", state="TASK_KILLED")


def test_the_scheduler_it_replaced_gets_an_error_when_it_resumes(launcher: Launcher) -> None:
    master, _agent, address = _cluster(launcher)
    first = launcher.scheduler("m", address, "--tasks=1", "--failover-timeout=60")
    fid = _running(first, "t0")
    first.signal(signal.SIGSTOP)
    second = launcher.scheduler("m", address, f"--framework-id={fid}", "--failover-timeout=60")
    assert second.wait_for("registered")["framework_id"] == fid
    master.wait_for("framework_failed_over", framework_id=fid)
    first.signal(signal.SIGCONT)
    assert first.wait_for("error")["message"] == "Framework failed over"
    second.tell("reconcile")
    assert second.wait_for("status", task_id="t0", reason="REASON_RECONCILIATION")["state"] == "TASK_RUNNING"


def test_past_the_failover_timeout_the_framework_is_torn_down(launcher: Launcher) -> None:
    master, agent, address = _cluster(launcher)
    first = launcher.scheduler("m", address, "--tasks=1", "--failover-timeout=2")
    fid = _running(first, "t0")
    first.kill()
    master.wait_for("framework_failover_timeout", framework_id=fid)
    agent.wait_for("framework_shutdown", framework_id=fid)
    late = launcher.scheduler("m", address, f"--framework-id={fid}", "--failover-timeout=2")
    assert "removed" in late.wait_for("error")["message"]


def test_a_stalled_scheduler_without_failover_timeout_is_not_torn_down(launcher: Launcher) -> None:
    master, _agent, address = _cluster(launcher)
    scheduler = launcher.scheduler("m", address, "--tasks=1")  # failover_timeout 0: removed when seen gone
    fid = _running(scheduler, "t0")
    scheduler.signal(signal.SIGSTOP)  # a 4 s pause (GC, swap, a paused VM): longer than the old 3 s
    try:
        _nothing(master, "framework_disconnected", 4.0, framework_id=fid)
    finally:
        scheduler.signal(signal.SIGCONT)
    scheduler.tell("reconcile")
    assert scheduler.wait_for("status", task_id="t0", reason="REASON_RECONCILIATION")["state"] == "TASK_RUNNING"
    scheduler.kill()  # but a dead one is seen at once, and (no failover timeout) torn down
    master.wait_for("framework_disconnected", timeout=5, framework_id=fid)
    master.wait_for("framework_removed", timeout=5, framework_id=fid)


def test_a_stalled_agent_is_unreachable_only_after_the_ping_window(launcher: Launcher) -> None:
    master, agent, address = _cluster(launcher, "--agent_ping_timeout=1", "--max_agent_ping_timeouts=4")
    scheduler = launcher.scheduler("m", address, "--tasks=1", "--partition-aware")
    _running(scheduler, "t0")
    agent.signal(signal.SIGSTOP)
    try:  # a 2.5 s stall within the 4 s window: neither disconnected nor unreachable
        _nothing(master, "agent_disconnected", 2.5)
    finally:
        agent.signal(signal.SIGCONT)
    _nothing(master, "agent_unreachable", 3.0)
    agent.signal(signal.SIGSTOP)  # now past the window: unreachable, then back when it resumes
    try:
        master.wait_for("agent_unreachable", timeout=10)
        assert scheduler.wait_for("status", task_id="t0")["state"] == "TASK_UNREACHABLE"
    finally:
        agent.signal(signal.SIGCONT)
    master.wait_for("agent_reregistered", timeout=30, was_unreachable=True)
    assert scheduler.wait_for("status", task_id="t0")["state"] == "TASK_RUNNING"
    agent.kill()  # a dead agent is seen at once (its connection), long before the ping window
    master.wait_for("agent_disconnected", timeout=3)
