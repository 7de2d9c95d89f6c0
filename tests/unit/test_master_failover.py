"""Framework failover in the master core (Mesos' failoverFramework): a new instance takes over,
the old one is refused, offers held by the old one go to the new one, the timeout tears down."""

from __future__ import annotations

from actors.master.model import LinkTo
from tests.unit.master_helpers import AGENT, FW, of_type, running
from transport import messages as m

NEW = "scheduler(7)@127.0.0.1:6100"


def _failover(fid: str) -> m.ReregisterFramework:
    return m.ReregisterFramework(framework={"id": {"value": fid}, "name": "fw", "failover_timeout": 60.0},
                                 failover=True)


def test_a_new_instance_takes_over_a_connected_framework_and_gets_its_offers() -> None:
    h, fid, _aid = running(failover_timeout=60.0)
    h.now += 6.0
    held = h.offers(FW)
    assert held  # offers the old instance holds when the new one comes
    out = h.send(NEW, _failover(fid))
    assert of_type(out, m.FrameworkRegistered, NEW)[0].framework_id == fid
    assert of_type(out, m.FrameworkError, FW) == [m.FrameworkError(message="Framework failed over")]
    assert not of_type(out, m.RescindResourceOffer)  # the old instance is gone for the master
    assert not h.core.offers and any(isinstance(e, LinkTo) and e.pid == NEW for e in out)
    assert of_type(out, m.UpdateFramework, AGENT) == [m.UpdateFramework(framework_id=fid, framework_pid=NEW)]
    offered = h.offers(NEW)
    assert [o["agent_id"] for o in offered] == [o["agent_id"] for o in held]  # the same resources, to the new one
    (st,) = of_type(h.send(NEW, m.ReconcileTasks(framework_id=fid, statuses=[])), m.StatusUpdate, NEW)
    assert st.status["state"] == "TASK_RUNNING"


def test_the_failed_over_instance_coming_back_is_refused() -> None:
    h, fid, _aid = running(failover_timeout=60.0)
    h.send(NEW, _failover(fid))
    out = h.send(FW, m.ReregisterFramework(framework={"id": {"value": fid}, "name": "fw"}))
    assert of_type(out, m.FrameworkError, FW) == [m.FrameworkError(message="Framework failed over")]
    assert not of_type(out, m.FrameworkReregistered) and h.core.frameworks[fid].pid == NEW
    # The current instance re-registering after a disconnection (no failover) is re-registered.
    h.exited(NEW)
    out = h.send(NEW, m.ReregisterFramework(framework={"id": {"value": fid}, "name": "fw", "failover_timeout": 60.0}))
    assert of_type(out, m.FrameworkReregistered, NEW)


def test_past_the_failover_timeout_the_framework_is_torn_down() -> None:
    h, fid, _aid = running(failover_timeout=30.0)
    h.exited(FW)
    assert not of_type(h.advance(29.0), m.ShutdownFramework)
    out = h.advance(1.0)
    assert of_type(out, m.ShutdownFramework, AGENT) == [m.ShutdownFramework(framework_id=fid)]
    (err,) = of_type(h.send(NEW, _failover(fid)), m.FrameworkError, NEW)
    assert "removed" in err.message
