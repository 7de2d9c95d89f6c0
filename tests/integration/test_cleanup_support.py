"""The tests' own clean-up: ``kill_executors_under`` leaves nothing of an executor's session behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.containment_support import alive
from tests.integration.http_support import wait_until
from tests.integration.operators_support import kill_executors_under

pytestmark = pytest.mark.integration

# Like the command executor: a session leader whose task runs in a process group of its own.
_EXECUTOR = ("import subprocess; task = subprocess.Popen(['sleep', '600'], process_group=0); "
             "print(task.pid, flush=True); task.wait()")


def test_a_task_in_its_own_process_group_dies_with_its_executor(tmp_path: Path) -> None:
    sandbox = tmp_path / "agent" / "runs" / "1"
    with subprocess.Popen([sys.executable, "-c", _EXECUTOR], start_new_session=True, stdout=subprocess.PIPE,
                          text=True, env={**os.environ, "MESOS_DIRECTORY": str(sandbox)}) as executor:
        assert executor.stdout is not None
        task = int(executor.stdout.readline())
        try:
            assert os.getpgid(task) == task != executor.pid
            kill_executors_under(str(tmp_path))
            assert executor.wait(10) == -9
            wait_until(lambda: not alive(task), f"task {task} killed")
        finally:
            if alive(task):
                os.kill(task, signal.SIGKILL)
            executor.kill()
