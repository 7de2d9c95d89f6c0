"""Agent benchmark: tasks launched and finished per second on one agent, and
the time from launch to TASK_RUNNING, median and p99, end to end through
the real master.

A whole cluster in this OS process (``frameworks.testing.LocalCluster``: the
real master with its allocator and one real agent on one loopback node) and a
real ``MesosSchedulerDriver`` framework. Launch time is when the scheduler
calls ``launchTasks``; TASK_RUNNING time is when its ``statusUpdate`` sees it.
Executors are separate OS processes, as always.

Three workloads: command tasks (``true``, one command executor OS process each,
all launched at once from one offer); many tasks on one custom executor
(tests/integration/echo_executor.py; a ``finish`` framework message ends them);
and one command task at a time on an idle agent (the previous task's executor
has exited), whose launch -> TASK_RUNNING median is ``one_task_launch_to_running_s``.
One warm-up task comes first: the agent's first command task starts its
executor launcher (actors/agent/zygote.py), the rest are forked from it; its
launch -> TASK_RUNNING is ``one_task.first_task_s``.

Raw baselines measured in the same run: sequential starts of a bare Python
interpreter (``Popen([python, "-c", "pass"]).wait()``) and of ``/bin/true``;
the same number of bare interpreters started at once (the concurrency of the
command workload); and the import floor of the command executor
(``python -c "import actors.executor.command"``). ``cpu_per_task_ms`` is the CPU
of the command workload per task (master, agent and scheduler in this process;
the zygote; its forked executors with their commands, as the zygote reaps them):
on a shared machine it moves with the load far less than the rates do.

    python -m benchmarks.agent [--quick] [--command-tasks 20] [--executor-tasks 200] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

from actors.logs import configure_logging
from frameworks import MesosSchedulerDriver, Scheduler
from frameworks.testing import LocalCluster
from isolation.proctree import descendants

__all__ = ["main"]

RESOURCES = "cpus:64;mem:65536;disk:1000;ports:[31000-31010]"
ECHO = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "integration",
                    "echo_executor.py")
FULL = (20, 200, 20)  # command tasks, tasks on the custom executor, baseline runs (and single tasks)
QUICK = (4, 20, 4)
IDLE_TIMEOUT = 30.0
TERMINAL = {"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST", "TASK_ERROR", "TASK_DROPPED"}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _sequential_rate(argv: list[str], n: int) -> float:
    start = time.monotonic()
    for _ in range(n):
        subprocess.Popen(argv).wait()
    return n / (time.monotonic() - start)


def _concurrent_rate(argv: list[str], n: int) -> float:
    start = time.monotonic()
    procs = [subprocess.Popen(argv) for _ in range(n)]
    for proc in procs:
        proc.wait()
    return n / (time.monotonic() - start)


def _resources(cpus: float, mem: float) -> list[dict[str, Any]]:
    return [{"name": "cpus", "type": "SCALAR", "scalar": {"value": cpus}},
            {"name": "mem", "type": "SCALAR", "scalar": {"value": mem}}]


def command_task(task_id: str, agent_id: dict[str, Any]) -> dict[str, Any]:
    return {"name": task_id, "task_id": {"value": task_id}, "agent_id": agent_id,
            "resources": _resources(0.1, 32), "command": {"value": "true", "shell": True}}


def echo_task(task_id: str, agent_id: dict[str, Any], executor_id: str) -> dict[str, Any]:
    return {"name": task_id, "task_id": {"value": task_id}, "agent_id": agent_id,
            "resources": _resources(0.01, 1),
            "executor": {"executor_id": {"value": executor_id}, "name": "echo",
                         "command": {"value": f"{sys.executable} {ECHO}", "shell": True},
                         "resources": [{"name": "mem", "type": "SCALAR", "scalar": {"value": 64}}]}}


class BenchScheduler(Scheduler):
    """Keeps offers for the benchmark thread and the time of each task's states."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.offers: list[dict[str, Any]] = []
        self.running: dict[str, float] = {}
        self.terminal: dict[str, tuple[float, str]] = {}

    def resourceOffers(self, driver: Any, offers: list[dict[str, Any]]) -> None:
        with self.cond:
            self.offers.extend(offers)
            self.cond.notify_all()

    def offerRescinded(self, driver: Any, offer_id: dict[str, Any]) -> None:
        with self.cond:
            self.offers = [o for o in self.offers if o["id"] != offer_id]

    def statusUpdate(self, driver: Any, status: dict[str, Any]) -> None:
        now = time.monotonic()
        task_id, state = status["task_id"]["value"], status["state"]
        with self.cond:
            if state == "TASK_RUNNING":
                self.running.setdefault(task_id, now)
            elif state in TERMINAL:
                self.terminal.setdefault(task_id, (now, state))
            self.cond.notify_all()

    def take_offer(self, timeout: float = 30.0) -> dict[str, Any]:
        with self.cond:
            if not self.cond.wait_for(lambda: self.offers, timeout):
                raise RuntimeError(f"no offer within {timeout} s")
            return self.offers.pop(0)

    def wait(self, predicate: Any, what: str, timeout: float = 300.0) -> None:
        with self.cond:
            if not self.cond.wait_for(predicate, timeout):
                raise RuntimeError(f"timed out after {timeout} s waiting for {what}")


