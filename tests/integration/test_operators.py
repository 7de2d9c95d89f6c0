"""The operator scripts as real OS processes on loopback: flags, errors, signals,
a master with agents, mesopy-execute, a killed agent."""

from __future__ import annotations

import glob
import importlib.util
import os
import signal
import socket
import threading
import time
from typing import Any

import pytest

from tests.integration.operators_support import (
    Script,
    StateClient,
    free_port,
    run_script,
)

pytestmark = pytest.mark.integration

needs_command_executor = pytest.mark.skipif(
    importlib.util.find_spec("actors.executor.command") is None,
    reason="the command executor (actors.executor.command) is not written yet",
)


def start_master(scripts: list[Script], *flags: str) -> tuple[Script, str]:
    port = free_port()
    master = Script("mesopy-master", f"--port={port}", *flags)
    scripts.append(master)
    master.wait_for("master_started", address=f"127.0.0.1:{port}")
    return master, f"127.0.0.1:{port}"


def start_agent(scripts: list[Script], master: str, work_dir: str, *flags: str) -> Script:
    agent = Script(
        "mesopy-agent", f"--master={master}", "--port=0", f"--work_dir={work_dir}",
        "--resources=cpus:1;mem:512;disk:512", *flags,
    )
    scripts.append(agent)
    return agent


def active_agents(state: dict[str, Any]) -> list[str]:
    return [a["id"] for a in state.get("slaves", []) if a.get("active")]


# --- errors an operator can act on -------------------------------------------------


