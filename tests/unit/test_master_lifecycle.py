"""Frameworks and agents in the master core: failover, teardown, re-registration, health."""

from __future__ import annotations

from actors.master.model import LinkTo, ToAllocator
from tests.unit.master_helpers import AGENT, FW, Harness, of_type, running, task_info, update
from transport import messages as m

FW_NEW = "scheduler(9)@127.0.0.1:6001"


def test_ids_follow_mesos_shapes() -> None:
    h = Harness()
    assert h.framework(FW) == "M-0000"
    assert h.framework(FW_NEW) == "M-0001"
    assert h.agent(AGENT) == "M-S0"
    info = h.core.master_info()
    assert info["pid"] == "master@127.0.0.1:5050" and info["port"] == 5050 and info["id"] == "M"


def test_register_retry_from_same_pid_keeps_the_id() -> None:
    h = Harness()
    fid = h.framework(FW)
    assert h.framework(FW) == fid
    assert len(h.core.frameworks) == 1


def test_role_not_allowed_is_a_framework_error() -> None:
    h = Harness(roles="web")
    out = h.send(FW, m.RegisterFramework(framework={"name": "x", "roles": ["batch"]}))
    (err,) = of_type(out, m.FrameworkError, FW)
    assert "batch" in err.message
    assert h.framework(FW, roles=["web"])


def test_status_update_is_forwarded_and_terminal_frees_resources() -> None:
    h, fid, aid = running()
    assert h.allocator.allocated(fid)[aid].scalar("cpus") == 1.0  # the task; the remainder went back
    out = update(h, fid, aid, "t1", "TASK_FINISHED")
    (fwd,) = of_type(out, m.StatusUpdate, FW)
    assert fwd.status["state"] == "TASK_FINISHED" and fwd.uuid
    assert any(isinstance(e, ToAllocator) and e.method == "recover_resources" for e in out)
    assert h.allocator.allocated(fid) == {}
    state = h.core.state(h.now)["frameworks"][0]
    assert state["tasks"] == [] and state["completed_tasks"][0]["state"] == "TASK_FINISHED"
    assert [s["state"] for s in state["completed_tasks"][0]["statuses"]] == [
        "TASK_STAGING", "TASK_RUNNING", "TASK_FINISHED"]
    ack = m.StatusUpdateAcknowledgement(agent_id=aid, framework_id=fid, task_id="t1", uuid=fwd.uuid)
    assert of_type(h.send(FW, ack), m.StatusUpdateAcknowledgement, AGENT) == [ack]


def test_status_update_from_unknown_agent_is_ignored() -> None:
    h, fid, aid = running()
    out = h.send("agent(7)@127.0.0.1:5999", m.StatusUpdate(framework_id=fid, agent_id=aid, status={
        "task_id": {"value": "t1"}, "state": "TASK_FAILED"}))
    assert out == []
    assert h.core.frameworks[fid].tasks["t1"].state == "TASK_RUNNING"


def test_kill_known_task_goes_to_agent_unknown_is_reconciled() -> None:
    h, fid, aid = running()
    (kill,) = of_type(h.send(FW, m.KillTask(framework_id=fid, task_id="t1")), m.KillTask, AGENT)
    assert kill.agent_id == aid
    (upd,) = of_type(h.send(FW, m.KillTask(framework_id=fid, task_id="zz")), m.StatusUpdate, FW)
    assert upd.status["state"] == "TASK_LOST" and upd.status["reason"] == "REASON_RECONCILIATION"
    assert upd.uuid == b""


def test_disconnect_with_zero_failover_timeout_tears_down_at_once() -> None:
    h, fid, _aid = running()
    out = h.exited(FW)
    assert of_type(out, m.ShutdownFramework, AGENT) == [m.ShutdownFramework(framework_id=fid)]
    assert fid not in h.core.frameworks
    state = h.core.state(h.now)
    assert state["completed_frameworks"][0]["completed_tasks"][0]["state"] == "TASK_KILLED"
    assert state["slaves"][0]["used_resources"]["cpus"] == 0.0
    (err,) = of_type(h.send(FW, m.ReregisterFramework(framework={"id": {"value": fid}})), m.FrameworkError)
    assert "removed" in err.message


