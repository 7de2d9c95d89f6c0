"""An agent disconnects (its link exits): non-checkpointing frameworks lose their tasks there at once."""

from __future__ import annotations

from typing import Any

from tests.unit.master_helpers import AGENT, Harness, launch, of_type, task_info, update
from transport import messages as m

CKPT = "scheduler(1)@127.0.0.1:6000"
PLAIN = "scheduler(2)@127.0.0.1:6001"


def executor(eid: str) -> dict[str, Any]:
    return {"executor_id": {"value": eid}, "command": {"value": "exec"},
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}}]}


def two_frameworks() -> tuple[Harness, str, str, str]:
    """A checkpointing and a non-checkpointing framework, each with a running task on one agent
    (the non-checkpointing one's through an executor of its own)."""
    h = Harness()
    ckpt = h.framework(CKPT, name="ckpt", checkpoint=True)
    plain = h.framework(PLAIN, name="plain")
    aid = h.agent(AGENT, "cpus:4;mem:4096")
    with_executor = task_info("lost", 1, 128, executor=executor("ex"))
    del with_executor["command"]
    for pid, fid, task in ((CKPT, ckpt, task_info("kept", 1, 128)), (PLAIN, plain, with_executor)):
        offer = next(o for o in h.offers(pid))
        h.send(pid, m.AcceptOffers(framework_id=fid, offer_ids=[offer["id"]["value"]], operations=launch(task),
                                   filters={"refuse_seconds": 0}))
        update(h, fid, aid, task["task_id"]["value"], "TASK_RUNNING")
    assert set(h.core.agents[aid].used_by()) == {ckpt, plain}
    return h, ckpt, plain, aid


def test_disconnect_loses_only_the_non_checkpointing_frameworks_tasks() -> None:
    h, ckpt, plain, aid = two_frameworks()
    out = h.exited(AGENT)
    assert of_type(out, m.StatusUpdate, CKPT) == []
    (upd,) = of_type(out, m.StatusUpdate, PLAIN)
    status = upd.status
    assert status["task_id"] == {"value": "lost"} and status["state"] == "TASK_LOST"
    assert status["reason"] == "REASON_AGENT_DISCONNECTED" and status["source"] == "SOURCE_MASTER"
    assert status["message"] == "Agent h1 disconnected" and status["executor_id"] == {"value": "ex"}
    assert upd.agent_id == aid and "uuid" not in status
    agent = h.core.agents[aid]
    assert not agent.connected and not of_type(out, m.AgentLost)
    assert list(agent.tasks) == [(ckpt, "kept")] and agent.executors == {}
    assert [t.task_id for t in h.core.frameworks[plain].completed] == ["lost"]
    assert h.core.frameworks[plain].tasks == {}
    assert h.core.frameworks[ckpt].tasks["kept"].state == "TASK_RUNNING"
    # A second exit notification changes nothing.
    assert h.exited(AGENT) == []


def test_lost_resources_come_back_when_the_agent_reregisters() -> None:
    h, ckpt, _plain, aid = two_frameworks()
    h.exited(AGENT)
    kept = {"task_id": {"value": "kept"}, "framework_id": {"value": ckpt}, "state": "TASK_RUNNING",
            "resources": task_info("kept", 1, 128)["resources"]}
    out = h.send(AGENT, m.ReregisterAgent(agent={"id": {"value": aid}, "hostname": "h1", "resources": []},
                                          tasks=[kept]))
    assert of_type(out, m.AgentReregistered, AGENT) and not of_type(out, m.StatusUpdate)
    assert h.core.state(h.now)["slaves"][0]["used_resources"]["cpus"] == 1.0
    (offer,) = h.offers(PLAIN)  # everything but the checkpointing framework's task: 3 cpus
    cpus = next(r for r in offer["resources"] if r["name"] == "cpus")
    assert cpus["scalar"]["value"] == 3.0


def test_a_framework_recovered_without_its_info_is_assumed_to_checkpoint() -> None:
    h = Harness()
    wire = {"task_id": {"value": "t"}, "framework_id": {"value": "F-0"}, "state": "TASK_RUNNING",
            "resources": task_info("t")["resources"]}
    h.send(AGENT, m.ReregisterAgent(agent={"id": {"value": "S-1"}, "hostname": "h1",
                                           "resources": task_info("x", 4, 4096)["resources"]}, tasks=[wire]))
    assert h.core.frameworks["F-0"].recovered
    h.exited(AGENT)
    assert h.core.frameworks["F-0"].tasks["t"].state == "TASK_RUNNING"
    assert ("F-0", "t") in h.core.agents["S-1"].tasks


def test_a_recovered_framework_whose_info_says_no_checkpoint_loses_its_task() -> None:
    h = Harness()
    wire = {"task_id": {"value": "t"}, "framework_id": {"value": "F-0"}, "state": "TASK_RUNNING",
            "resources": task_info("t")["resources"]}
    h.send(AGENT, m.ReregisterAgent(agent={"id": {"value": "S-1"}, "hostname": "h1",
                                           "resources": task_info("x", 4, 4096)["resources"]}, tasks=[wire],
                                    frameworks=[{"id": {"value": "F-0"}, "name": "fw", "checkpoint": False}]))
    h.exited(AGENT)
    assert h.core.frameworks["F-0"].tasks == {}
    assert h.core.frameworks["F-0"].completed[-1].state == "TASK_LOST"


def test_a_task_already_reported_lost_is_killed_not_revived_when_the_agent_returns() -> None:
    h, _ckpt, plain, aid = two_frameworks()
    h.exited(AGENT)  # the non-checkpointing framework was told TASK_LOST for "lost"
    lost = {"task_id": {"value": "lost"}, "framework_id": {"value": plain}, "state": "TASK_RUNNING",
            "executor_id": {"value": "ex"}, "resources": task_info("lost", 1, 128)["resources"]}
    out = h.send(AGENT, m.ReregisterAgent(agent={"id": {"value": aid}, "hostname": "h1", "resources": []},
                                          tasks=[lost]))
    (kill,) = of_type(out, m.KillTask, AGENT)
    assert (kill.framework_id, kill.task_id, kill.agent_id) == (plain, "lost", aid)
    assert of_type(out, m.StatusUpdate, PLAIN) == []  # told once, not again
    assert h.core.frameworks[plain].tasks == {}
    assert (plain, "lost") not in h.core.agents[aid].tasks


def test_a_kill_while_the_agent_is_disconnected_is_sent_when_it_reregisters() -> None:
    h, ckpt, _plain, aid = two_frameworks()
    h.exited(AGENT)
    policy = {"grace_period": {"nanoseconds": 1_000_000_000}}
    assert h.send(CKPT, m.KillTask(framework_id=ckpt, task_id="kept", kill_policy=policy)) == []
    kept = {"task_id": {"value": "kept"}, "framework_id": {"value": ckpt}, "state": "TASK_RUNNING",
            "resources": task_info("kept", 1, 128)["resources"]}
    rereg = m.ReregisterAgent(agent={"id": {"value": aid}, "hostname": "h1", "resources": []}, tasks=[kept])
    (kill,) = of_type(h.send(AGENT, rereg), m.KillTask, AGENT)
    assert (kill.framework_id, kill.task_id, kill.agent_id, kill.kill_policy) == (ckpt, "kept", aid, policy)
    assert h.core.agents[aid].pending_kills == {}
    # Sent once: a later re-registration does not kill again.
    assert of_type(h.send(AGENT, rereg), m.KillTask) == []
