"""Helpers for the master core's unit tests: a core, an allocator core fed by its effects."""

from __future__ import annotations

import uuid
from typing import Any

from actors.allocator import HierarchicalDRFAllocator
from actors.master.config import MasterConfig
from actors.master.core import MasterCore
from actors.master.model import Effect, LinkTo, Send, ToAllocator
from actors.resources import Resources
from transport import messages as m
from transport.schema import Message

__all__ = ["AGENT", "FW", "Harness", "launch", "of_type", "running", "sends", "task_info", "update"]

MASTER = "master@127.0.0.1:5050"
FW = "scheduler(1)@127.0.0.1:6000"
AGENT = "agent(1)@127.0.0.1:5051"


def sends(effects: list[Effect], to: str | None = None) -> list[Message]:
    return [e.message for e in effects if isinstance(e, Send) and (to is None or e.to == to)]


def of_type(effects: list[Effect], kind: type[Message], to: str | None = None) -> list[Any]:
    return [msg for msg in sends(effects, to) if isinstance(msg, kind)]


def task_info(tid: str, cpus: float = 1.0, mem: float = 128.0, **extra: Any) -> dict[str, Any]:
    info: dict[str, Any] = {
        "name": f"task {tid}", "task_id": {"value": tid},
        "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": cpus}},
                      {"name": "mem", "type": "SCALAR", "scalar": {"value": mem}}],
        "command": {"value": "sleep 10", "shell": True},
    }
    info.update(extra)
    return info


def launch(*tasks: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"type": "LAUNCH", "launch": {"task_infos": list(tasks)}}]


class Harness:
    """A MasterCore whose ToAllocator effects drive a real allocator core."""

    def __init__(self, **flags: Any) -> None:
        self.config = MasterConfig(**flags).validate()
        self.core = MasterCore(self.config, "M", MASTER)
        self.allocator = HierarchicalDRFAllocator()
        self.now = 0.0
        self.effects: list[Effect] = []

    def apply(self, effects: list[Effect]) -> list[Effect]:
        for e in effects:
            if isinstance(e, ToAllocator):
                getattr(self.allocator, e.method)(**e.kwargs)
        self.effects.extend(effects)
        return effects

    def send(self, sender: str, msg: Message) -> list[Effect]:
        return self.apply(self.core.handle(sender, msg, self.now))

    def allocate(self) -> list[Effect]:
        return self.apply(self.core.offer(self.allocator.allocate_roles(self.now), self.now))

    def advance(self, seconds: float) -> list[Effect]:
        self.now += seconds
        return self.apply(self.core.tick(self.now))

    def exited(self, pid: str) -> list[Effect]:
        return self.apply(self.core.exited(pid, self.now))

    def framework(self, pid: str = "scheduler(1)@127.0.0.1:6000", **info: Any) -> str:
        fw = {"name": "fw", "user": "root"}
        fw.update(info)
        out = self.send(pid, m.RegisterFramework(framework=fw))
        (reply,) = of_type(out, m.FrameworkRegistered, pid)
        assert any(isinstance(e, LinkTo) and e.pid == pid for e in out) or pid in self.core.framework_pids
        return str(reply.framework_id)

    def agent(self, pid: str = "agent(1)@127.0.0.1:5051", resources: str = "cpus:4;mem:4096") -> str:
        out = self.send(pid, m.RegisterAgent(agent={"hostname": "h1", "resources": Resources.parse(resources).to_dicts()}))
        (reply,) = of_type(out, m.AgentRegistered, pid)
        return str(reply.agent_id)

    def offers(self, pid: str) -> list[dict[str, Any]]:
        return [o for msg in of_type(self.allocate(), m.ResourceOffers, pid) for o in msg.offers]


def running(*tids: str, **info: object) -> tuple[Harness, str, str]:
    """One framework (``info``) with tasks ``tids`` (default t1; 1 cpu each) on one agent, the first running."""
    tids = tids or ("t1",)
    h = Harness()
    fid = h.framework(FW, **info)
    aid = h.agent(AGENT)
    (offer,) = h.offers(FW)
    h.send(FW, m.AcceptOffers(framework_id=fid, offer_ids=[offer["id"]["value"]],
                              operations=launch(*(task_info(tid, 1, 128) for tid in tids))))
    update(h, fid, aid, tids[0], "TASK_RUNNING")
    return h, fid, aid


def update(h: Harness, fid: str, aid: str, tid: str, state: str) -> list[Effect]:
    """The agent reports ``state`` for ``tid`` (a fresh uuid, as the executor sends it)."""
    u = uuid.uuid4().bytes
    status = {"task_id": {"value": tid}, "state": state, "source": "SOURCE_EXECUTOR",
              "agent_id": {"value": aid}, "uuid": u}
    return h.send(AGENT, m.StatusUpdate(framework_id=fid, status=status, uuid=u, agent_id=aid))
