"""Real processes for the partition, failover and stall tests: a master, agents and schedulers
(tests/integration/partition_scheduler.py), each an OS process whose JSON lines are read on a
thread; on loopback, or each on a test host of a ``frameworks.netns.Topology``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from frameworks.netns import Topology
from tests.integration.containment_support import pids_with_env
from tests.integration.operators_support import ROOT, JsonEvents, kill_executors_under

__all__ = ["Launcher", "Proc"]

SCHEDULER = str(Path(__file__).with_name("partition_scheduler.py"))


class Proc(JsonEvents):
    """An OS process whose ``stream`` ("stderr" for the bin scripts' JSON logs, "stdout" for the
    test scheduler) is read as JSON lines; ``wait_for(event, **fields)`` takes the next match."""

    wait_default = 20.0

    def __init__(self, name: str, argv: Sequence[str], stream: str, popen: Callable[..., subprocess.Popen[Any]]
                 ) -> None:
        self.name = name
        out = subprocess.PIPE if stream == "stdout" else subprocess.DEVNULL
        err = subprocess.PIPE if stream == "stderr" else None
        self.proc: subprocess.Popen[str] = popen(list(argv), stdin=subprocess.PIPE, stdout=out, stderr=err,
                                                 text=True, cwd=ROOT)
        source = self.proc.stdout if stream == "stdout" else self.proc.stderr
        assert source is not None
        self.read_events(source)

    def tell(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def signal(self, sig: signal.Signals) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def kill(self) -> None:
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGKILL)
        self.proc.wait(10)


class Launcher:
    """Starts the processes of one test on ``net``'s hosts (or on loopback when ``net`` is None) and
    kills them all, and their executors, at ``close()``."""

    def __init__(self, work_dir: Path, net: Topology | None = None) -> None:
        self.work_dir = work_dir
        self.net = net
        self.procs: list[Proc] = []

    def _start(self, host: str, name: str, argv: list[str], stream: str) -> Proc:
        popen: Callable[..., subprocess.Popen[Any]] = (
            subprocess.Popen if self.net is None else lambda a, **kw: self.net.popen(host, a, **kw))  # type: ignore[union-attr]
        proc = Proc(name, argv, stream, popen)
        self.procs.append(proc)
        return proc

    def ip(self, host: str) -> str:
        return "127.0.0.1" if self.net is None else self.net.address(host)

    def master(self, host: str, port: int, *flags: str) -> Proc:
        argv = [sys.executable, os.path.join(ROOT, "bin", "mesopy-master"), f"--ip={self.ip(host)}",
                f"--port={port}", "--http_port=0", "--allocation_interval=0.2", "--log_format=json", *flags]
        proc = self._start(host, "master", argv, "stderr")
        proc.wait_for("master_started")
        return proc

    def agent(self, host: str, master: str, port: int, *flags: str) -> Proc:
        argv = [sys.executable, os.path.join(ROOT, "bin", "mesopy-agent"), f"--master={master}",
                f"--ip={self.ip(host)}", f"--port={port}", "--http_port=0", f"--work_dir={self.work_dir / host}",
                "--resources=cpus:2;mem:1024;disk:1024", "--isolation=posix", "--registration_backoff_factor=0.2",
                "--log_format=json", *flags]
        proc = self._start(host, f"agent on {host}", argv, "stderr")
        proc.wait_for("agent_registered")
        return proc

    def scheduler(self, host: str, master: str, *flags: str) -> Proc:
        proc = self._start(host, f"scheduler {' '.join(flags)}", [sys.executable, SCHEDULER, f"--master={master}",
                                                                  *flags], "stdout")
        proc.wait_for("started")
        return proc

    def close(self) -> None:
        for proc in self.procs:
            try:
                proc.kill()
            except (OSError, subprocess.TimeoutExpired):
                pass
        kill_executors_under(str(self.work_dir))
        for pid in pids_with_env(f"MESOS_DIRECTORY={self.work_dir}"):  # tasks in process groups of their own
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
