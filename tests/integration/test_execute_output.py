"""What mesopy-execute and mesopy-local --run tell an operator, with real processes:
each task's sandbox (and runs/latest beside it), a request no offer can hold,
and no path printed that is removed at exit."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest

from tests.integration.operators_support import Script, free_port, run_script

pytestmark = pytest.mark.integration

SANDBOX = re.compile(r"task (\S+) sandbox: (\S+)")


def _cluster(scripts: list[Script], work_dir: str, resources: str = "cpus:1;mem:256;disk:256") -> str:
    port = free_port()
    master = Script("mesopy-master", f"--port={port}", "--allocation_interval=0.1")
    scripts.append(master)
    master.wait_for("master_started")
    agent = Script("mesopy-agent", f"--master=127.0.0.1:{port}", "--port=0", f"--work_dir={work_dir}",
                   f"--resources={resources}")
    scripts.append(agent)
    agent.wait_for("agent_registered")
    return f"127.0.0.1:{port}"


def test_mesopy_execute_prints_each_sandbox_and_runs_latest_points_at_it(scripts: list[Script],
                                                                          tmp_path: Any) -> None:
    work_dir = str(tmp_path / "agent")
    master = _cluster(scripts, work_dir)
    result = run_script("mesopy-execute", f"--master={master}", "--name=sbx", "--command=echo in-the-sandbox",
                        "--instances=2", "--timeout=60", timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    sandboxes = dict(SANDBOX.findall(result.stdout))
    assert len(sandboxes) == 2, result.stdout
    for task_id, directory in sandboxes.items():
        assert directory.startswith(work_dir + os.sep) and f"/executors/{task_id}/runs/" in directory
        with open(os.path.join(directory, "stdout")) as f:
            assert "in-the-sandbox" in f.read()
        runs, run = os.path.split(directory)
        assert os.readlink(os.path.join(runs, "latest")) == run
        assert os.path.samefile(os.path.join(runs, "latest"), directory)


def test_mesopy_execute_says_when_no_offer_holds_the_request(scripts: list[Script], tmp_path: Any) -> None:
    master = _cluster(scripts, str(tmp_path / "agent"), "cpus:2;mem:512;disk:256")
    result = run_script("mesopy-execute", f"--master={master}", "--command=true", "--resources=cpus:64;mem:32",
                        "--timeout=4", timeout=60)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    told = [i for i, line in enumerate(lines) if "no agent offers" in line]
    assert len(told) == 1, result.stdout
    assert lines[told[0]] == ("mesopy-execute: no agent offers cpus:64; largest offer seen: cpus:2;mem:512; "
                              "still waiting for an offer that fits cpus:64;mem:32")
    assert told[0] < next(i for i, line in enumerate(lines) if "timed out" in line)


def test_a_failed_local_run_prints_its_output_and_no_path_it_removes() -> None:
    result = run_script("mesopy-local", "--run=echo to-stdout; echo to-stderr >&2; exit 3", "--timeout=60",
                        timeout=90)
    assert result.returncode == 3, result.stderr
    assert result.stdout == "to-stdout\n"
    assert "last lines of the task's stderr:" in result.stderr and "  to-stderr" in result.stderr
    named = [line for line in result.stderr.splitlines() if "/mesopy-local-" in line]
    assert named, result.stderr  # the sandbox line
    for line in named:
        assert "removed at exit; --work_dir=DIR keeps it" in line, line
        path = line.split("sandbox: ", 1)[1].split(" (", 1)[0]
        assert not os.path.exists(path)


def test_a_local_run_with_a_work_dir_names_the_sandbox_it_keeps(tmp_path: Any) -> None:
    result = run_script("mesopy-local", "--run=echo kept; exit 2", f"--work_dir={tmp_path}", "--timeout=60",
                        timeout=90)
    assert result.returncode == 2, result.stderr
    ((task_id, directory),) = SANDBOX.findall(result.stderr)
    with open(os.path.join(directory, "stdout")) as f:
        assert f.read() == "kept\n"
    assert f"last lines of {os.path.join(directory, 'stderr')}:" in result.stderr
