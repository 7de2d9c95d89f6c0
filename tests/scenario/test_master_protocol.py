"""The master and its allocator at the protocol level: raw processes play scheduler and agent.

A Node with a ManualClock; ``spawn_master``; small Probe processes send the
wire messages directly and record what they receive.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from actors.clock import ManualClock
from actors.master import MasterConfig, spawn_master
from actors.node import Node
from actors.process import Process
from actors.resources import Resources
from transport import messages as m
from transport.pid import PID
from transport.schema import Message

pytestmark = pytest.mark.timeout(30)
_names = itertools.count(1)
RECEIVED = [getattr(m, n) for n in m.__all__ if n not in ("Link", "Exited", "RequestFailed", "Echo")]


class Probe(Process):
    """Records every message it gets; the test thread waits on them."""

    instances: ClassVar[dict[str, Probe]] = {}

    def __init__(self, node: Node, name: str) -> None:
        super().__init__(node, name)
        Probe.instances[name] = self
        self.inbox: list[Message] = []
        self.cond = threading.Condition()
        for kind in RECEIVED:
            self.install(kind, self._record)

    def _record(self, sender: PID, msg: Message) -> None:
        with self.cond:
            self.inbox.append(msg)
            self.cond.notify_all()

    def expect(self, kind: type[Any], timeout: float = 5.0, **match: Any) -> Any:
        """The first received ``kind`` (matching ``match`` fields), removed from the inbox."""
        def find() -> Any:
            for msg in self.inbox:
                if type(msg) is kind and all(getattr(msg, k) == v for k, v in match.items()):
                    return msg
            return None

        with self.cond:
            assert self.cond.wait_for(lambda: find() is not None, timeout), (
                f"{self.pid}: no {kind.__name__} {match} in {[type(x).__name__ for x in self.inbox]}")
            msg = find()
            self.inbox.remove(msg)
            return msg

    def none(self, kind: type[Any]) -> bool:
        with self.cond:
            return not any(type(x) is kind for x in self.inbox)

    def tell(self, to: PID, msg: Message) -> None:
        """Send from the test thread, so a later ``request`` from it cannot overtake this."""
        self.send(to, msg)


class Cluster:
    def __init__(self, **flags: Any) -> None:
        self.clock = ManualClock()
        self.node = Node(clock=self.clock).start()
        self.master_ref = spawn_master(self.node, MasterConfig(**flags))
        self.master = self.node.pid("master")
        self.probes: list[Probe] = []

    def probe(self, prefix: str) -> Probe:
        name = f"{prefix}({next(_names)})"
        Probe.spawn(self.node, name)
        probe = Probe.instances.pop(name)  # the test drives it from outside
        self.probes.append(probe)
        return probe

    def sync(self, via: Probe) -> dict[str, Any]:
        """Wait until the allocator and the master have handled everything sent before; returns its state.

        Twice round: a clock advance queues a timer tick at the allocator, whose
        offers go on to the master; a message to the master (a decline) goes on
        to the allocator, whose answer (offers) goes back to the master.
        """
        allocator = self.node.lookup("allocator")
        assert allocator is not None
        for _ in range(2):
            allocator.proxy().pid.get(timeout=5)  # a proxy read is answered after the mailbox ahead of it
            reply = via.request(self.master, m.MasterStateRequest(), timeout=None).result(5)
        return dict(reply.state)

    def agent(self, resources: str = "cpus:4;mem:4096") -> tuple[Probe, str]:
        agent = self.probe("agent")
        agent.tell(self.master, m.RegisterAgent(agent={"hostname": "h1",
                                                       "resources": Resources.parse(resources).to_dicts()}))
        return agent, agent.expect(m.AgentRegistered).agent_id

    def framework(self, **info: Any) -> tuple[Probe, str]:
        fw = self.probe("scheduler")
        fw.tell(self.master, m.RegisterFramework(framework={"name": "fw", "user": "root", **info}))
        return fw, fw.expect(m.FrameworkRegistered).framework_id

    def stop(self) -> None:
        self.node.stop()


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    c = Cluster()
    yield c
    c.stop()


def task(tid: str, cpus: float, mem: float) -> dict[str, Any]:
    return {"name": tid, "task_id": {"value": tid}, "command": {"value": "sleep 100", "shell": True},
            "resources": Resources.parse(f"cpus:{cpus};mem:{mem}").to_dicts()}


def accept(fw: Probe, c: Cluster, fid: str, offer_ids: list[str], *tasks: dict[str, Any],
           refuse: float | None = None) -> None:
    filters = {} if refuse is None else {"refuse_seconds": refuse}
    fw.tell(c.master, m.AcceptOffers(framework_id=fid, offer_ids=offer_ids, filters=filters,
                                     operations=[{"type": "LAUNCH", "launch": {"task_infos": list(tasks)}}]))


def launch_t1(c: Cluster, fw: Probe, fid: str, agent: Probe) -> None:
    """Launch task t1 <1 cpu, 128 MB> on the framework's first offer; the agent gets RunTask."""
    (offer,) = fw.expect(m.ResourceOffers).offers
    accept(fw, c, fid, [offer["id"]["value"]], task("t1", 1, 128))
    agent.expect(m.RunTask)