def _workload(driver: MesosSchedulerDriver, scheduler: BenchScheduler, tasks: list[dict[str, Any]],
              offer: dict[str, Any], finish_executor: str | None) -> dict[str, Any]:
    ids = [t["task_id"]["value"] for t in tasks]
    start = time.monotonic()
    driver.launchTasks(offer["id"], tasks)
    scheduler.wait(lambda: all(t in scheduler.running or t in scheduler.terminal for t in ids), "TASK_RUNNING")
    if finish_executor is not None:
        driver.sendFrameworkMessage(finish_executor, offer["agent_id"], b"finish")
    scheduler.wait(lambda: all(t in scheduler.terminal for t in ids), "terminal states")
    end = max(scheduler.terminal[t][0] for t in ids)
    bad = sorted({scheduler.terminal[t][1] for t in ids} - {"TASK_FINISHED"})
    if bad:
        raise RuntimeError(f"tasks ended in {bad}, not only TASK_FINISHED")
    latency = [scheduler.running[t] - start for t in ids]
    return {"tasks": len(ids), "tasks_per_s": round(len(ids) / (end - start), 2),
            "launch_to_running_s": {"median": round(statistics.median(latency), 4),
                                    "p99": round(_percentile(latency, 0.99), 4)}}


def _zygote_pid() -> int | None:
    """The pid of this process's executor launcher (actors/agent/zygote.py), if one runs."""
    me = str(os.getpid())
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
            with open(f"/proc/{entry}/stat", "rb") as f:
                parent = f.read().rsplit(b")", 1)[1].split()[1].decode()
        except OSError:
            continue
        if parent == me and b"actors.agent.zygote" in cmdline:
            return int(entry)
    return None


