"""Agent recovery: kill -9 of a real ``bin/mesopy-agent`` holding N running tasks of a
checkpointing framework, restarted on the same --work_dir, until it re-registered with all
of them; beside the time to start the same agent on a fresh work_dir until registered.

    python benchmarks/recovery.py [--json] [--quick] [--tasks 10,100,1000]

Topology: a ``mesopy-master`` and the ``mesopy-agent`` OS processes (JSON logs on stderr,
read on threads); in this process a MesosSchedulerDriver framework with ``checkpoint: True``
launching N tasks (one launchTasks call) on ONE custom executor (benchmarks/hold_executor.py,
an ExecutorInfo in every TaskInfo), which keeps each task TASK_RUNNING until killed.

Per size N (10, 100, 1,000; --quick: 10, 100):

- ``fresh_start_s`` (the raw baseline): start of the agent on a fresh work_dir (nothing
  checkpointed) -> its ``agent_registered reregistered=False`` event;
- ``recovery_s``: kill -9 of the agent -> the restarted agent's ``agent_registered
  reregistered=True``; the master's ``agent_reregistered`` event must carry all N tasks
  and the agent must have reconnected the executor;
- ``executor_reconnected_s``: kill -9 -> the agent's ``agent_recovered`` (the executor is back);
- ``recovery_vs_fresh`` = recovery_s / fresh_start_s.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":  # benchmarks/transport.py must not shadow the transport package
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [os.path.dirname(_here)] + [p for p in sys.path if os.path.abspath(p or ".") != _here]

import argparse  # noqa: E402
import json  # noqa: E402
import queue  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from typing import IO, Any  # noqa: E402

from actors.logs import configure_logging  # noqa: E402
from actors.node import Node  # noqa: E402
from benchmarks.cli import sizes_type  # noqa: E402
from frameworks import MesosSchedulerDriver, Scheduler  # noqa: E402

__all__ = ["KEYS", "main", "measure"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXECUTOR = os.path.join(ROOT, "benchmarks", "hold_executor.py")
SIZES, QUICK_SIZES = [10, 100, 1_000], [10, 100]
KEYS = ["sizes", "fresh_start_s", "recovery_s", "executor_reconnected_s", "recovery_vs_fresh"]
WAIT_S = 120.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Daemon:
    """A bin/ program whose stderr JSON events are read on a thread, each with its arrival time."""

    def __init__(self, name: str, *args: str) -> None:
        self.name = name
        argv = [sys.executable, os.path.join(ROOT, "bin", name), *args, "--log_format=json", "--log_level=info",
                "--http_port=0"]
        self.events: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()
        self.tail: list[str] = []
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert self.proc.stderr is not None
        self._reader = threading.Thread(target=self._read, args=(self.proc.stderr,), daemon=True)
        self._reader.start()

    def _read(self, source: IO[str]) -> None:
        for line in source:
            now = time.perf_counter()
            self.tail = [*self.tail[-29:], line]
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                self.events.put((now, event))
        self.events.put((time.perf_counter(), {"event": "__eof__"}))

    def wait_for(self, event: str, timeout: float = WAIT_S, **fields: Any) -> tuple[float, dict[str, Any]]:
        """(arrival time, event) of the next ``event`` with ``fields``; RuntimeError if none comes."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                at, item = self.events.get(timeout=left)
            except queue.Empty:
                break
            if item.get("event") == "__eof__":
                self.events.put((at, item))
                break
            if item.get("event") == event and all(item.get(k) == v for k, v in fields.items()):
                return at, item
        raise RuntimeError(f"{self.name}: no {event} {fields} within {timeout} s; last lines:\n{''.join(self.tail)}")

    def kill(self) -> float:
        """kill -9; the time it was sent."""
        at = time.perf_counter()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        return at


