"""Helpers of the runtime's tests: a peer OS process, a recording process, future helpers."""

from __future__ import annotations

import selectors
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from actors.node import Node
from tests.integration.peer import TrackedProcess
from transport.messages import Echo
from transport.pid import PID

__all__ = ["Peer", "Collector", "result", "failure", "WAIT", "HEARTBEAT"]

ROOT = Path(__file__).resolve().parents[2]
PEER = Path(__file__).with_name("peer.py")
HEARTBEAT = {"heartbeat_interval": 0.2, "heartbeat_timeout": 2.0}
WAIT = 10.0


class Peer:
    """A peer OS process running tests/integration/peer.py."""

    def __init__(self, port: int = 0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(PEER), "--port", str(port), "--heartbeat-interval", "0.2", "--heartbeat-timeout", "1.0"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout=30):
                self.proc.kill()
                raise AssertionError("the peer did not print its pid within 30 s")
        line = self.proc.stdout.readline().decode().strip()
        if not line:
            raise AssertionError(f"the peer exited with {self.proc.wait()} before it was ready")
        self.echo = PID.parse(line)

    def pid(self, name: str) -> PID:
        return PID(name, self.echo.host, self.echo.port)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(WAIT)

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Collector(TrackedProcess):
    """Records Echo messages by sender and answers requests with the same Echo."""

    def __init__(self, node: Node, name: str) -> None:
        super().__init__(node, name)
        self.got: dict[PID, list[int]] = {}
        self.expect: tuple[int, threading.Event] | None = None
        self.exits: list[PID] = []
        self.exited_event = threading.Event()
        self.install(Echo, self.on_echo)

    def on_echo(self, sender: PID, msg: Echo) -> Echo:
        seqs = self.got.setdefault(sender, [])
        seqs.append(msg.seq)
        if self.expect is not None and sum(map(len, self.got.values())) >= self.expect[0]:
            self.expect[1].set()
        return Echo(payload=b"collected", seq=msg.seq)

    def expecting(self, n: int) -> threading.Event:
        event = threading.Event()
        self.expect = (n, event)
        return event

    def exited(self, pid: PID) -> None:
        self.exits.append(pid)
        self.exited_event.set()

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on this process's thread and return its result."""
        done: Future[Any] = Future()
        self.run(lambda: done.set_result(fn()))
        return done.result(WAIT)


def result(future: Future[Any]) -> Any:
    return future.result(WAIT)


def failure(future: Future[Any]) -> BaseException | None:
    return future.exception(WAIT)
