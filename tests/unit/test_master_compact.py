"""The master's records are compact: equal resources are one object, a kept TaskInfo holds only
what the master reads, and the records have no per-instance __dict__."""

from __future__ import annotations

import copy
import sys

import pytest

from actors.master.compact import NO_TASK_INFO, Interner, compact_task_info
from actors.master.model import Agent, Send, Task
from actors.master.task_status import TaskStatusRecord, compact_status
from actors.resources import Resources
from tests.unit.master_helpers import AGENT, FW, Harness, launch, task_info, update
from transport import messages as m


def test_interner_shares_equal_values_and_stays_bounded() -> None:
    table: Interner[Resources] = Interner(limit=2)
    a, b = Resources.parse("cpus:1;mem:32"), Resources.parse("cpus:1;mem:32")
    assert a is not b and table.intern(a) is a and table.intern(b) is a
    table.intern(Resources.parse("cpus:2"))
    table.intern(Resources.parse("cpus:3"))  # a third distinct value empties the table first
    assert len(table) == 1
    with pytest.raises(ValueError, match="-1"):
        Interner(limit=-1)


def test_compact_task_info_keeps_what_the_master_reads() -> None:
    volume = {"name": "disk", "type": "SCALAR", "scalar": {"value": 10}, "disk": {"persistence": {"id": "v1"}}}
    info = task_info("t1", kill_policy={"grace_period": {"nanoseconds": 5}}, labels={"labels": []}, data=b"x")
    info["resources"].append(volume)
    info["command"]["user"] = "alice"
    kept = compact_task_info(info)
    assert kept == {"kill_policy": {"grace_period": {"nanoseconds": 5}}, "labels": {"labels": []},
                    "resources": [volume], "command": {"user": "alice"}}
    assert compact_task_info(task_info("t2")) == {}


def test_tasks_that_keep_nothing_of_their_task_info_share_one_read_only_empty_mapping() -> None:
    assert compact_task_info(task_info("t1")) is compact_task_info(task_info("t2")) is NO_TASK_INFO
    with pytest.raises(TypeError):
        NO_TASK_INFO["labels"] = {}  # type: ignore[index]
    bare = Task(task_id="t", framework_id="f", agent_id="a", name="", resources=Resources.parse("cpus:1"))
    assert bare.info is NO_TASK_INFO and bare.user == ""
    kept = compact_task_info(task_info("t3", labels={"labels": []}))
    assert kept == {"labels": {"labels": []}} and kept is not NO_TASK_INFO


def test_agents_and_tasks_alike_share_one_resources_and_keep_no_command() -> None:
    h = Harness()
    fid = h.framework(FW)
    agents = [h.agent(f"agent({i})@127.0.0.1:5051", "cpus:4;mem:4096") for i in range(2)]
    assert h.core.agents[agents[0]].total is h.core.agents[agents[1]].total
    offers = h.offers(FW)
    for k, offer in enumerate(offers):
        h.send(FW, m.AcceptOffers(framework_id=fid, offer_ids=[offer["id"]["value"]],
                                  operations=launch(task_info(f"t{k}", 1, 128))))
    tasks = list(h.core.frameworks[fid].tasks.values())
    assert len(tasks) == 2 and tasks[0].resources is tasks[1].resources
    assert all("command" not in t.info and "resources" not in t.info for t in tasks)
    assert not hasattr(tasks[0], "__dict__") and not hasattr(h.core.agents[agents[0]], "__dict__")
    assert Task.__slots__ and Agent.__slots__
    state = h.core.state(h.now)
    (fw_state,) = state["frameworks"]
    assert sorted(t["resources"]["cpus"] for t in fw_state["tasks"]) == [1.0, 1.0]


def test_an_agent_keeps_only_its_reserved_resources_and_volumes_and_a_task_each_id_once() -> None:
    h = Harness()
    fid = h.framework(FW)
    reserved = {"name": "cpus", "type": "SCALAR", "scalar": {"value": 1.0}, "role": "eng",
                "reservations": [{"type": "DYNAMIC", "role": "eng", "principal": "p"}]}
    items = Resources.parse("cpus:4;mem:4096").to_dicts() + [reserved]
    out = h.send(AGENT, m.RegisterAgent(agent={"hostname": "h9", "resources": items}))
    (reply,) = [e.message for e in out if isinstance(e, Send) and isinstance(e.message, m.AgentRegistered)]
    agent = h.core.agents[reply.agent_id]
    assert agent.info["resources"] == [reserved]  # the unreserved ones are in agent.total only
    assert "eng" in agent.reservations.by_role and agent.total.scalar("cpus") == 5.0
    (offer,) = h.offers(FW)
    h.send(FW, m.AcceptOffers(framework_id=fid, offer_ids=[offer["id"]["value"]],
                              operations=launch(task_info("t1", 1, 128))))
    (task,) = h.core.frameworks[fid].tasks.values()
    update(h, fid, reply.agent_id, "t1", "TASK_RUNNING")
    staging, running = task.statuses
    assert running["state"] == "TASK_RUNNING" and running["task_id"] == staging["task_id"] == {"value": "t1"}
    for status in (staging, running):  # each id is the task's own string, held bare
        assert status.id_of("task_id") is task.task_id and status.id_of("agent_id") is task.agent_id


def test_a_kept_status_is_a_slotted_record_that_reads_back_as_the_status_it_was_made_of() -> None:
    reported = {"task_id": {"value": "t1"}, "state": "TASK_RUNNING", "agent_id": {"value": "a1"},
                "labels": {"labels": [{"key": "k"}]}, "executor_id": {"value": "e", "extra": 1},
                "timestamp": 12.5, "uuid": b"\x00\x01", "healthy": True, "source": "SOURCE_EXECUTOR"}
    task = Task(task_id="t1", framework_id="f", agent_id="a1", name="", resources=Resources.parse("cpus:1"))
    task.record_status(copy.deepcopy(reported))
    task.record_status({"task_id": {"value": "t1"}, "state": "TASK_FINISHED", "agent_id": {"value": "a1"}})
    (kept, finished) = task.statuses
    assert isinstance(kept, TaskStatusRecord) and not hasattr(kept, "__dict__")
    assert kept.to_dict() == reported and list(kept.items()) == list(reported.items())  # same keys, same order
    assert kept == reported and "uuid" in kept and "data" not in kept and kept.get("reason") is None
    assert kept["task_id"] is not kept["task_id"]  # a fresh v1 dict each read: the record is never changed
    assert kept.id_of("executor_id") is None and kept["executor_id"] == {"value": "e", "extra": 1}
    assert finished.to_dict() == {"task_id": {"value": "t1"}, "state": "TASK_FINISHED", "agent_id": {"value": "a1"}}
    assert kept.id_of("agent_id") is finished.id_of("agent_id") is task.agent_id
    # statuses alike (same keys, state, source, reason) share one shape: a record holds no word of its own
    assert compact_status(copy.deepcopy(reported))._shape is compact_status(copy.deepcopy(reported))._shape
    assert compact_status(dict(reported, state="TASK_KILLED"))["state"] == "TASK_KILLED"
    # the record holds no dict: its bytes are its slots (a dict status held 3 more per id)
    assert sys.getsizeof(kept) + sys.getsizeof(kept._rest) < sys.getsizeof(reported)
