"""A RegisterAgent from an address the master knows: a retry of the same agent, or a new agent
(Mesos' ``registerSlave``): a restarted agent that did not recover is a new agent, and the
one that registered there before is removed."""

from __future__ import annotations

from tests.unit.master_helpers import AGENT, FW, Harness, of_type, running
from actors.master.model import LinkTo
from actors.resources import Resources
from transport import messages as m


def _register(h: Harness, resources: str, attributes: list[dict[str, object]] | None = None) -> list[object]:
    agent = {"hostname": "h1", "resources": Resources.parse(resources).to_dicts(), "attributes": attributes or []}
    return h.send(AGENT, m.RegisterAgent(agent=agent))  # type: ignore[return-value]


def test_a_retry_from_the_connected_agent_gets_the_same_id() -> None:
    h = Harness()
    aid = h.agent(AGENT, "cpus:4;mem:4096")
    out = _register(h, "cpus:4;mem:4096")
    assert [r.agent_id for r in of_type(out, m.AgentRegistered, AGENT)] == [aid]  # type: ignore[arg-type]
    assert list(h.core.agents) == [aid]


def test_an_agent_registering_where_a_disconnected_one_was_is_new_and_the_old_one_removed() -> None:
    h, fid, aid = running("t1")
    h.exited(AGENT)  # the agent's process ended (SIGTERM), its checkpoint not recovered
    out = _register(h, "cpus:8;mem:8192", [{"name": "rack", "type": "TEXT", "text": {"value": "b"}}])
    (reply,) = of_type(out, m.AgentRegistered, AGENT)  # type: ignore[arg-type]
    assert reply.agent_id != aid
    assert list(h.core.agents) == [reply.agent_id]
    assert aid in h.core.removed_agents
    assert h.core.agents[reply.agent_id].total == Resources.parse("cpus:8;mem:8192")
    assert h.core.agents[reply.agent_id].info["attributes"][0]["text"] == {"value": "b"}
    assert [x.agent_id for x in of_type(out, m.AgentLost, FW)] == [aid]  # type: ignore[arg-type]
    assert LinkTo(AGENT) in out  # the new incarnation is watched, like the first
    state = h.core.state(h.now)
    assert [s["id"] for s in state["slaves"]] == [reply.agent_id]
    assert state["slaves"][0]["resources"]["cpus"] == 8


def test_changed_resources_or_attributes_from_a_connected_address_make_a_new_agent() -> None:
    h = Harness()
    first = h.agent(AGENT, "cpus:4;mem:4096")
    out = _register(h, "cpus:2;mem:4096")
    (second,) = [r.agent_id for r in of_type(out, m.AgentRegistered, AGENT)]  # type: ignore[arg-type]
    assert second != first and list(h.core.agents) == [second]
    out = _register(h, "cpus:2;mem:4096", [{"name": "rack", "type": "TEXT", "text": {"value": "a"}}])
    (third,) = [r.agent_id for r in of_type(out, m.AgentRegistered, AGENT)]  # type: ignore[arg-type]
    assert third not in (first, second) and list(h.core.agents) == [third]
    assert h.core.removed_agents >= {first, second}
