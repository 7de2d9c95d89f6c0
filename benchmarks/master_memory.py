"""The master's memory per agent and per task, measured with tracemalloc.

Run ``python benchmarks/master_memory.py [--json] [--quick]``.

The master's pure core and its allocator core (what a master process holds for
its cluster; the actor shells and the sockets cost the same at any size) are
driven by the wire messages a real cluster sends them, in this process:

1. ``agents`` agents register (``RegisterAgent`` as the agent sends it:
   hostname, ``cpus:16;mem:65536;disk:1000000;ports:[31000-32000]``);
2. ``frameworks`` frameworks register, take the offers of every agent and
   launch ``tasks / agents`` command tasks on each (``AcceptOffers`` with LAUNCH,
   0.1 cpus and 32 MB each); every task's agent reports TASK_RUNNING
   (``StatusUpdate``) and its framework acknowledges it.

The bytes Python holds (``tracemalloc`` traced memory after a full collection)
are read before and after each step: ``master_bytes_per_agent`` is step 1's
growth over ``agents`` (idle agents: no task, no offer outstanding),
``master_bytes_per_task`` is step 2's growth over ``tasks``, running ones.
Full size: 50,000 agents and 500,000 tasks (``--quick``: 500 and 5,000).
Baselines in the same run: the bytes of the agent's registration message and of
one task's TaskInfo as plain Python objects (``raw_agent_info_bytes`` /
``raw_task_info_bytes``, tracemalloc of a list of fresh copies): what a
master that kept only what it was sent would hold.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import os
import sys
import time
import tracemalloc
import uuid
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from actors.allocator import HierarchicalDRFAllocator
from actors.master.config import MasterConfig
from actors.master.core import MasterCore
from actors.master.model import Effect, Send, ToAllocator
from actors.resources import Resources
from transport import messages as m

__all__ = ["FULL", "QUICK", "MemoryHarness", "memory_figures", "main", "memory_table"]

FULL, QUICK = (50_000, 500_000), (500, 5_000)
FRAMEWORKS = 10
AGENT_RESOURCES = "cpus:16;mem:65536;disk:1000000;ports:[31000-32000]"
MASTER = "master@127.0.0.1:5050"


def _agent_pid(i: int) -> str:
    return f"slave({i})@10.0.{i // 250 % 256}.{i % 250 + 1}:5051"


def _agent_info(i: int, resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"hostname": f"host-{i}.cluster.example", "port": 5051, "resources": resources, "attributes": []}


_TASK_RESOURCES = Resources.parse("cpus:0.1;mem:32").to_dicts()


def _task_info(tid: str) -> dict[str, Any]:
    """A TaskInfo as a framework sends it (fresh objects: a decoded message shares nothing)."""
    return {"name": f"task {tid}", "task_id": {"value": tid}, "resources": copy.deepcopy(_TASK_RESOURCES),
            "command": {"value": "sleep 3600", "shell": True}}


class MemoryHarness:
    """A master core whose ToAllocator effects drive an allocator core; the effects are dropped
    once carried out (the shell sends them and forgets them)."""

    def __init__(self) -> None:
        self.core = MasterCore(MasterConfig().validate(), "bench", MASTER)
        self.allocator = HierarchicalDRFAllocator()
        self.now = 1.0

    def apply(self, effects: list[Effect]) -> list[Effect]:
        for e in effects:
            if isinstance(e, ToAllocator):
                getattr(self.allocator, e.method)(**e.kwargs)
        return effects

    def send(self, sender: str, msg: Any) -> list[Effect]:
        return self.apply(self.core.handle(sender, msg, self.now))

    def register_agents(self, count: int) -> dict[str, str]:
        """pid -> agent id of ``count`` new agents."""
        resources = Resources.parse(AGENT_RESOURCES).to_dicts()
        ids: dict[str, str] = {}
        for i in range(count):
            pid = _agent_pid(i)
            for e in self.send(pid, m.RegisterAgent(agent=_agent_info(i, copy.deepcopy(resources)))):
                if isinstance(e, Send) and isinstance(e.message, m.AgentRegistered):
                    ids[pid] = e.message.agent_id
        if len(ids) != count:
            raise RuntimeError(f"{len(ids)} of {count} agents registered")
        return ids

    def run_tasks(self, frameworks: int, per_agent: int, agent_pids: dict[str, str]) -> int:
        """Each framework launches ``per_agent`` tasks on its share of the agents; all run. The count."""
        fw_pids: dict[str, str] = {}
        for f in range(frameworks):
            pid = f"scheduler-{f}@10.1.0.{f + 1}:7000"
            for e in self.send(pid, m.RegisterFramework(framework={"user": "bench", "name": f"fw-{f}"})):
                if isinstance(e, Send) and isinstance(e.message, m.FrameworkRegistered):
                    fw_pids[e.message.framework_id] = pid
        pid_of = {aid: pid for pid, aid in agent_pids.items()}
        launched = 0
        while True:
            effects = self.apply(self.core.offer(self.allocator.allocate_roles(self.now), self.now))
            offers = [(e.to, o) for e in effects if isinstance(e, Send) and isinstance(e.message, m.ResourceOffers)
                      for o in e.message.offers]
            if not offers:
                break
            for to, offer in offers:
                fid, aid = offer["framework_id"]["value"], offer["agent_id"]["value"]
                if len(self.core.agents[aid].tasks) >= per_agent:
                    self.send(to, m.DeclineOffers(framework_id=fid, offer_ids=[offer["id"]["value"]],
                                                  filters={"refuse_seconds": 3600.0}))
                    continue
                tids = [f"{aid}-{k}" for k in range(per_agent)]
                op = {"type": "LAUNCH", "launch": {"task_infos": [_task_info(t) for t in tids]}}
                self.send(to, m.AcceptOffers(framework_id=fid, offer_ids=[offer["id"]["value"]], operations=[op],
                                             filters={"refuse_seconds": 3600.0}))
                for tid in tids:
                    self._running(pid_of[aid], to, fid, aid, tid)
                launched += len(tids)
            self.now += 1.0
        return launched

    def _running(self, agent: str, framework: str, fid: str, aid: str, tid: str) -> None:
        u = uuid.uuid4().bytes
        status = {"task_id": {"value": tid}, "state": "TASK_RUNNING", "source": "SOURCE_EXECUTOR",
                  "agent_id": {"value": aid}, "executor_id": {"value": tid}, "timestamp": self.now, "uuid": u}
        self.send(agent, m.StatusUpdate(framework_id=fid, status=status, uuid=u, agent_id=aid))
        self.send(framework, m.StatusUpdateAcknowledgement(agent_id=aid, framework_id=fid, task_id=tid, uuid=u))


def _traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def _raw_bytes(make: Any, n: int = 1000) -> float:
    """Bytes per object of ``n`` fresh ones ``make(i)`` as plain Python objects (the baseline)."""
    before = _traced()
    kept = [make(i) for i in range(n)]
    grown = _traced() - before
    del kept
    return grown / n


def memory_figures(quick: bool = False, agents: int | None = None, tasks: int | None = None) -> dict[str, Any]:
    """The figures (see the module docstring), JSON-able."""
    n_agents, n_tasks = QUICK if quick else FULL
    n_agents, n_tasks = agents or n_agents, tasks or n_tasks
    if n_tasks % n_agents:
        raise ValueError(f"tasks ({n_tasks}) must be a multiple of agents ({n_agents})")
    from actors.logs import configure_logging

    configure_logging(level="warning")
    tracemalloc.start()
    try:
        resources = Resources.parse(AGENT_RESOURCES).to_dicts()
        raw_agent = _raw_bytes(lambda i: m.RegisterAgent(agent=_agent_info(i, copy.deepcopy(resources))))
        raw_task = _raw_bytes(lambda i: _task_info(f"agent-{i}-0"))
        h = MemoryHarness()
        t0 = time.perf_counter()
        start = _traced()
        agent_pids = h.register_agents(n_agents)
        with_agents = _traced()
        t1 = time.perf_counter()
        launched = h.run_tasks(FRAMEWORKS, n_tasks // n_agents, agent_pids)
        with_tasks = _traced()
        t2 = time.perf_counter()
        running = sum(1 for a in h.core.agents.values() for t in a.tasks.values() if t.state == "TASK_RUNNING")
        if launched != n_tasks or running != n_tasks:
            raise RuntimeError(f"{launched} tasks launched and {running} running, {n_tasks} expected")
    finally:
        tracemalloc.stop()
    per_agent = (with_agents - start) / n_agents
    per_task = (with_tasks - with_agents) / n_tasks
    return {"master_memory_agents": n_agents, "master_memory_tasks": n_tasks,
            "master_memory_frameworks": FRAMEWORKS, "master_memory_method": "tracemalloc",
            "master_bytes_per_agent": per_agent, "master_bytes_per_task": per_task,
            "raw_agent_info_bytes": raw_agent, "raw_task_info_bytes": raw_task,
            "master_agent_vs_raw": per_agent / raw_agent, "master_task_vs_raw": per_task / raw_task,
            "master_memory_register_s": t1 - t0, "master_memory_launch_s": t2 - t1}


def memory_table(figs: dict[str, Any]) -> str:
    head = f"{'figure':28} {'ours':>10} {'raw':>10} {'ratio':>7}  target"
    rows = [("bytes per idle agent", "master_bytes_per_agent", "raw_agent_info_bytes", "master_agent_vs_raw", 2048),
            ("bytes per running task", "master_bytes_per_task", "raw_task_info_bytes", "master_task_vs_raw", 1024)]
    lines = [f"master memory (tracemalloc; {figs['master_memory_agents']:,} agents, "
             f"{figs['master_memory_tasks']:,} running tasks of {figs['master_memory_frameworks']} frameworks)",
             head, "-" * len(head)]
    for label, ours, raw, ratio, target in rows:
        lines.append(f"{label:28} {figs[ours]:>10,.0f} {figs[raw]:>10,.0f} {figs[ratio]:>7.2f}  <= {target}")
    lines.append("raw: the agent's RegisterAgent message / one TaskInfo as plain Python objects")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    parser.add_argument("--quick", action="store_true", help="500 agents and 5,000 tasks")
    args = parser.parse_args(argv)
    figs = memory_figures(args.quick)
    print(memory_table(figs), flush=True)
    if args.json:
        print(json.dumps(figs, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
