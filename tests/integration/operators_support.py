"""Helpers for tests that run the bin/ scripts as OS processes and read their JSON logs."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import IO, Any

from actors.node import Node
from actors.process import Process
from tests.integration.containment_support import pids_with_env
from transport.messages import MasterState, MasterStateRequest
from transport.pid import PID

__all__ = ["ROOT", "JsonEvents", "Script", "StateClient", "free_port", "free_port_pair", "kill_executors_under",
           "run_script", "start_or_close"]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_port_pair() -> int:
    """A port P with P and P-10 (the default HTTP port of a script on P) both free now."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port - 10))
            except OSError:
                continue
        return port
    raise AssertionError("no free port pair")


def _argv(name: str, args: list[str]) -> list[str]:
    return [sys.executable, os.path.join(ROOT, "bin", name), *args]


def run_script(name: str, *args: str, timeout: float = 30.0, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a bin script to its end; its output as text."""
    return subprocess.run(
        _argv(name, list(args)), check=False, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT
    )


class JsonEvents:
    """JSON lines of a process's output, read on a thread: ``wait_for(event, **fields)`` takes the next match."""

    name = ""
    wait_default = 15.0

    def read_events(self, source: IO[str]) -> None:
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, args=(source,), daemon=True)
        self._reader.start()

    def _read(self, source: IO[str]) -> None:
        for line in source:
            self.lines.append(line)
            del self.lines[:-1000]
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                self.events.put(event)
        self.events.put({"event": "__eof__"})

    def wait_for(self, event: str, timeout: float | None = None, **fields: Any) -> dict[str, Any]:
        """The next event named ``event`` (with ``fields``); AssertionError with the last lines if none comes."""
        timeout = self.wait_default if timeout is None else timeout
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
        raise AssertionError(f"{self.name}: no {event} event {fields or ''} within {timeout} s; last lines:\n"
                             f"{''.join(self.lines[-30:])}")


class Script(JsonEvents):
    """A long-running bin script whose stderr JSON events are read on a thread."""

    def __init__(self, name: str, *args: str) -> None:
        self.name = name
        extra = ["--log_format=json", "--log_level=info"]
        if name in ("mesopy-master", "mesopy-agent") and not any(
                a.startswith(("--http_port", "--http-port", "--no-http", "--no_http")) for a in args):
            extra.append("--http_port=0")  # a free HTTP port: the default (--port minus 10) may be taken
        self.proc = subprocess.Popen(
            _argv(name, [*args, *extra]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.proc.stderr is not None
        self.read_events(self.proc.stderr)

    def terminate(self, timeout: float = 5.0, sig: signal.Signals = signal.SIGTERM) -> int:
        """Send ``sig`` (SIGTERM), then wait; fails (after SIGKILL) if it does not stop within ``timeout``."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"{self.name} did not stop within {timeout} s of {sig.name}") from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._reader.join(5)


class _Asker(Process):
    def __init__(self, node: Node, name: str, holder: list[_Asker]) -> None:
        super().__init__(node, name)
        holder.append(self)


class StateClient:
    """Asks a master in another OS process for its state, over ZeroMQ."""

    def __init__(self, master: str) -> None:
        self.node = Node().start()
        holder: list[_Asker] = []
        _Asker.spawn(self.node, "state-client", holder)
        self.asker = holder[0]
        host, _, port = master.rpartition(":")
        self.master = PID("master", host, int(port))

    def state(self) -> dict[str, Any]:
        future: Future[Any] = self.asker.request(self.master, MasterStateRequest(), timeout=5.0)
        reply = future.result(6.0)
        assert isinstance(reply, MasterState)
        return dict(reply.state)

    def wait_until(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 15.0) -> dict[str, Any]:
        """Poll the state (with a growing pause) until ``predicate`` holds; the last state."""
        pause = threading.Event()
        step, waited = 0.02, 0.0
        state = self.state()
        while not predicate(state):
            if waited >= timeout:
                raise AssertionError(f"state never matched within {timeout} s: {state}")
            pause.wait(step)
            waited += step
            step = min(step * 2, 0.25)
            state = self.state()
        return state

    def close(self) -> None:
        self.node.stop()


def start_or_close(start: Callable[[], None], close: Callable[[], None]) -> None:
    """``start()`` a cluster; if that fails (a wait_for timed out), ``close()`` what it had started, then raise."""
    try:
        start()
    except BaseException:
        close()
        raise


def kill_executors_under(directory: str) -> None:
    """SIGKILL the sessions of executors whose sandbox is under ``directory`` (orphans of a killed agent),
    every process in them: the command executor starts each task in its own process group."""
    marked = [pid for pid in pids_with_env("MESOS_DIRECTORY=" + directory) if pid != os.getpid()]
    sessions = set()
    for pid in marked:
        try:
            sessions.add(os.getsid(pid))
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    sessions.discard(os.getsid(0))  # never our own session
    if not sessions:
        return
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and os.getsid(int(entry)) in sessions:
                os.kill(int(entry), signal.SIGKILL)
        except OSError:
            pass
