"""Agent benchmark: tasks launched and finished per second on one agent, and
the time from launch (RunTask sent) to TASK_RUNNING, median and p99.

Two workloads: command tasks (`true`, one command executor OS process each)
and many tasks on one custom executor (tests/integration/echo_executor.py).
The raw baseline measured in the same run: starting a bare Python
interpreter (`python -c pass`), the floor of any Python executor launch.
The agent is driven by the stand-in master of the integration tests.

    python -m benchmarks.agent [--command-tasks 20] [--executor-tasks 200] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

import structlog

from actors.node import Node
from tests.integration.agent_support import (
    StandInMaster,
    command_task,
    spawn_master,
    start_agent,
)
from tests.integration.test_agent_executors import echo_task

__all__ = ["main"]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _baseline(n: int) -> float:
    start = time.monotonic()
    for _ in range(n):
        subprocess.run([sys.executable, "-c", "pass"], check=True)
    return n / (time.monotonic() - start)


def _run(master: StandInMaster, tasks: list[dict[str, Any]], finish: bytes | None) -> tuple[float, list[float]]:
    sent: dict[str, float] = {}
    start = time.monotonic()
    for task in tasks:
        sent[task["task_id"]["value"]] = time.monotonic()
        master.run_task(task)
    ids = list(sent)
    master.wait(lambda: all("TASK_RUNNING" in master.states(t) for t in ids), timeout=300)
    if finish is not None:
        master.to_executor("bench", finish)
    for task_id in ids:
        master.wait_terminal(task_id, timeout=300)
    elapsed = time.monotonic() - start
    with master.cond:
        running = {u.status["task_id"]["value"]: at for u, at in zip(master.updates, master.received_at)
                   if u.status["state"] == "TASK_RUNNING"}
    return len(tasks) / elapsed, [running[t] - sent[t] for t in ids]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--command-tasks", type=int, default=20)
    parser.add_argument("--executor-tasks", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    baseline = _baseline(10)
    with tempfile.TemporaryDirectory() as work_dir:
        node = Node().start()
        try:
            master = spawn_master(node)
            start_agent(node, master, work_dir, resources="cpus:64;mem:65536;disk:1000;ports:[31000-31010]")
            cmd_rate, cmd_latency = _run(master, [command_task("true") for _ in range(args.command_tasks)], None)
            tasks = [echo_task(f"bench-{i}", executor_id="bench") for i in range(args.executor_tasks)]
            exe_rate, exe_latency = _run(master, tasks, b"finish")
        finally:
            node.stop()
    report: dict[str, Any] = {
        "tasks_per_s": round(cmd_rate, 2),
        "launch_to_running_s": {"median": round(statistics.median(cmd_latency), 4),
                                "p99": round(_percentile(cmd_latency, 0.99), 4)},
        "custom_executor_tasks_per_s": round(exe_rate, 1),
        "custom_executor_launch_to_running_s": {"median": round(statistics.median(exe_latency), 4),
                                                "p99": round(_percentile(exe_latency, 0.99), 4)},
        "baseline_python_starts_per_s": round(baseline, 2),
        "command_vs_baseline": round(cmd_rate / baseline, 3),
        "cpus": os.cpu_count(),
    }
    print(f"command tasks:   {cmd_rate:8.2f} tasks/s   launch->RUNNING median {report['launch_to_running_s']['median']:.3f} s"
          f"  p99 {report['launch_to_running_s']['p99']:.3f} s")
    print(f"custom executor: {exe_rate:8.1f} tasks/s   launch->RUNNING median "
          f"{report['custom_executor_launch_to_running_s']['median']:.4f} s")
    print(f"baseline (python -c pass): {baseline:.2f} starts/s; command tasks at {cmd_rate / baseline:.2f}x of it")
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
