"""pymesos' own examples/scheduler.py and examples/executor.py (imports changed) on a LocalCluster.

What their author meant: the scheduler (use_addict=True, attribute access
throughout) launches one task per offer that fits, each on the shared
``MinimalExecutor``; the executor reports TASK_RUNNING, prints the task's
data ("Hello from task <id>!") to its stderr, and TASK_FINISHED 30 s later;
the scheduler logs each update; Ctrl+C stops the driver and the program ends.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from frameworks.testing import LocalCluster, find_sandbox_file
from tests.compat.support import HERE, Program, all_tasks, tasks_in, torn_down, wait_until

pytestmark = pytest.mark.integration

SCHEDULER = os.path.join(HERE, "pymesos_examples", "scheduler.py")


@pytest.fixture
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(agents=1, resources="cpus:0.5;mem:512", allocation_interval=0.2) as c:
        yield c


def test_the_minimal_framework_runs_its_tasks_to_the_end(cluster: LocalCluster, tmp_path: Any) -> None:
    program = Program([SCHEDULER, cluster.master], str(tmp_path / "scheduler.log"))
    try:
        program.wait_output("Scheduler running, Ctrl+C to quit.", 15)
        # 0.5 cpus: the executor's 0.1 and four tasks of 0.1 each.
        def four_running() -> list[dict[str, Any]]:
            running = tasks_in(cluster.state(), "TASK_RUNNING")
            return running if len(running) >= 4 else []
        running = wait_until(four_running, 20, "four running tasks")
        (framework,) = cluster.state()["frameworks"]
        assert framework["name"] == "MinimalFramework"
        assert {t["executor_id"] for t in running} == {"MinimalExecutor"}
        task_id = running[0]["id"]
        stderr = find_sandbox_file(cluster.work_dir, framework["id"], "MinimalExecutor", "stderr")
        assert stderr is not None
        wait_until(lambda: f"Hello from task {task_id}!" in open(stderr).read(), 10, "the task's data in stderr")
        program.wait_output(f"Status update TID {task_id} TASK_RUNNING", 10)
        # The executor finishes each task 30 s after it started it.
        wait_until(lambda: any(t["id"] == task_id and t["state"] == "TASK_FINISHED"
                               for t in all_tasks(cluster.state())), 45, "the first task to finish")
        program.wait_output(f"Status update TID {task_id} TASK_FINISHED", 10)
        program.interrupt()  # its SIGINT handler calls driver.stop(): teardown, then the program returns
        assert program.wait(15) == 0
        state = torn_down(cluster)
        assert [f["name"] for f in state["completed_frameworks"]] == ["MinimalFramework"]
    finally:
        program.stop()
