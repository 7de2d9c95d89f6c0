"""Mesos' validation the master did not do: repeated offer ids, an executor id
reused with another ExecutorInfo, an unrepresentable failover_timeout; and
resent status updates carrying the task's latest state."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.master_helpers import AGENT, FW, Harness, launch, of_type, running, task_info
from transport import messages as m


def one_offer(**info: Any) -> tuple[Harness, str, str]:
    h = Harness()
    fid = h.framework(FW, **info)
    h.agent(AGENT)
    (offer,) = h.offers(FW)
    return h, fid, offer["id"]["value"]


def used_cpus(h: Harness) -> float:
    return float(h.core.state(h.now)["slaves"][0]["used_resources"]["cpus"])


@pytest.mark.parametrize(("partition_aware", "state"), [(False, "TASK_LOST"), (True, "TASK_DROPPED")])
def test_the_same_offer_twice_in_one_accept_is_invalid(partition_aware: bool, state: str) -> None:
    caps = [{"type": "PARTITION_AWARE"}] if partition_aware else []
    h, fid, oid = one_offer(capabilities=caps)
    out = h.send(FW, m.AcceptOffers(framework_id=fid, offer_ids=[oid, oid], operations=launch(task_info("t1"))))
    (st,) = of_type(out, m.StatusUpdate, FW)
    assert st.status["state"] == state and st.status["reason"] == "REASON_INVALID_OFFERS"
    assert f"Offer {oid} appears more than once" in st.status["message"]
    assert not of_type(out, m.RunTask) and used_cpus(h) == 0.0
    assert len(h.offers(FW)) == 1  # the offer's resources went back


def executor_task(tid: str, command: str = "run-executor", cpus: float = 0.5) -> dict[str, Any]:
    ex = {"executor_id": {"value": "e1"}, "command": {"value": command},
          "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": cpus}}]}
    return {k: v for k, v in task_info(tid, 1, 128, executor=ex).items() if k != "command"}


def test_an_executor_id_in_use_with_another_executor_info_is_task_error() -> None:
    h, fid, oid = one_offer()
    out = h.send(FW, m.AcceptOffers(framework_id=fid, offer_ids=[oid], operations=launch(
        executor_task("t1"), executor_task("t2"), executor_task("t3", command="other"),
        executor_task("t4", cpus=1.0))))
    assert [r.task["task_id"]["value"] for r in of_type(out, m.RunTask)] == ["t1", "t2"]
    errors = {u.status["task_id"]["value"]: u.status for u in of_type(out, m.StatusUpdate, FW)}
    assert set(errors) == {"t3", "t4"}
    assert all(s["state"] == "TASK_ERROR" and s["reason"] == "REASON_TASK_INVALID" for s in errors.values())
    assert "not compatible with existing ExecutorInfo" in errors["t3"]["message"]
    assert "command" in errors["t3"]["message"] and "resources" in errors["t4"]["message"]
    # A later accept is checked against the executor already on the agent too.
    h.now += 6  # past the default filter on the remainder
    (offer,) = h.offers(FW)
    out = h.send(FW, m.AcceptOffers(framework_id=fid, offer_ids=[offer["id"]["value"]],
                                    operations=launch(executor_task("t5", command="other"))))
    (st,) = of_type(out, m.StatusUpdate, FW)
    assert st.status["state"] == "TASK_ERROR" and "ExecutorInfo" in st.status["message"]


def test_the_same_executor_info_with_framework_id_filled_in_is_compatible() -> None:
    h, fid, oid = one_offer()
    t2 = executor_task("t2")
    t2["executor"] = dict(t2["executor"], framework_id={"value": fid})
    out = h.send(FW, m.AcceptOffers(framework_id=fid, offer_ids=[oid], operations=launch(executor_task("t1"), t2)))
    assert len(of_type(out, m.RunTask)) == 2


@pytest.mark.parametrize("timeout", [1e17, float("inf"), float("nan"), -1e17, "60"])
def test_an_unrepresentable_failover_timeout_is_refused(timeout: Any) -> None:
    h = Harness()
    out = h.send(FW, m.RegisterFramework(framework={"name": "fw", "failover_timeout": timeout}))
    (err,) = of_type(out, m.FrameworkError, FW)
    assert "failover_timeout" in err.message and repr(timeout) in err.message
    assert not h.core.frameworks


def test_a_long_but_representable_failover_timeout_is_kept() -> None:
    h = Harness()
    out = h.send(FW, m.RegisterFramework(framework={"name": "fw", "failover_timeout": 9e9}))
    assert of_type(out, m.FrameworkRegistered, FW)
    fid = next(iter(h.core.frameworks))
    out = h.send(FW, m.ReregisterFramework(framework={"id": {"value": fid}, "failover_timeout": 1e17}))
    assert of_type(out, m.FrameworkError, FW) and h.core.frameworks[fid].info["failover_timeout"] == 9e9


def status(tid: str, state: str, uuid: bytes, aid: str) -> dict[str, Any]:
    return {"task_id": {"value": tid}, "state": state, "agent_id": {"value": aid}, "uuid": uuid}


def test_a_resent_update_with_a_terminal_latest_state_frees_resources_at_once() -> None:
    h, fid, aid = running("t1")  # t1 RUNNING (one cpu), that update already acknowledged
    assert used_cpus(h) == 1.0
    # The agent resends an unacknowledged TASK_RUNNING; behind it the task has finished.
    out = h.send(AGENT, m.StatusUpdate(framework_id=fid, status=status("t1", "TASK_RUNNING", b"r2", aid), uuid=b"r2",
                                       agent_id=aid, latest_state="TASK_FINISHED"))
    (fwd,) = of_type(out, m.StatusUpdate, FW)
    assert fwd.status["state"] == "TASK_RUNNING"  # the framework still gets the updates in order
    assert used_cpus(h) == 0.0 and len(h.offers(FW)) == 1  # freed without waiting for any ack
    fw = h.core.frameworks[fid]
    assert "t1" not in fw.tasks
    h.send(FW, m.StatusUpdateAcknowledgement(agent_id=aid, framework_id=fid, task_id="t1", uuid=b"r2"))
    # Until its terminal update is acknowledged, reconciliation still answers for it.
    (answer,) = of_type(h.send(FW, m.ReconcileTasks(framework_id=fid)), m.StatusUpdate, FW)
    assert answer.status["state"] == "TASK_FINISHED"
    h.send(AGENT, m.StatusUpdate(framework_id=fid, status=status("t1", "TASK_FINISHED", b"f", aid), uuid=b"f",
                                 agent_id=aid, latest_state="TASK_FINISHED"))
    assert [s["state"] for s in fw.completed[-1].statuses][-2:] == ["TASK_RUNNING", "TASK_FINISHED"]
    assert of_type(h.send(FW, m.ReconcileTasks(framework_id=fid)), m.StatusUpdate, FW)
    h.send(FW, m.StatusUpdateAcknowledgement(agent_id=aid, framework_id=fid, task_id="t1", uuid=b"f"))
    assert not of_type(h.send(FW, m.ReconcileTasks(framework_id=fid)), m.StatusUpdate, FW)
    assert used_cpus(h) == 0.0


def test_a_non_terminal_latest_state_changes_nothing() -> None:
    h, fid, aid = running("t1")
    h.send(AGENT, m.StatusUpdate(framework_id=fid, status=status("t1", "TASK_RUNNING", b"r2", aid), uuid=b"r2",
                                 agent_id=aid, latest_state="TASK_RUNNING"))
    assert used_cpus(h) == 1.0 and h.core.frameworks[fid].tasks["t1"].state == "TASK_RUNNING"