def _cpu_of(pid: int) -> tuple[float, float]:
    """(own, reaped children's) CPU seconds of ``pid`` (/proc/PID/stat utime+stime, cutime+cstime)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick


def _cpu_per_task(driver: MesosSchedulerDriver, scheduler: BenchScheduler, tasks: list[dict[str, Any]],
                  offer: dict[str, Any]) -> tuple[dict[str, Any], dict[str, float] | None]:
    """``_workload`` of command tasks, with the CPU it took per task: this process (master, agent,
    scheduler driver), the zygote itself, and its forked executors (their own CPU and their
    commands', summed by the zygote as it reaps them: measured once every one has exited)."""
    zygote = _zygote_pid()
    cluster = time.process_time()
    before = _cpu_of(zygote) if zygote is not None else None
    figures = _workload(driver, scheduler, tasks, offer, None)
    if zygote is None or before is None:
        return figures, None
    deadline = time.monotonic() + IDLE_TIMEOUT
    while descendants(zygote, include_zombies=True) and time.monotonic() < deadline:
        time.sleep(0.01)
    cluster = time.process_time() - cluster
    after = _cpu_of(zygote)
    n = len(tasks)
    per = {"cluster": 1000 * cluster / n, "zygote": 1000 * (after[0] - before[0]) / n,
           "executors": 1000 * (after[1] - before[1]) / n}
    per["total"] = sum(per.values())
    return figures, {k: round(v, 2) for k, v in per.items()}


def _executor_running(executor_id: str) -> bool:
    """Whether a live process's environment names ``executor_id`` (forked executors rewrite theirs)."""
    marker = f"MESOS_EXECUTOR_ID={executor_id}".encode()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if marker in f.read().split(b"\0"):
                        return True
            except OSError:
                continue
    return False


def _one_at_a_time(driver: MesosSchedulerDriver, scheduler: BenchScheduler, runs: int) -> dict[str, Any]:
    """``runs`` command tasks, each launched once the previous one's executor has exited."""
    latency = []
    for i in range(runs):
        offer = scheduler.take_offer()
        task = command_task(f"one-{i}", offer["agent_id"])
        figures = _workload(driver, scheduler, [task], offer, None)
        latency.append(figures["launch_to_running_s"]["median"])
        deadline = time.monotonic() + IDLE_TIMEOUT
        while _executor_running(f"one-{i}"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"executor one-{i} still running {IDLE_TIMEOUT} s after its task finished")
            time.sleep(0.005)
    return {"runs": runs, "median": round(statistics.median(latency), 4),
            "p99": round(_percentile(latency, 0.99), 4), "min": round(min(latency), 4)}


def run_cluster(command_tasks: int, executor_tasks: int,
                single_runs: int = 20) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The three workloads against LocalCluster's real master and agent, one after the other."""
    with LocalCluster(agents=1, resources=RESOURCES, isolation="posix", allocation_interval=0.05) as cluster:
        scheduler = BenchScheduler()
        driver = MesosSchedulerDriver(scheduler, {"user": "root", "name": "bench-agent"}, cluster.master)
        driver.start()
        try:
            offer = scheduler.take_offer()  # a first task starts the agent's executor launcher (zygote)
            warm_up = _workload(driver, scheduler, [command_task("warm-up", offer["agent_id"])], offer, None)
            offer = scheduler.take_offer()
            tasks = [command_task(f"cmd-{i}", offer["agent_id"]) for i in range(command_tasks)]
            command, cpu = _cpu_per_task(driver, scheduler, tasks, offer)
            if cpu is not None:
                command["cpu_per_task_ms"] = cpu
            offer = scheduler.take_offer()
            tasks = [echo_task(f"echo-{i}", offer["agent_id"], "bench") for i in range(executor_tasks)]
            custom = _workload(driver, scheduler, tasks, offer, "bench")
            single = _one_at_a_time(driver, scheduler, single_runs)
            single["first_task_s"] = warm_up["launch_to_running_s"]["median"]  # with the launcher's start
        finally:
            driver.stop()
            driver.join(10)
    return command, custom, single


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--command-tasks", type=int, default=None, help=f"default {FULL[0]} ({QUICK[0]} with --quick)")
    parser.add_argument("--executor-tasks", type=int, default=None, help=f"default {FULL[1]} ({QUICK[1]} with --quick)")
    parser.add_argument("--baseline-runs", type=int, default=None, help=f"default {FULL[2]} ({QUICK[2]} with --quick)")
    parser.add_argument("--quick", action="store_true", help="fewer tasks and baseline runs (a smoke run)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    for i, name in enumerate(("command_tasks", "executor_tasks", "baseline_runs")):
        if getattr(args, name) is None:
            setattr(args, name, sizes[i])
    if args.command_tasks < 1 or args.executor_tasks < 1 or args.baseline_runs < 1:
        parser.error(f"task counts and baseline runs must be >= 1, got {args.command_tasks}, "
                     f"{args.executor_tasks} and {args.baseline_runs}")
    configure_logging(level="error")
    os.environ.setdefault("MESOPY_LOG_LEVEL", "error")  # the command executors' own logs
    python = [sys.executable, "-c", "pass"]
    baseline = {
        "python_pass_per_s": round(_sequential_rate(python, args.baseline_runs), 2),
        "bin_true_per_s": round(_sequential_rate(["/bin/true"], args.baseline_runs), 1),
        "python_pass_concurrent_per_s": round(_concurrent_rate(python, args.command_tasks), 2),
        "executor_import_per_s": round(_sequential_rate(
            [sys.executable, "-c", "import actors.executor.command"], max(3, args.baseline_runs // 4)), 2),
    }
    command, custom, single = run_cluster(args.command_tasks, args.executor_tasks, max(20, args.baseline_runs))
    report: dict[str, Any] = {
        "tasks_per_s": command["tasks_per_s"],
        "launch_to_running_s": command["launch_to_running_s"],
        "one_task_launch_to_running_s": single["median"],
        "one_task": single,
        "tasks_per_s_custom": custom["tasks_per_s"],
        "launch_to_running_s_custom": custom["launch_to_running_s"],
        "command": command,
        "custom_executor": custom,
        "baseline": baseline,
        "command_vs_python_pass": round(command["tasks_per_s"] / baseline["python_pass_per_s"], 3),
        "command_vs_python_pass_concurrent": round(command["tasks_per_s"] / baseline["python_pass_concurrent_per_s"], 3),
        "command_vs_bin_true": round(command["tasks_per_s"] / baseline["bin_true_per_s"], 4),
        "cpus": os.cpu_count(),
    }
    if "cpu_per_task_ms" in command:  # CPU, not wall time: what a shared machine's load moves least
        report["cpu_per_task_ms"] = command["cpu_per_task_ms"]
    for name, figures in (("command tasks", command), ("custom executor", custom)):
        lat = figures["launch_to_running_s"]
        print(f"{name:16} {figures['tasks']:4d} tasks {figures['tasks_per_s']:8.2f} tasks/s   "
              f"launch->RUNNING median {lat['median']:.3f} s  p99 {lat['p99']:.3f} s")
    if "cpu_per_task_ms" in report:
        cpu = report["cpu_per_task_ms"]
        print(f"command tasks' CPU per task: {cpu['total']:.1f} ms (master+agent+scheduler {cpu['cluster']:.1f}, "
              f"zygote {cpu['zygote']:.1f}, executors with their commands {cpu['executors']:.1f})")
    print(f"one task at a time {single['runs']:4d} runs   launch->RUNNING median {single['median']:.4f} s  "
          f"p99 {single['p99']:.4f} s  min {single['min']:.4f} s")
    print(f"baseline: python -c pass {baseline['python_pass_per_s']:.2f}/s sequential, "
          f"{baseline['python_pass_concurrent_per_s']:.2f}/s {args.command_tasks} at once; "
          f"/bin/true {baseline['bin_true_per_s']:.1f}/s; "
          f"import actors.executor.command {baseline['executor_import_per_s']:.2f}/s")
    print(f"command tasks at {report['command_vs_python_pass']:.2f}x of sequential python starts, "
          f"{report['command_vs_python_pass_concurrent']:.2f}x of concurrent ones, "
          f"{report['command_vs_bin_true']:.4f}x of /bin/true")
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