def offered(offer: dict[str, Any]) -> Resources:
    return Resources.from_dicts(offer["resources"])


def test_mesos_paper_example(cluster: Cluster) -> None:
    c = cluster
    agent, aid = c.agent()
    fw1, fid1 = c.framework(name="one")
    (offer,) = fw1.expect(m.ResourceOffers).offers
    assert offered(offer) == Resources.parse("cpus:4;mem:4096")
    assert offer["agent_id"] == {"value": aid}
    accept(fw1, c, fid1, [offer["id"]["value"]], task("t1", 2, 1024), task("t2", 1, 2048))
    runs = [agent.expect(m.RunTask), agent.expect(m.RunTask)]
    assert sorted(r.task["task_id"]["value"] for r in runs) == ["t1", "t2"]
    assert runs[0].framework_pid == str(fw1.pid)
    fw2, fid2 = c.framework(name="two")
    (offer2,) = fw2.expect(m.ResourceOffers).offers
    assert offered(offer2) == Resources.parse("cpus:1;mem:1024")
    assert offer2["framework_id"] == {"value": fid2}
    state = c.sync(fw2)
    assert state["slaves"][0]["used_resources"]["cpus"] == 3.0
    assert state["slaves"][0]["offered_resources"]["cpus"] == 1.0


def test_invalid_launches_report_and_leak_nothing(cluster: Cluster) -> None:
    c = cluster
    agent, _aid = c.agent()
    fw, fid = c.framework()

    def next_offer() -> dict[str, Any]:
        (o,) = fw.expect(m.ResourceOffers).offers
        assert offered(o) == Resources.parse("cpus:4;mem:4096")  # everything came back
        return o

    offer = next_offer()
    accept(fw, c, fid, [offer["id"]["value"]], task("big", 5, 128), refuse=0)
    st = fw.expect(m.StatusUpdate).status
    assert (st["state"], st["reason"]) == ("TASK_ERROR", "REASON_TASK_INVALID")
    offer = next_offer()
    accept(fw, c, fid, ["no-such-offer"], task("t9", 1, 128), refuse=0)
    st = fw.expect(m.StatusUpdate).status
    assert (st["state"], st["reason"]) == ("TASK_LOST", "REASON_INVALID_OFFERS")
    accept(fw, c, fid, [offer["id"]["value"]], task("t1", 1, 128), task("t1", 1, 128), refuse=0)
    assert agent.expect(m.RunTask).task["task_id"] == {"value": "t1"}
    st = fw.expect(m.StatusUpdate).status
    assert st["state"] == "TASK_ERROR" and "duplicate" in st["message"]
    (o,) = fw.expect(m.ResourceOffers).offers
    assert offered(o) == Resources.parse("cpus:3;mem:3968")
    assert agent.none(m.RunTask)


def test_agent_removed_after_missed_pings(cluster: Cluster) -> None:
    c = cluster
    agent, aid = c.agent()
    fw, fid = c.framework()
    launch_t1(c, fw, fid, agent)
    for _ in range(5):
        c.clock.advance(15.0)
        agent.expect(m.PingAgent)
        c.sync(fw)
    assert fw.none(m.AgentLost)
    c.clock.advance(15.0)
    lost = fw.expect(m.StatusUpdate).status
    assert (lost["state"], lost["reason"]) == ("TASK_LOST", "REASON_AGENT_REMOVED")
    assert fw.expect(m.AgentLost).agent_id == aid
    state = c.sync(fw)
    assert agent.none(m.ShutdownAgent)  # unreachable, not removed: it may re-register
    assert state["slaves"] == [] and state["frameworks"][0]["unreachable_tasks"][0]["state"] == "TASK_LOST"
    assert state["unreachable_slaves"] == 1


def test_pongs_keep_agent_alive(cluster: Cluster) -> None:
    c = cluster
    agent, _aid = c.agent()
    fw, _fid = c.framework()
    for _ in range(8):
        c.clock.advance(15.0)
        agent.expect(m.PingAgent)
        agent.tell(c.master, m.PongAgent())
        c.sync(agent)
    assert fw.none(m.AgentLost)
    assert c.sync(fw)["activated_slaves"] == 1


