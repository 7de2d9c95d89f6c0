"""Where logs go: a program embedding mesopy keeps its stdout (library events
on stderr, warning and above); the bin scripts log info on stderr; each
life-cycle event is logged once, with its fields."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
from typing import Any

import pytest

from tests.integration.operators_support import ROOT, Script, free_port, free_port_pair

pytestmark = pytest.mark.integration

# A framework author's program: a LocalCluster, a driver, one command task run to TASK_FINISHED.
EMBEDDING = r"""
import sys
from frameworks.command import CommandScheduler
from frameworks.execute import run_command
from frameworks.testing import LocalCluster

with LocalCluster(agents=1, resources="cpus:1;mem:256", allocation_interval=0.1) as cluster:
    scheduler = CommandScheduler("echo from-the-task", "cpus:0.1;mem:32")
    outcome = run_command(scheduler, cluster.master, {"user": "", "name": "embedded"}, 60.0)
sys.exit(0 if outcome == "done" and scheduler.succeeded() else 3)
"""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESOPY_")}
    env.update(extra)
    return env


def _embed(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", EMBEDDING], capture_output=True, text=True, timeout=90,
                          cwd=ROOT, env=_env(**env))


def test_a_program_embedding_local_cluster_keeps_its_stdout_and_gets_warnings_only() -> None:
    result = _embed()
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    levels = {line.split("[", 1)[1].split("]", 1)[0].strip() for line in result.stderr.splitlines() if "[" in line}
    assert levels <= {"warning", "error", "critical"}, result.stderr
    assert "master_started" not in result.stderr and "endpoint_bound" not in result.stderr


def test_mesopy_log_level_turns_an_embedded_cluster_s_events_on_on_stderr() -> None:
    result = _embed(MESOPY_LOG_LEVEL="info", MESOPY_LOG_FORMAT="json")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    names = [e["event"] for e in events]
    assert "master_started" in names and "task_launched" in names
    assert all(e["level"] != "debug" for e in events)


def test_a_bad_mesopy_log_level_is_named_and_the_default_kept() -> None:
    code = "import actors, structlog; structlog.get_logger().info('not_shown')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30,
                            cwd=ROOT, env=_env(MESOPY_LOG_LEVEL="loud"))
    assert result.returncode == 0 and result.stdout == ""
    assert "log_settings_ignored" in result.stderr and "MESOPY_LOG_LEVEL='loud'" in result.stderr
    assert "not_shown" not in result.stderr


def test_a_bin_script_logs_info_on_stderr_by_default() -> None:
    port = free_port_pair()  # the default HTTP port (port - 10) is printed below
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "bin", "mesopy-master"), f"--port={port}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=_env())
    try:
        assert proc.stderr is not None
        lines = []
        for line in proc.stderr:
            lines.append(line)
            if "master_started" in line:
                break
        assert lines and "[info" in lines[-1] and f"address=127.0.0.1:{port}" in lines[-1], "".join(lines)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert out == f"mesopy-master: HTTP endpoints at http://127.0.0.1:{port - 10}/\n"  # its one stdout line
    assert "master_stopped" in err


def _counts(script: Script) -> collections.Counter[str]:
    names: collections.Counter[str] = collections.Counter()
    for line in script.lines:
        if line.startswith("{"):
            names[json.loads(line)["event"]] += 1
    return names


def _events(script: Script, name: str) -> list[dict[str, Any]]:
    return [e for e in (json.loads(x) for x in script.lines if x.startswith("{")) if e["event"] == name]


def test_each_life_cycle_event_is_logged_once_with_its_fields(scripts: list[Script], tmp_path: Any) -> None:
    port = free_port()
    master = Script("mesopy-master", f"--port={port}")
    scripts.append(master)
    master.wait_for("master_started")
    agent = Script("mesopy-agent", f"--master=127.0.0.1:{port}", "--port=0", f"--work_dir={tmp_path / 'a'}",
                   "--resources=cpus:1;mem:256;disk:256")
    scripts.append(agent)
    agent.wait_for("agent_registered")
    assert agent.terminate() == 0
    assert master.terminate() == 0
    master.kill()
    agent.kill()  # joins the stderr readers: every line is in
    for script, events in ((master, ("master_started", "master_stopping", "master_stopped")),
                           (agent, ("agent_started", "agent_stopping", "agent_stopped"))):
        counts = _counts(script)
        assert {e: counts[e] for e in events} == {e: 1 for e in events}, "".join(script.lines)
    (started,) = _events(master, "master_started")
    assert started["address"] == f"127.0.0.1:{port}" and started["pid"] == f"master@127.0.0.1:{port}"
    assert started["allocator"] and started["agent_ping_timeout"] > 0
    (agent_started,) = _events(agent, "agent_started")
    assert agent_started["pid"].startswith("agent(1)@127.0.0.1:") and agent_started["work_dir"]
    (agent_stopped,) = _events(agent, "agent_stopped")
    assert agent_stopped["agent_id"]