@pytest.mark.parametrize(
    "script, args, named",
    [
        ("mesopy-agent", ["--master=127.0.0.1:5050", "--resources=cpus:abc"], ["--resources", "cpus:abc"]),
        ("mesopy-agent", ["--master=127.0.0.1:5050", "--isolation=bogus/iso"], ["--isolation", "bogus/iso"]),
        ("mesopy-agent", ["--master=127.0.0.1"], ["--master", "127.0.0.1"]),
        ("mesopy-agent", [], ["--master", "required"]),
        ("mesopy-master", ["--port=abc"], ["--port", "abc"]),
        ("mesopy-master", ["--weights=web=-1"], ["--weights", "-1"]),
        ("mesopy-master", ["--frobnicate=1"], ["--frobnicate", "unknown flag"]),
        ("mesopy-execute", ["--master=nohost", "--command=true"], ["--master", "nohost"]),
        ("mesopy-local", ["--resources=cpus:abc"], ["--resources", "cpus:abc"]),
    ],
)
def test_a_bad_flag_is_one_line_naming_it_and_exit_status_2(script: str, args: list[str], named: list[str]) -> None:
    result = run_script(script, *args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{script}: ")
    for text in named:
        assert text in lines[0]


def test_a_bad_flag_from_the_environment_names_the_variable() -> None:
    result = run_script("mesopy-master", env={**os.environ, "MESOPY_PORT": "xyz"})
    assert result.returncode == 2
    assert result.stderr.strip() == "mesopy-master: --port (from MESOPY_PORT): bad value 'xyz': 'xyz' is not an integer"


def test_a_port_in_use_names_the_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_script("mesopy-master", f"--port={port}")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and f"port {port}" in lines[0] and "in use" in lines[0], result.stderr


def test_help_lists_flags_with_defaults_and_exits_0() -> None:
    result = run_script("mesopy-agent", "--help")
    assert result.returncode == 0
    assert "--master=VALUE" in result.stdout and "MESOPY_MASTER" in result.stdout
    assert "--work_dir=VALUE" in result.stdout and "(default: /tmp/mesopy" in result.stdout
    assert result.stdout.index("examples:") < result.stdout.index("--master=VALUE")


# --- a cluster of processes ---------------------------------------------------------


def test_master_and_two_agents_register_and_all_stop_on_sigterm(scripts: list[Script], tmp_path: Any) -> None:
    master, address = start_master(scripts)
    agents = [start_agent(scripts, address, str(tmp_path / f"a{i}")) for i in (1, 2)]
    for agent in agents:
        agent.wait_for("agent_registered")
    client = StateClient(address)
    try:
        state = client.wait_until(lambda s: len(active_agents(s)) == 2)
        assert state["activated_slaves"] == 2
    finally:
        client.close()
    for agent in agents:
        started = time.monotonic()
        assert agent.terminate(5.0) == 0
        assert time.monotonic() - started < 5.0
        stopping = agent.wait_for("agent_stopping", signal="SIGTERM")
        assert stopping["executors"] == "shutting down executors"
        assert not any("Traceback" in line for line in agent.lines)
    assert master.terminate(5.0) == 0
    master.wait_for("master_stopped")


def test_sigint_stops_master_and_an_agent_that_leaves_its_executors(scripts: list[Script], tmp_path: Any) -> None:
    master, address = start_master(scripts)
    agent = start_agent(scripts, address, str(tmp_path / "a"), "--no-shutdown_executors_on_stop")
    agent.wait_for("agent_registered")
    assert agent.terminate(5.0, signal.SIGINT) == 0
    stopping = agent.wait_for("agent_stopping", signal="SIGINT")
    assert stopping["executors"] == "leaving executors running"
    assert master.terminate(5.0, signal.SIGINT) == 0
    master.wait_for("master_stopped")
    assert not any("Traceback" in line for s in (master, agent) for line in s.lines)


def test_an_unreachable_master_is_retried_until_it_comes(scripts: list[Script], tmp_path: Any) -> None:
    port = free_port()
    agent = start_agent(scripts, f"127.0.0.1:{port}", str(tmp_path / "a"), "--registration_backoff_factor=0.05")
    agent.wait_for("agent_started")
    assert agent.proc.poll() is None
    master = Script("mesopy-master", f"--port={port}")
    scripts.append(master)
    master.wait_for("master_started")
    agent.wait_for("agent_registered", timeout=15.0)
    assert not any("Traceback" in line for line in agent.lines)
    assert agent.terminate() == 0 and master.terminate() == 0


def test_a_killed_agent_is_removed_after_its_ping_timeouts(scripts: list[Script], tmp_path: Any) -> None:
    _, address = start_master(scripts, "--agent_ping_timeout=0.5", "--max_agent_ping_timeouts=3")
    agent = start_agent(scripts, address, str(tmp_path / "a"))
    agent.wait_for("agent_registered")
    client = StateClient(address)
    try:
        client.wait_until(lambda s: len(active_agents(s)) == 1)
        agent.proc.send_signal(signal.SIGKILL)
        agent.proc.wait(5)
        client.wait_until(lambda s: not active_agents(s), timeout=10.0)
    finally:
        client.close()


@needs_command_executor
def test_mesopy_execute_runs_instances_and_the_output_is_in_the_sandbox(scripts: list[Script], tmp_path: Any) -> None:
    _, address = start_master(scripts, "--allocation_interval=0.1")
    work_dirs = [str(tmp_path / f"a{i}") for i in (1, 2)]
    for work_dir in work_dirs:
        start_agent(scripts, address, work_dir).wait_for("agent_registered")
    result = run_script(
        "mesopy-execute", f"--master={address}", "--name=hello", "--command=echo hello-from-task",
        "--resources=cpus:0.1;mem:32", "--instances=2", "--timeout=60", timeout=90,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "waiting for offers" in result.stdout
    assert result.stdout.count("FINISHED") == 2 and "2/2 instance(s) finished" in result.stdout
    outputs = [p for w in work_dirs for p in glob.glob(f"{w}/slaves/*/frameworks/*/executors/hello-*/runs/*/stdout")
               if "/runs/latest/" not in p]
    assert len(outputs) == 2
    for path in outputs:
        with open(path) as f:
            assert "hello-from-task" in f.read()


@needs_command_executor
def test_mesopy_execute_exits_1_when_the_command_fails(scripts: list[Script], tmp_path: Any) -> None:
    _, address = start_master(scripts)
    start_agent(scripts, address, str(tmp_path / "a")).wait_for("agent_registered")
    result = run_script("mesopy-execute", f"--master={address}", "--command=exit 3", "--timeout=60", timeout=90)
    assert result.returncode == 1
    assert "FAILED" in result.stdout and "0/1 instance(s) finished" in result.stdout


@needs_command_executor
def test_the_task_of_a_killed_agent_is_lost_or_unreachable(scripts: list[Script], tmp_path: Any) -> None:
    from frameworks import MesosSchedulerDriver
    from frameworks.command import CommandScheduler

    _, address = start_master(scripts, "--agent_ping_timeout=0.5", "--max_agent_ping_timeouts=3")
    agent = start_agent(scripts, address, str(tmp_path / "a"))
    agent.wait_for("agent_registered")
    states: list[str] = []
    running, gone = threading.Event(), threading.Event()

    def progress(line: str) -> None:
        states.append(line)
        if line.endswith("RUNNING"):
            running.set()
        if " LOST" in line or " UNREACHABLE" in line:
            gone.set()

    scheduler = CommandScheduler("sleep 60", "cpus:0.1;mem:32", name="sleeper", progress=progress)
    driver = MesosSchedulerDriver(scheduler, {"user": "", "name": "sleeper"}, address)
    driver.start()
    try:
        assert running.wait(20), states
        agent.proc.send_signal(signal.SIGKILL)
        assert gone.wait(10), states
    finally:
        driver.stop()
        driver.join(5)