def test_failover_within_timeout_keeps_tasks() -> None:
    h, fid, _aid = running(failover_timeout=60.0)
    h.exited(FW)
    fw = h.core.frameworks[fid]
    assert not fw.connected and not fw.active and fw.failover_deadline == 60.0
    h.advance(15.0)
    assert h.offers(FW) == []
    out = h.send(FW_NEW, m.ReregisterFramework(framework={"id": {"value": fid}, "name": "fw",
                                                           "failover_timeout": 60.0}, failover=True))
    assert of_type(out, m.FrameworkRegistered, FW_NEW)  # a new instance taking over: Mesos says registered
    assert of_type(out, m.UpdateFramework, AGENT) == [m.UpdateFramework(framework_id=fid, framework_pid=FW_NEW)]
    assert any(isinstance(e, LinkTo) and e.pid == FW_NEW for e in out)
    h.advance(100.0)
    assert fid in h.core.frameworks and "t1" in h.core.frameworks[fid].tasks
    assert len(h.offers(FW_NEW)) == 1


def test_failover_timeout_expiry_kills_tasks() -> None:
    h, fid, _aid = running(failover_timeout=20.0)
    h.send(FW, m.DeactivateFramework(framework_id=fid))
    assert h.core.next_deadline() == 15.0
    assert not of_type(h.advance(15.0), m.ShutdownFramework)
    out = h.advance(5.0)
    assert of_type(out, m.ShutdownFramework, AGENT)
    assert fid not in h.core.frameworks


def test_agent_reregistration_keeps_tasks_even_after_master_restart() -> None:
    h, fid, aid = running()
    task = h.core.frameworks[fid].tasks["t1"].to_dict()
    wire_task = {"task_id": {"value": "t1"}, "framework_id": {"value": fid}, "state": "TASK_RUNNING",
                 "name": task["name"], "resources": task_info("t1", 1, 128)["resources"]}
    fresh = Harness()
    out = fresh.send(AGENT, m.ReregisterAgent(agent={"id": {"value": aid}, "hostname": "h1",
                                                     "resources": h.core.agents[aid].total.to_dicts()},
                                              tasks=[wire_task], frameworks=[{"id": {"value": fid}, "name": "fw"}]))
    assert of_type(out, m.AgentReregistered, AGENT)[0].agent_id == aid
    fw = fresh.core.frameworks[fid]
    assert fw.recovered and fw.tasks["t1"].state == "TASK_RUNNING"
    assert fresh.core.state(0)["slaves"][0]["used_resources"]["cpus"] == 1.0
    out = fresh.send(FW, m.ReregisterFramework(framework={"id": {"value": fid}, "name": "fw"}))
    assert of_type(out, m.FrameworkReregistered, FW)
    (offer,) = fresh.offers(FW)
    assert offer["resources"][0]["scalar"]["value"] == 3.0  # the running task's cpu is not offered


def test_reregistering_agent_missing_a_task_is_asked_about_it_and_its_answer_is_the_one_terminal() -> None:
    h, fid, aid = running(checkpoint=True)
    h.exited(AGENT)
    assert not h.core.agents[aid].connected
    out = h.send(AGENT, m.ReregisterAgent(agent={"id": {"value": aid}, "resources": []}, tasks=[]))
    assert not of_type(out, m.StatusUpdate, FW)  # the master does not decide: only the agent knows
    (reconcile,) = of_type(out, m.ReconcileTasks, AGENT)
    assert reconcile.framework_id == fid and [s["task_id"]["value"] for s in reconcile.statuses] == ["t1"]
    out = update(h, fid, aid, "t1", "TASK_LOST")  # the agent does not know it: its status update manager says so
    (upd,) = of_type(out, m.StatusUpdate, FW)
    assert upd.status["state"] == "TASK_LOST"


