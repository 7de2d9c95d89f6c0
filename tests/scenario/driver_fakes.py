"""Stand-ins for the scheduler driver's tests: a protocol-level fake master and a recording scheduler.

The fake master is a real Process on a real Node: it answers registrations
like Mesos' master and records every message a driver sends it, so the
driver is tested at the wire, independently of actors/master.
"""

from __future__ import annotations

import queue
from typing import Any

from actors.node import Node
from actors.process import Process
from frameworks import Scheduler
from transport.messages import (
    AcceptOffers,
    DeactivateFramework,
    DeclineOffers,
    FrameworkRegistered,
    FrameworkReregistered,
    FrameworkToExecutor,
    KillTask,
    ReconcileTasks,
    RegisterFramework,
    ReregisterFramework,
    ResourceRequest,
    ReviveOffers,
    StatusUpdateAcknowledgement,
    SuppressOffers,
    UnregisterFramework,
)
from transport.pid import PID
from transport.schema import Message

__all__ = ["FRAMEWORK_ID", "MASTER_INFO", "FakeMaster", "RecordingScheduler", "next_of"]

FRAMEWORK_ID = "11111111-2222-3333-4444-555555555555-0000"
MASTER_INFO = {"id": "m1", "pid": "master@127.0.0.1:5050", "ip": "127.0.0.1", "port": 5050, "hostname": "m",
               "version": "1.11.0"}

RECORDED: list[type[Message]] = [
    RegisterFramework,
    ReregisterFramework,
    UnregisterFramework,
    DeactivateFramework,
    AcceptOffers,
    DeclineOffers,
    ReviveOffers,
    SuppressOffers,
    KillTask,
    ReconcileTasks,
    ResourceRequest,
    StatusUpdateAcknowledgement,
    FrameworkToExecutor,
]


class FakeMaster(Process):
    """``master``: answers (re)registrations, records everything into ``received``."""

    def __init__(self, node: Node, name: str = "master", *, received: queue.Queue[Any], answer: bool = True) -> None:
        super().__init__(node, name)
        self.received = received
        self.answer = answer

    def initialize(self) -> None:
        for kind in RECORDED:
            self.install(kind, self._record)

    def _record(self, sender: PID, msg: Message) -> None:
        self.received.put((sender, msg))
        if not self.answer:
            return
        if isinstance(msg, RegisterFramework):
            self.send(sender, FrameworkRegistered(framework_id=FRAMEWORK_ID, master_info=MASTER_INFO))
        elif isinstance(msg, ReregisterFramework):
            fid = msg.framework["id"]["value"]
            if msg.failover:  # Mesos' master answers a failover with FrameworkRegistered
                self.send(sender, FrameworkRegistered(framework_id=fid, master_info=MASTER_INFO))
            else:
                self.send(sender, FrameworkReregistered(framework_id=fid, master_info=MASTER_INFO))


class RecordingScheduler(Scheduler):
    """Puts every callback as ``(name, args)`` on ``calls``; optional reactions per callback."""

    def __init__(self) -> None:
        self.calls: queue.Queue[tuple[str, tuple[Any, ...]]] = queue.Queue()
        self.reactions: dict[str, Any] = {}

    def _record(self, name: str, driver: Any, *args: Any) -> None:
        self.calls.put((name, args))
        reaction = self.reactions.get(name)
        if reaction is not None:
            reaction(driver, *args)

    def registered(self, driver: Any, framework_id: Any, master_info: Any) -> None:
        self._record("registered", driver, framework_id, master_info)

    def reregistered(self, driver: Any, master_info: Any) -> None:
        self._record("reregistered", driver, master_info)

    def disconnected(self, driver: Any) -> None:
        self._record("disconnected", driver)

    def resourceOffers(self, driver: Any, offers: Any) -> None:
        self._record("resourceOffers", driver, offers)

    def offerRescinded(self, driver: Any, offer_id: Any) -> None:
        self._record("offerRescinded", driver, offer_id)

    def statusUpdate(self, driver: Any, status: Any) -> None:
        self._record("statusUpdate", driver, status)

    def frameworkMessage(self, driver: Any, executor_id: Any, agent_id: Any, data: Any) -> None:
        self._record("frameworkMessage", driver, executor_id, agent_id, data)

    def slaveLost(self, driver: Any, agent_id: Any) -> None:
        self._record("slaveLost", driver, agent_id)

    def executorLost(self, driver: Any, executor_id: Any, agent_id: Any, status: Any) -> None:
        self._record("executorLost", driver, executor_id, agent_id, status)

    def error(self, driver: Any, message: Any) -> None:
        self._record("error", driver, message)

    def expect(self, name: str, timeout: float = 5.0) -> tuple[Any, ...]:
        """The arguments of the next callback, which must be ``name``."""
        got, args = self.calls.get(timeout=timeout)
        assert got == name, f"expected callback {name}, got {got}{args!r}"
        return args


def next_of(received: queue.Queue[Any], kind: type[Message], timeout: float = 5.0) -> tuple[PID, Any]:
    """The next recorded message, which must be a ``kind``."""
    sender, msg = received.get(timeout=timeout)
    assert type(msg) is kind, f"expected {kind.__name__}, got {msg!r}"
    return sender, msg
