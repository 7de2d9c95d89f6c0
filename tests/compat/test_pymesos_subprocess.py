"""pymesos.subprocess (its scheduler, executor and Popen; imports changed) on a LocalCluster.

What its author meant: ``check_output``/``call`` behave as the standard
library's, but each command runs as a Mesos task on a custom executor
(``python -m <package>.executor``) whose stdin/stdout/stderr are wired back
over TCP to the caller; the exit status travels back pickled in the status
update's base64 ``data``; at exit the scheduler stops its driver (teardown).
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from frameworks.testing import LocalCluster
from tests.compat.support import HERE, ROOT, Program, all_tasks, torn_down

pytestmark = pytest.mark.integration


def test_check_output_and_call_run_as_mesos_tasks(tmp_path: Any) -> None:
    # The executor is started as "python -m tests.compat.pymesos_subprocess.executor": the
    # operator puts the code on its path, as one would install a framework's package.
    with LocalCluster(agents=1, resources="cpus:1;mem:1024", allocation_interval=0.2,
                      executor_environment=f"PYTHONPATH={ROOT}") as cluster:
        program = Program([os.path.join(HERE, "subprocess_program.py")], str(tmp_path / "program.log"),
                          env={"MESOS_MASTER": cluster.master})
        try:
            assert program.wait(60) == 0, program.output()
            out = program.output()
            assert "check_output: b'hello from mesos\\n'" in out
            assert "to-stdout" in out  # call() hands the task's stdout to ours
            assert "call: 3" in out
            assert "check_output raised: 5" in out
            assert "done" in out
            state = torn_down(cluster)  # its atexit handler stopped the driver
            tasks = sorted(all_tasks(state), key=lambda t: int(t["id"]))
            assert [(t["id"], t["state"]) for t in tasks] == [
                ("1", "TASK_FINISHED"), ("2", "TASK_FINISHED"), ("3", "TASK_FINISHED")]
            assert {t["executor_id"] for t in tasks} == {"default"}
        finally:
            program.stop()
