"""Partitions in the master core: agents marked unreachable after missed pings, kept (bounded),
re-admitted when they re-register (Mesos' PartitionTest semantics)."""

from __future__ import annotations

from typing import Any

import pytest

from actors.master.config import ConfigError, MasterConfig
from tests.unit.master_helpers import AGENT, FW, Harness, launch, of_type, task_info, update
from transport import messages as m

PA = [{"type": "PARTITION_AWARE"}]
FW2 = "scheduler(2)@127.0.0.1:6001"


def _cluster(**flags: Any) -> tuple[Harness, str, str, str]:
    """A partition-aware framework (t1 on FW) and a plain one (t2 on FW2), both running on one agent."""
    h = Harness(**flags)
    aware = h.framework(FW, capabilities=PA)
    plain = h.framework(FW2)
    aid = h.agent(AGENT)
    for pid, fid, tid in ((FW, aware, "t1"), (FW2, plain, "t2")):
        offers = h.offers(pid)
        h.send(pid, m.AcceptOffers(framework_id=fid, offer_ids=[o["id"]["value"] for o in offers],
                                   operations=launch(task_info(tid, 1, 128))))
        update(h, fid, aid, tid, "TASK_RUNNING")
    return h, aware, plain, aid


def _partition(h: Harness, aid: str) -> list[Any]:
    out: list[Any] = []
    while aid in h.core.agents:  # no pongs
        out += h.advance(h.config.agent_ping_timeout)
    return out


def _wire(h: Harness, fid: str, tid: str, aid: str) -> dict[str, Any]:
    return {"task_id": {"value": tid}, "framework_id": {"value": fid}, "state": "TASK_RUNNING",
            "name": f"task {tid}", "resources": task_info(tid, 1, 128)["resources"]}


def _reregister(h: Harness, aid: str, tasks: list[dict[str, Any]], frameworks: list[dict[str, Any]] | None = None
                ) -> list[Any]:
    return h.send(AGENT, m.ReregisterAgent(
        agent={"id": {"value": aid}, "hostname": "h1", "resources": [
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": 4.0}},
            {"name": "mem", "type": "SCALAR", "scalar": {"value": 4096.0}}]},
        tasks=tasks, frameworks=frameworks or []))


def test_missed_pings_mark_the_agent_unreachable_by_partition_awareness() -> None:
    h, aware, plain, aid = _cluster()
    h.now += 6.0  # past the accept's default filter
    h.allocate()
    outstanding = set(h.core.offers)
    assert outstanding
    out = _partition(h, aid)
    (unreachable,) = of_type(out, m.StatusUpdate, FW)
    (lost,) = of_type(out, m.StatusUpdate, FW2)
    when = h.now + h.core.epoch_offset
    assert (unreachable.status["state"], unreachable.status["reason"]) == ("TASK_UNREACHABLE", "REASON_AGENT_REMOVED")
    assert (lost.status["state"], lost.status["reason"]) == ("TASK_LOST", "REASON_AGENT_REMOVED")
    for st in (unreachable.status, lost.status):
        assert st["unreachable_time"] == when and st["source"] == "SOURCE_MASTER"
        assert st["agent_id"] == {"value": aid}
    assert of_type(out, m.AgentLost, FW) == of_type(out, m.AgentLost, FW2) == [m.AgentLost(agent_id=aid)]
    assert not of_type(out, m.ShutdownAgent, AGENT)  # Mesos 1.1+: the agent may come back
    assert {r.offer_id for r in of_type(out, m.RescindResourceOffer)} == outstanding and not h.core.offers
    state = h.core.state(h.now)
    assert state["slaves"] == [] and state["unreachable_slaves"] == 1
    assert state["unreachable_agents"] == [{"id": aid, "unreachable_time": when}]
    by_id = {f["id"]: f for f in state["frameworks"]}
    assert [t["state"] for t in by_id[aware]["unreachable_tasks"]] == ["TASK_UNREACHABLE"]
    assert [t["state"] for t in by_id[plain]["unreachable_tasks"]] == ["TASK_LOST"]
    assert by_id[aware]["tasks"] == by_id[plain]["tasks"] == []
    assert h.allocator.allocate_roles(h.now) == {}  # its resources left the allocator