def test_status_kill_and_reconciliation(cluster: Cluster) -> None:
    c = cluster
    agent, aid = c.agent()
    fw, fid = c.framework()
    launch_t1(c, fw, fid, agent)
    agent.tell(c.master, m.StatusUpdate(framework_id=fid, agent_id=aid, uuid=b"1234", status={
        "task_id": {"value": "t1"}, "state": "TASK_RUNNING", "uuid": b"1234", "source": "SOURCE_EXECUTOR"}))
    upd = fw.expect(m.StatusUpdate)
    assert upd.status["state"] == "TASK_RUNNING" and upd.uuid == b"1234"
    fw.tell(c.master, m.StatusUpdateAcknowledgement(agent_id=aid, framework_id=fid, task_id="t1", uuid=b"1234"))
    assert agent.expect(m.StatusUpdateAcknowledgement).uuid == b"1234"

    fw.tell(c.master, m.ReconcileTasks(framework_id=fid))
    st = fw.expect(m.StatusUpdate).status
    assert (st["state"], st["reason"]) == ("TASK_RUNNING", "REASON_RECONCILIATION")
    fw.tell(c.master, m.ReconcileTasks(framework_id=fid, statuses=[
        {"task_id": {"value": "t1"}}, {"task_id": {"value": "ghost"}, "agent_id": {"value": aid}}]))
    got = {u.status["task_id"]["value"]: u.status["state"]
           for u in (fw.expect(m.StatusUpdate), fw.expect(m.StatusUpdate))}
    assert got == {"t1": "TASK_RUNNING", "ghost": "TASK_LOST"}

    fw.tell(c.master, m.KillTask(framework_id=fid, task_id="t1"))
    assert agent.expect(m.KillTask).task_id == "t1"
    agent.tell(c.master, m.StatusUpdate(framework_id=fid, agent_id=aid, uuid=b"5678", status={
        "task_id": {"value": "t1"}, "state": "TASK_KILLED", "uuid": b"5678"}))
    assert fw.expect(m.StatusUpdate).status["state"] == "TASK_KILLED"
    assert c.sync(fw)["slaves"][0]["used_resources"]["cpus"] == 0.0


def test_failover_timeout_then_teardown(cluster: Cluster) -> None:
    c = cluster
    agent, _aid = c.agent()
    fw, fid = c.framework(failover_timeout=10.0)
    launch_t1(c, fw, fid, agent)
    fw.actor_ref.stop()
    watcher = c.probe("watcher")
    state = c.sync(watcher)
    assert state["frameworks"][0]["connected"] is False and state["frameworks"][0]["tasks"]
    c.clock.advance(5.0)
    c.sync(watcher)
    assert agent.none(m.ShutdownFramework)
    c.clock.advance(5.0)
    assert agent.expect(m.ShutdownFramework).framework_id == fid
    state = c.sync(watcher)
    assert state["frameworks"] == [] and state["completed_frameworks"][0]["id"] == fid


def test_reregistration_within_failover_resumes(cluster: Cluster) -> None:
    c = cluster
    _agent, _aid = c.agent()
    fw, fid = c.framework(failover_timeout=10.0)
    fw.expect(m.ResourceOffers)
    fw.actor_ref.stop()
    fw2 = c.probe("scheduler")
    fw2.tell(c.master, m.ReregisterFramework(framework={"id": {"value": fid}, "name": "fw",
                                                        "failover_timeout": 10.0}, failover=True))
    assert fw2.expect(m.FrameworkRegistered).framework_id == fid  # a new instance: Mesos says registered
    (offer,) = fw2.expect(m.ResourceOffers).offers
    assert offered(offer) == Resources.parse("cpus:4;mem:4096")
    c.clock.advance(20.0)
    assert c.sync(fw2)["frameworks"][0]["active"] is True


def test_unregister_framework_kills_tasks(cluster: Cluster) -> None:
    c = cluster
    agent, _aid = c.agent()
    fw, fid = c.framework(failover_timeout=100.0)
    launch_t1(c, fw, fid, agent)
    fw.tell(c.master, m.UnregisterFramework(framework_id=fid))
    assert agent.expect(m.ShutdownFramework).framework_id == fid


def test_batch_allocation_every_interval_honours_decline_filter(cluster: Cluster) -> None:
    c = cluster
    c.agent()
    fw, fid = c.framework()
    (offer,) = fw.expect(m.ResourceOffers).offers
    fw.tell(c.master, m.DeclineOffers(framework_id=fid, offer_ids=[offer["id"]["value"]],
                                      filters={"refuse_seconds": 2.5}))
    c.sync(fw)
    for _ in range(2):  # batch allocations at 1 s and 2 s: still filtered
        c.clock.advance(1.0)
        c.sync(fw)
    assert fw.none(m.ResourceOffers)
    c.clock.advance(1.0)  # the 3 s batch allocation: the filter expired, no event needed
    (again,) = fw.expect(m.ResourceOffers).offers
    assert offered(again) == Resources.parse("cpus:4;mem:4096")
