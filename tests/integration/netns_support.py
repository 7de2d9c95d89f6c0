"""Real processes for the partition, failover and stall tests: a master, agents and schedulers
(tests/integration/partition_scheduler.py), each an OS process whose JSON lines are read on a
thread; on loopback, or each on a test host of a ``frameworks.netns.Topology``."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from frameworks.netns import Topology
from tests.integration.containment_support import pids_with_env
from tests.integration.operators_support import ROOT, kill_executors_under

__all__ = ["Launcher", "Proc"]

SCHEDULER = str(Path(__file__).with_name("partition_scheduler.py"))


class Proc:
    """An OS process whose ``stream`` ("stderr" for the bin scripts' JSON logs, "stdout" for the
    test scheduler) is read as JSON lines; ``wait_for(event, **fields)`` takes the next match."""

    def __init__(self, name: str, argv: Sequence[str], stream: str, popen: Callable[..., subprocess.Popen[Any]]
                 ) -> None:
        self.name = name
        out = subprocess.PIPE if stream == "stdout" else subprocess.DEVNULL
        err = subprocess.PIPE if stream == "stderr" else None
        self.proc: subprocess.Popen[str] = popen(list(argv), stdin=subprocess.PIPE, stdout=out, stderr=err,
                                                 text=True, cwd=ROOT)
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.lines: list[str] = []
        source = self.proc.stdout if stream == "stdout" else self.proc.stderr
        assert source is not None
        self._reader = threading.Thread(target=self._read, args=(source,), daemon=True)
        self._reader.start()

    def _read(self, source: IO[str]) -> None:
        for line in source:
            self.lines.append(line)
            del self.lines[:-200]
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                self.events.put(event)
        self.events.put({"event": "__eof__"})

    def wait_for(self, event: str, timeout: float = 20.0, **fields: Any) -> dict[str, Any]:
        """The next ``event`` whose fields equal ``fields``; AssertionError with the last lines if none comes."""
        try:
            while True:
                item = self.events.get(timeout=timeout)
                if item.get("event") == "__eof__":
                    self.events.put(item)
                    break
                if item.get("event") == event and all(item.get(k) == v for k, v in fields.items()):
                    return item
        except queue.Empty:
            pass
        raise AssertionError(f"{self.name}: no {event} {fields} within {timeout} s; last lines:\n"
                             + "".join(self.lines[-40:]))

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