class Holder(Scheduler):
    """Keeps offers by agent id and the tasks seen TASK_RUNNING."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.offers: dict[str, list[dict[str, Any]]] = {}
        self.running: set[str] = set()
        self.executor_pids: set[int] = set()

    def resourceOffers(self, driver: Any, offers: list[dict[str, Any]]) -> None:
        with self.cond:
            for offer in offers:
                self.offers.setdefault(offer["agent_id"]["value"], []).append(offer)
            self.cond.notify_all()

    def statusUpdate(self, driver: Any, status: dict[str, Any]) -> None:
        with self.cond:
            if status["state"] == "TASK_RUNNING":
                self.running.add(status["task_id"]["value"])
                pid = status.get("container_status", {}).get("executor_pid")
                if isinstance(pid, int) and pid > 0:
                    self.executor_pids.add(pid)
            else:
                self.running.discard(status["task_id"]["value"])
            self.cond.notify_all()

    def wait(self, predicate: Any, what: str) -> None:
        with self.cond:
            if not self.cond.wait_for(predicate, WAIT_S):
                raise RuntimeError(f"timed out after {WAIT_S} s waiting for {what}")


def _tasks(n: int, agent_id: dict[str, Any], size_tag: str) -> list[dict[str, Any]]:
    executor = {"executor_id": {"value": f"hold-{size_tag}"}, "name": "hold",
                "command": {"value": f"{sys.executable} {EXECUTOR}", "shell": True},
                "resources": [{"name": "mem", "type": "SCALAR", "scalar": {"value": 64}}]}
    return [{"name": f"t{i}", "task_id": {"value": f"{size_tag}-{i}"}, "agent_id": agent_id, "executor": executor,
             "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.01}},
                           {"name": "mem", "type": "SCALAR", "scalar": {"value": 1}}]} for i in range(n)]


def _agent_flags(master: str, work_dir: str) -> list[str]:
    return [f"--master={master}", f"--port={_free_port()}", f"--work_dir={work_dir}", "--isolation=posix",
            "--resources=cpus:32;mem:8192;disk:1024", "--registration_backoff_factor=0.05",
            "--executor_reregistration_timeout=60secs"]


def fresh_start(master: str, scratch: str, tag: str) -> float:
    """Start of an agent on a fresh work_dir -> registered (seconds)."""
    agent = Daemon("mesopy-agent", *_agent_flags(master, os.path.join(scratch, f"fresh-{tag}")))
    try:
        at, _ = agent.wait_for("agent_registered", reregistered=False)
        return at - agent.started
    finally:
        agent.kill()


def recovery(master: Daemon, address: str, holder: Holder, driver: MesosSchedulerDriver, n: int,
             scratch: str) -> dict[str, float]:
    """N tasks on one executor; kill -9 of their agent -> reconnected and re-registered (seconds)."""
    flags = _agent_flags(address, os.path.join(scratch, f"agent-{n}"))
    agent = Daemon("mesopy-agent", *flags)
    restarted: Daemon | None = None
    try:
        _, registered = agent.wait_for("agent_registered", reregistered=False)
        aid = registered["agent_id"]
        holder.wait(lambda: holder.offers.get(aid), f"an offer from {aid}")
        with holder.cond:
            offer = holder.offers.pop(aid)[0]
        tasks = _tasks(n, offer["agent_id"], f"n{n}")
        ids = {t["task_id"]["value"] for t in tasks}
        driver.launchTasks(offer["id"], tasks)
        holder.wait(lambda: ids <= holder.running, f"{n} tasks TASK_RUNNING")
        killed = agent.kill()
        restarted = Daemon("mesopy-agent", *flags)
        recovered, summary = restarted.wait_for("agent_recovered", agent_id=aid)
        registered_at, _ = restarted.wait_for("agent_registered", reregistered=True)
        _, seen = master.wait_for("agent_reregistered", agent_id=aid)
        if seen.get("tasks") != n or summary.get("executors") != 1:
            raise RuntimeError(f"re-registered with {seen.get('tasks')} tasks and {summary.get('executors')} "
                               f"executors, not {n} on 1")
        return {"recovery_s": registered_at - killed, "executor_reconnected_s": recovered - killed}
    finally:
        for daemon in (agent, restarted):
            if daemon is not None:
                daemon.kill()
        with holder.cond:
            pids, holder.executor_pids = set(holder.executor_pids), set()
        for pid in pids:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def measure(sizes: list[int]) -> dict[str, Any]:
    """The figures per size, keyed by str(size), with the master and framework shared by all sizes."""
    report: dict[str, Any] = {"sizes": sizes, "fresh_start_s": {}, "recovery_s": {}, "executor_reconnected_s": {},
                              "recovery_vs_fresh": {}}
    port = _free_port()
    address = f"127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="mesopy-recovery-") as scratch:
        master = Daemon("mesopy-master", f"--port={port}", "--allocation_interval=0.05")
        node = Node().start()
        holder = Holder()
        driver = MesosSchedulerDriver(holder, {"user": "", "name": "bench-recovery", "checkpoint": True,
                                               "failover_timeout": 600.0}, address, node=node)
        try:
            master.wait_for("master_started", address=address)
            driver.start()
            for n in sizes:
                fresh = fresh_start(address, scratch, str(n))
                figures = recovery(master, address, holder, driver, n, scratch)
                key = str(n)
                report["fresh_start_s"][key] = round(fresh, 4)
                report["recovery_s"][key] = round(figures["recovery_s"], 4)
                report["executor_reconnected_s"][key] = round(figures["executor_reconnected_s"], 4)
                report["recovery_vs_fresh"][key] = round(figures["recovery_s"] / fresh, 3)
        finally:
            driver.stop()
            driver.join(10)
            node.stop()
            master.kill()
    return report



def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--tasks", type=sizes_type("--tasks"), default=None,
                        help=f"running tasks per size (default {','.join(map(str, SIZES))})")
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES} only (a smoke run)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = parser.parse_args(argv)
    sizes = args.tasks or (QUICK_SIZES if args.quick else SIZES)
    configure_logging(level="error")
    report = measure(sizes)
    print(f"{'tasks':>6} {'fresh start->registered':>24} {'kill -9->re-registered':>23} "
          f"{'->executor back':>16} {'ratio':>6}")
    for n in sizes:
        k = str(n)
        print(f"{n:6d} {report['fresh_start_s'][k]:22.3f} s {report['recovery_s'][k]:21.3f} s "
              f"{report['executor_reconnected_s'][k]:14.3f} s {report['recovery_vs_fresh'][k]:6.2f}")
    report["cpus"] = os.cpu_count()
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
