"""A peer OS process for integration tests (and a module of test processes).

Run as ``python tests/integration/peer.py [--port N] [--heartbeat-interval S]
[--heartbeat-timeout S]``: it starts a Node on 127.0.0.1 with an ``EchoProcess``
named ``echo``, prints that process's pid on one line when ready, and runs until
its stdin closes (so it never outlives the test that started it) or it is killed.

EchoProcess answers Echo by payload:
  b"bounce..."      also sends the message back to the sender (a plain send)
  b"hold"           never answers (the response future is left pending)
  b"ask:<pid>"      asks <pid> with Echo(b"from-peer") and answers with its answer
  b"stop"           answers, then stops this process
  b"spawn:<name>"   starts another EchoProcess named <name>
  anything else     answers with the same Echo
"""

from __future__ import annotations

import argparse
import sys
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any, ClassVar, Self

if __name__ == "__main__":
    sys.path[0] = str(Path(__file__).resolve().parents[2])

from actors.logs import configure_logging
from actors.node import Node
from actors.process import Process
from transport.messages import Echo
from transport.pid import PID

__all__ = ["EchoProcess", "TrackedProcess", "main"]

class TrackedProcess(Process):
    """A Process whose instance a test can get back: ``TrackedProcess.launch(node, name)``."""

    _made: ClassVar[dict[str, Process]] = {}
    _made_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, node: Node, name: str) -> None:
        super().__init__(node, name)
        with TrackedProcess._made_lock:
            TrackedProcess._made[str(self.pid)] = self

    @classmethod
    def launch(cls, node: Node, name: str) -> Self:
        """Start one on ``node`` (pykka builds it on this thread) and return the instance."""
        cls.spawn(node, name)
        with TrackedProcess._made_lock:
            made = TrackedProcess._made.pop(str(node.pid(name)))
        assert isinstance(made, cls)
        return made


class EchoProcess(TrackedProcess):
    """Answers Echo (see the module docstring); records what it receives."""

    def __init__(self, node: Node, name: str) -> None:
        super().__init__(node, name)
        self.received: list[tuple[PID, Echo]] = []
        self.exits: list[PID] = []
        self.exited_event = threading.Event()
        self.install(Echo, self.on_echo)

    def on_echo(self, sender: PID, msg: Echo) -> Any:
        payload = msg.payload
        if payload.startswith(b"bounce"):
            self.send(sender, msg)
            return msg
        self.received.append((sender, msg))
        if payload == b"hold":
            return Future()
        if payload.startswith(b"ask:"):
            return self.request(PID.parse(payload[4:].decode()), Echo(payload=b"from-peer", seq=msg.seq))
        if payload == b"stop":
            self.actor_ref.stop(block=False)
        elif payload.startswith(b"spawn:"):
            EchoProcess.spawn(self.node, payload[6:].decode())
        return msg

    def exited(self, pid: PID) -> None:
        self.exits.append(pid)
        self.exited_event.set()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--heartbeat-interval", type=float, default=0.2)
    parser.add_argument("--heartbeat-timeout", type=float, default=1.0)
    args = parser.parse_args(argv)
    configure_logging(level="warning")  # stdout carries only the pid line
    node = Node(
        "127.0.0.1",
        args.port,
        heartbeat_interval=args.heartbeat_interval,
        heartbeat_timeout=args.heartbeat_timeout,
    ).start()
    EchoProcess.spawn(node, "echo")
    print(node.pid("echo"), flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    node.stop()


if __name__ == "__main__":
    main()
