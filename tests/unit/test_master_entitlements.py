"""The master's entitlement table: framework calls only from the framework's scheduler,
agent messages only from that agent; anything else has no effect and is counted."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from structlog.testing import capture_logs

from actors.master.entitlements import AGENT_MESSAGES, FRAMEWORK_CALLS
from actors.master.model import ToAllocator
from actors.master.tasks import MAX_STATUSES_PER_TASK
from tests.unit.master_helpers import AGENT, FW, Harness, launch, of_type, running, task_info, update
from transport import messages as m
from transport.schema import Message

FORGER = "scheduler(666)@127.0.0.1:7777"
AGENT2 = "agent(1)@127.0.0.1:5052"


def _framework_calls(fid: str, aid: str) -> list[Message]:
    return [
        m.UnregisterFramework(framework_id=fid),
        m.DeactivateFramework(framework_id=fid),
        m.AcceptOffers(framework_id=fid, offer_ids=["M-O0"], operations=launch(task_info("evil"))),
        m.DeclineOffers(framework_id=fid, offer_ids=["M-O0"]),
        m.ReviveOffers(framework_id=fid),
        m.SuppressOffers(framework_id=fid),
        m.ResourceRequest(framework_id=fid, requests=[]),
        m.KillTask(framework_id=fid, task_id="t1"),
        m.ReconcileTasks(framework_id=fid),
        m.StatusUpdateAcknowledgement(agent_id=aid, framework_id=fid, task_id="t1", uuid=b"u"),
        m.FrameworkToExecutor(agent_id=aid, framework_id=fid, executor_id="t1", data=b"x"),
        m.ShutdownExecutor(framework_id=fid, executor_id="t1", agent_id=aid),
    ]


def test_the_table_covers_every_framework_call() -> None:
    assert {type(msg) for msg in _framework_calls("f", "a")} == set(FRAMEWORK_CALLS)


@pytest.mark.parametrize("index", range(len(FRAMEWORK_CALLS)))
def test_a_framework_call_from_another_pid_has_no_effect(index: int) -> None:
    h, fid, aid = running("t1", "t2")
    msg = _framework_calls(fid, aid)[index]
    with capture_logs() as logs:
        out = h.send(FORGER, msg)
    assert out == []
    assert fid in h.core.frameworks and h.core.frameworks[fid].connected
    assert h.core.frameworks[fid].tasks["t1"].state == "TASK_RUNNING"
    assert h.core.entitlements.dropped(type(msg).__name__, "not_framework_scheduler") == 1
    (event,) = [e for e in logs if e["event"] == "message_not_entitled"]
    assert event["sender"] == FORGER and event["role"] == "master" and event["reason"] == "not_framework_scheduler"


def test_the_real_scheduler_still_kills_and_unregisters() -> None:
    h, fid, aid = running()
    out = h.send(FW, m.KillTask(framework_id=fid, task_id="t1"))
    assert of_type(out, m.KillTask, AGENT)
    out = h.send(FW, m.UnregisterFramework(framework_id=fid))
    assert fid not in h.core.frameworks and of_type(out, m.ShutdownFramework, AGENT)
    assert h.core.entitlements.dropped() == 0


def test_a_recovered_framework_without_a_scheduler_takes_calls_from_nobody() -> None:
    h, fid, _ = running()
    h.core.frameworks[fid].pid = ""  # as after a master failover, before the scheduler re-registers
    assert h.send(FW, m.KillTask(framework_id=fid, task_id="t1")) == []
    assert h.core.entitlements.dropped("KillTask", "not_framework_scheduler") == 1


def test_a_call_for_a_removed_framework_still_gets_its_error() -> None:
    h, fid, _ = running()
    h.send(FW, m.UnregisterFramework(framework_id=fid))
    out = h.send(FW, m.ReviveOffers(framework_id=fid))
    assert of_type(out, m.FrameworkError, FW)


def _agent_messages(fid: str, aid: str) -> list[Message]:
    u = uuid.uuid4().bytes
    status = {"task_id": {"value": "t1"}, "state": "TASK_FINISHED", "agent_id": {"value": aid}, "uuid": u}
    return [
        m.StatusUpdate(framework_id=fid, status=status, uuid=u, agent_id=aid),
        m.ExecutorToFramework(agent_id=aid, framework_id=fid, executor_id="t1", data=b"x"),
        m.ExitedExecutor(agent_id=aid, framework_id=fid, executor_id="t1", status=0),
        m.PongAgent(),
        m.UnregisterAgent(agent_id=aid),
    ]


def test_the_table_covers_every_agent_message() -> None:
    assert {type(msg) for msg in _agent_messages("f", "a")} == set(AGENT_MESSAGES)


@pytest.mark.parametrize("index", range(len(AGENT_MESSAGES)))
def test_an_agent_message_from_a_process_that_is_no_agent_has_no_effect(index: int) -> None:
    h, fid, aid = running()
    msg = _agent_messages(fid, aid)[index]
    assert h.send(FORGER, msg) == []
    assert h.core.frameworks[fid].tasks["t1"].state == "TASK_RUNNING"
    assert aid in h.core.agents
    assert h.core.entitlements.dropped(type(msg).__name__, "not_registered_agent") == 1


@pytest.mark.parametrize("index", [0, 1, 2, 4])
def test_another_agent_cannot_speak_for_this_one(index: int) -> None:
    h, fid, aid = running()
    h.agent(AGENT2)
    msg = _agent_messages(fid, aid)[index]
    assert h.send(AGENT2, msg) == []
    assert h.core.frameworks[fid].tasks["t1"].state == "TASK_RUNNING"
    assert h.core.entitlements.dropped(type(msg).__name__, "not_that_agent") == 1


def test_a_forged_task_finished_frees_nothing() -> None:
    h, fid, aid = running()
    u = uuid.uuid4().bytes
    status = {"task_id": {"value": "t1"}, "state": "TASK_FINISHED", "uuid": u}
    out = h.send(FORGER, m.StatusUpdate(framework_id=fid, status=status, uuid=u))  # names no agent at all
    assert not [e for e in out if isinstance(e, ToAllocator)]
    assert h.core.agents[aid].used().scalar("cpus") == 1.0
    out = update(h, fid, aid, "t1", "TASK_FINISHED")  # the agent itself: freed
    assert [e for e in out if isinstance(e, ToAllocator) and e.method == "recover_resources"]


def test_refusals_are_logged_a_few_times_then_every_thousandth() -> None:
    h, fid, _ = running()
    with capture_logs() as logs:
        for _ in range(2500):
            h.send(FORGER, m.KillTask(framework_id=fid, task_id="t1"))
    events = [e for e in logs if e["event"] == "message_not_entitled"]
    assert [e["count"] for e in events] == [1, 2, 3, 4, 5, 1000, 2000]
    assert h.core.entitlements.dropped("KillTask") == 2500
    assert h.core.entitlements.snapshot() == {"KillTask:not_framework_scheduler": 2500}


# --- what the master keeps --------------------------------------------------------


def test_stored_tasks_and_statuses_keep_no_data() -> None:
    h = Harness()
    fid = h.framework(FW)
    aid = h.agent(AGENT)
    (offer,) = h.offers(FW)
    big = b"x" * 100_000
    out = h.send(FW, m.AcceptOffers(framework_id=fid, offer_ids=[offer["id"]["value"]],
                                    operations=launch(task_info("t1", data=big))))
    (run,) = of_type(out, m.RunTask, AGENT)
    assert run.task["data"] == big  # the agent gets it
    task = h.core.frameworks[fid].tasks["t1"]
    assert "data" not in task.info
    u = uuid.uuid4().bytes
    status: dict[str, Any] = {"task_id": {"value": "t1"}, "state": "TASK_FINISHED", "agent_id": {"value": aid},
                              "uuid": u, "data": big}
    out = h.send(AGENT, m.StatusUpdate(framework_id=fid, status=status, uuid=u, agent_id=aid))
    (forwarded,) = of_type(out, m.StatusUpdate, FW)
    assert forwarded.status["data"] == big  # the framework gets it
    (done,) = h.core.frameworks[fid].completed
    assert all("data" not in s for s in done.statuses) and "data" not in done.info


def test_statuses_kept_per_task_are_bounded() -> None:
    h, fid, aid = running()
    for _ in range(MAX_STATUSES_PER_TASK + 50):
        update(h, fid, aid, "t1", "TASK_RUNNING")
    assert len(h.core.frameworks[fid].tasks["t1"].statuses) == MAX_STATUSES_PER_TASK


def test_tasks_reported_by_a_reregistering_agent_keep_no_data() -> None:
    h = Harness()
    fid = h.framework(FW)
    task = {"task_id": {"value": "t9"}, "framework_id": {"value": fid}, "state": "TASK_RUNNING", "data": b"x" * 1000,
            "statuses": [{"state": "TASK_RUNNING", "data": b"y"}] * (MAX_STATUSES_PER_TASK + 5), "resources": []}
    h.send(AGENT, m.ReregisterAgent(agent={"id": {"value": "M-S7"}, "hostname": "h", "resources": []}, tasks=[task]))
    kept = h.core.frameworks[fid].tasks["t9"]
    assert "data" not in kept.info and all("data" not in s for s in kept.statuses)
    assert len(kept.statuses) == MAX_STATUSES_PER_TASK