def test_reconciliation_answers_unreachable_with_its_time() -> None:
    h, aware, plain, aid = _cluster()
    _partition(h, aid)
    when = h.now + h.core.epoch_offset
    for pid, fid, tid, state in ((FW, aware, "t1", "TASK_UNREACHABLE"), (FW2, plain, "t2", "TASK_LOST")):
        for agent_id in ({"value": aid}, None):  # with the agent's id, and without
            status: dict[str, Any] = {"task_id": {"value": tid}}
            if agent_id:
                status["agent_id"] = agent_id
            (answer,) = of_type(h.send(pid, m.ReconcileTasks(framework_id=fid, statuses=[status])), m.StatusUpdate)
            assert answer.status["state"] == state and answer.status["unreachable_time"] == when
    (other,) = of_type(h.send(FW, m.ReconcileTasks(framework_id=aware, statuses=[
        {"task_id": {"value": "zz"}, "agent_id": {"value": aid}}])), m.StatusUpdate)
    assert other.status["state"] == "TASK_UNREACHABLE"  # an unknown task on the unreachable agent
    (unknown,) = of_type(h.send(FW, m.ReconcileTasks(framework_id=aware, statuses=[
        {"task_id": {"value": "zz"}, "agent_id": {"value": "nowhere"}}])), m.StatusUpdate)
    assert unknown.status["state"] == "TASK_UNKNOWN"


def test_healed_agent_reregisters_aware_tasks_run_again_others_are_killed() -> None:
    h, aware, plain, aid = _cluster()
    _partition(h, aid)
    out = _reregister(h, aid, [_wire(h, aware, "t1", aid), _wire(h, plain, "t2", aid)])
    assert of_type(out, m.AgentReregistered, AGENT)[0].agent_id == aid
    (again,) = of_type(out, m.StatusUpdate, FW)
    assert (again.status["state"], again.status["reason"], again.status["source"]) == (
        "TASK_RUNNING", "REASON_AGENT_REREGISTERED", "SOURCE_MASTER")
    assert of_type(out, m.KillTask, AGENT) == [m.KillTask(framework_id=plain, task_id="t2", agent_id=aid)]
    assert not of_type(out, m.StatusUpdate, FW2)  # it was told TASK_LOST already
    state = h.core.state(h.now)
    assert state["unreachable_slaves"] == 0 and [s["id"] for s in state["slaves"]] == [aid]
    by_id = {f["id"]: f for f in state["frameworks"]}
    assert [t["id"] for t in by_id[aware]["tasks"]] == ["t1"] and by_id[aware]["unreachable_tasks"] == []
    assert by_id[plain]["tasks"] == []
    (answer,) = of_type(h.send(FW, m.ReconcileTasks(framework_id=aware, statuses=[])), m.StatusUpdate)
    assert answer.status["state"] == "TASK_RUNNING"
    offers = [o for msg in of_type(h.allocate(), m.ResourceOffers) for o in msg.offers]
    assert sum(r["scalar"]["value"] for o in offers for r in o["resources"] if r["name"] == "cpus") == 3.0


def test_unreachable_agents_are_forgotten_by_age_and_by_count() -> None:
    h = Harness(registry_max_agent_age=100.0, registry_max_agent_count=1, agent_ping_timeout=1.0,
                max_agent_ping_timeouts=1)
    fid = h.framework(FW, capabilities=PA)
    first = h.agent(AGENT)
    second = h.agent("agent(2)@127.0.0.1:5052")
    h.advance(1.0)
    h.advance(1.0)
    assert first not in h.core.agents and second not in h.core.agents
    assert list(h.core.registrar.registry.unreachable) == [second]  # the count cap kept the newest
    assert h.core.next_deadline() == pytest.approx(102.0)
    h.advance(100.0)
    assert not h.core.registrar.registry.unreachable
    (answer,) = of_type(h.send(FW, m.ReconcileTasks(framework_id=fid, statuses=[
        {"task_id": {"value": "t"}, "agent_id": {"value": second}}])), m.StatusUpdate)
    assert answer.status["state"] == "TASK_UNKNOWN"


def test_unreachable_tasks_leave_with_their_forgotten_agent() -> None:
    h, aware, _plain, aid = _cluster(registry_max_agent_age=10.0)
    _partition(h, aid)
    assert h.core.frameworks[aware].unreachable
    h.advance(10.0)
    assert not h.core.frameworks[aware].unreachable


@pytest.mark.parametrize("flag,value", [("registry_max_agent_age", -1.0), ("registry_max_agent_count", -2)])
def test_bad_registry_caps_are_refused_by_name(flag: str, value: object) -> None:
    with pytest.raises(ConfigError, match=flag):
        config = MasterConfig()
        setattr(config, flag, value)
        config.validate()