def test_a_launch_crossing_a_duplicate_reregistration_is_not_reported_lost() -> None:
    """RunTask sent after the agent sent a (retried) ReregisterAgent that cannot list it: the
    task is on the agent, so its own terminal update must be the only one."""
    h, fid, aid = running("t1", "t2", checkpoint=True)
    reported = [{"task_id": {"value": "t1"}, "framework_id": {"value": fid}, "state": "TASK_RUNNING",
                 "resources": task_info("t1", 1, 128)["resources"]}]
    reregister = m.ReregisterAgent(agent={"id": {"value": aid}, "resources": h.core.agents[aid].total.to_dicts()},
                                   tasks=reported, frameworks=[{"id": {"value": fid}, "name": "fw"}])
    h.send(AGENT, reregister)
    out = h.send(AGENT, reregister)  # the retry, written before t2's RunTask reached the agent
    assert not of_type(out, m.StatusUpdate, FW)
    assert [s["task_id"]["value"] for r in of_type(out, m.ReconcileTasks, AGENT) for s in r.statuses] == ["t2"]
    assert h.core.frameworks[fid].tasks["t2"].state == "TASK_STAGING"
    (upd,) = of_type(update(h, fid, aid, "t2", "TASK_FINISHED"), m.StatusUpdate, FW)
    assert upd.status["state"] == "TASK_FINISHED"


def test_agent_exit_only_disconnects_missed_pings_remove_it() -> None:
    h, _fid, aid = running(checkpoint=True)
    h.offers(FW)
    offer_ids = set(h.core.offers)
    out = h.exited(AGENT)
    assert {r.offer_id for r in of_type(out, m.RescindResourceOffer, FW)} == offer_ids
    assert aid in h.core.agents and h.core.state(h.now)["deactivated_slaves"] == 1
    for i in range(5):
        out = h.advance(15.0)
        assert of_type(out, m.PingAgent, AGENT), i
        assert not of_type(out, m.AgentLost)
    out = h.advance(15.0)
    (lost,) = of_type(out, m.StatusUpdate, FW)
    assert lost.status["state"] == "TASK_LOST" and lost.status["reason"] == "REASON_AGENT_REMOVED"
    assert of_type(out, m.AgentLost, FW) == [m.AgentLost(agent_id=aid)]
    assert not of_type(out, m.ShutdownAgent, AGENT)  # unreachable, not removed: it may come back
    assert aid not in h.core.agents and aid in h.core.registrar.registry.unreachable
    out = h.send(AGENT, m.ReregisterAgent(agent={"id": {"value": aid}, "resources": []}))
    assert of_type(out, m.AgentReregistered, AGENT) and aid in h.core.agents


def test_pongs_keep_the_agent() -> None:
    h, _fid, aid = running(capabilities=[{"type": "PARTITION_AWARE"}])
    for _ in range(10):
        h.advance(15.0)
        h.send(AGENT, m.PongAgent())
    assert aid in h.core.agents
    for _ in range(5):
        h.advance(15.0)
    out = h.advance(15.0)
    (lost,) = of_type(out, m.StatusUpdate, FW)
    assert lost.status["state"] == "TASK_UNREACHABLE"


def test_framework_messages_both_ways_and_exited_executor() -> None:
    h, fid, aid = running()
    to_exec = m.FrameworkToExecutor(agent_id=aid, framework_id=fid, executor_id="t1", data=b"hi")
    assert of_type(h.send(FW, to_exec), m.FrameworkToExecutor, AGENT) == [to_exec]
    to_fw = m.ExecutorToFramework(agent_id=aid, framework_id=fid, executor_id="t1", data=b"yo")
    assert of_type(h.send(AGENT, to_fw), m.ExecutorToFramework, FW) == [to_fw]
    gone = m.ExitedExecutor(agent_id=aid, framework_id=fid, executor_id="t1", status=0)
    assert of_type(h.send(AGENT, gone), m.ExitedExecutor, FW) == [gone]


def test_state_shape() -> None:
    h, fid, aid = running()
    state = h.core.state(h.now)
    for key in ("id", "pid", "hostname", "activated_slaves", "deactivated_slaves", "frameworks",
                "completed_frameworks", "slaves", "unregistered_frameworks"):
        assert key in state
    fw = state["frameworks"][0]
    assert fw["id"] == fid and fw["active"] and fw["connected"] and fw["role"] == "*"
    task = fw["tasks"][0]
    assert task["resources"] == {"cpus": 1.0, "mem": 128.0, "disk": 0.0, "gpus": 0.0}
    assert task["slave_id"] == aid and task["state"] == "TASK_RUNNING"
    assert state["slaves"][0]["resources"]["cpus"] == 4.0
