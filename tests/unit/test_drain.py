"""Agent draining and deactivation in the master core (pure; Mesos 1.9+ DRAIN_AGENT,
DEACTIVATE_AGENT, REACTIVATE_AGENT): no offers, kills with a capped grace period,
DRAINING -> DRAINED, mark_gone, and the state."""

from __future__ import annotations

from typing import Any

import pytest

from actors.master import drain
from actors.master.model import Effect
from tests.unit.master_helpers import AGENT, FW, Harness, launch, of_type, task_info, update
from transport import messages as m


def call(h: Harness, fn: Any, *args: Any) -> list[Effect]:
    out: list[Effect] = []
    fn(h.core, *args, h.now, out)
    return h.apply(out)


def two_tasks() -> tuple[Harness, str, str]:
    h = Harness()
    fid = h.framework(FW)
    aid = h.agent(AGENT, "cpus:4;mem:1024")
    (offer,) = h.offers(FW)
    slow = task_info("slow", 1, 128, kill_policy={"grace_period": {"nanoseconds": 30_000_000_000}})
    h.send(FW, m.AcceptOffers(framework_id=fid, offer_ids=[offer["id"]["value"]],
                              operations=launch(slow, task_info("quick", 1, 128)), filters={"refuse_seconds": 0}))
    update(h, fid, aid, "slow", "TASK_RUNNING")
    update(h, fid, aid, "quick", "TASK_RUNNING")
    return h, fid, aid


def test_deactivate_rescinds_offers_and_makes_none_until_reactivated() -> None:
    h, fid, aid = two_tasks()
    (offer,) = h.offers(FW)
    out = call(h, drain.deactivate, aid)
    assert [r.offer_id for r in of_type(out, m.RescindResourceOffer, FW)] == [offer["id"]["value"]]
    assert h.offers(FW) == []
    assert of_type(out, m.KillTask) == []  # its tasks keep running
    slave = h.core.state(h.now)["slaves"][0]
    assert slave["deactivated"] is True and "drain_info" not in slave
    # a re-registration does not reactivate it
    h.send(AGENT, m.ReregisterAgent(agent={"hostname": "h1", "id": {"value": aid},
                                           "resources": h.core.agents[aid].total.to_dicts()},
                                    tasks=[t.to_dict() for t in h.core.agents[aid].tasks.values()]))
    assert h.offers(FW) == []
    call(h, drain.reactivate, aid)
    assert len(h.offers(FW)) == 1


def test_drain_kills_with_the_grace_capped_and_ends_drained() -> None:
    h, fid, aid = two_tasks()
    out = call(h, drain.drain, aid, {"nanoseconds": 5_000_000_000}, False)
    kills = {k.task_id: k.kill_policy for k in of_type(out, m.KillTask, AGENT)}
    assert kills == {"slow": {"grace_period": {"nanoseconds": 5_000_000_000}},
                     "quick": {"grace_period": {"nanoseconds": 3_000_000_000}}}  # the default, under the cap
    assert h.core.agents[aid].drain_info == {
        "state": "DRAINING", "config": {"mark_gone": False, "max_grace_period": {"nanoseconds": 5_000_000_000}}}
    assert h.offers(FW) == []
    out = update(h, fid, aid, "quick", "TASK_KILLED")
    (forwarded,) = of_type(out, m.StatusUpdate, FW)
    assert forwarded.status["reason"] == "REASON_AGENT_DRAINING"
    assert (h.core.agents[aid].drain_info or {}).get("state") == "DRAINING"
    update(h, fid, aid, "slow", "TASK_KILLED")
    assert h.core.state(h.now)["slaves"][0]["drain_info"]["state"] == "DRAINED"
    assert h.offers(FW) == []
    call(h, drain.reactivate, aid)
    assert len(h.offers(FW)) == 1


def test_drain_with_mark_gone_removes_the_agent_once_drained() -> None:
    h, fid, aid = two_tasks()
    call(h, drain.drain, aid, None, True)
    out = update(h, fid, aid, "quick", "TASK_KILLED")
    assert of_type(out, m.StatusUpdate, FW)[0].status["state"] == "TASK_GONE_BY_OPERATOR"
    out = update(h, fid, aid, "slow", "TASK_KILLED")
    assert aid not in h.core.agents and aid in h.core.removed_agents
    assert of_type(out, m.ShutdownAgent, AGENT)


def test_an_agent_without_tasks_is_drained_at_once_and_bad_calls_name_the_problem() -> None:
    h = Harness()
    aid = h.agent(AGENT)
    call(h, drain.drain, aid, 0, False)
    assert (h.core.agents[aid].drain_info or {}).get("state") == "DRAINED"
    with pytest.raises(drain.DrainError, match="no agent 'nope'"):
        call(h, drain.deactivate, "nope")
    with pytest.raises(drain.DrainError, match="max_grace_period must be a duration >= 0, got -1"):
        call(h, drain.drain, aid, -1, False)
    with pytest.raises(drain.DrainError, match="mark_gone must be true or false"):
        call(h, drain.drain, aid, None, "yes")
