"""The master core at scale: the deadline index (pings, failovers, offer timeouts) and offer messages."""

from __future__ import annotations

from actors.master.config import MasterConfig
from actors.master.core import MasterCore
from actors.master.model import Effect, Send
from actors.master.offers import MAX_OFFERS_PER_MESSAGE
from actors.resources import Resources
from transport import messages as m

FW = "scheduler(1)@127.0.0.1:7000"
RES = Resources.parse("cpus:4;mem:4096").to_dicts()


def _core(agents: int, at: float = 0.0, **flags: object) -> MasterCore:
    core = MasterCore(MasterConfig(**flags).validate(), "M", "master@127.0.0.1:5050")  # type: ignore[arg-type]
    for i in range(agents):
        core.handle(f"agent({i})@127.0.0.1:6000", m.RegisterAgent(agent={"hostname": f"h{i}", "resources": RES}),
                    at + i)
    return core


def _pings(effects: list[Effect]) -> list[str]:
    return [e.to for e in effects if isinstance(e, Send) and isinstance(e.message, m.PingAgent)]


def test_tick_pings_only_the_agents_due_and_next_deadline_follows() -> None:
    core = _core(3, agent_ping_timeout=15.0)  # registered at 0, 1, 2: pings due at 15, 16, 17
    assert core.next_deadline() == 15.0
    assert _pings(core.tick(14.9)) == []
    assert _pings(core.tick(15.0)) == ["agent(0)@127.0.0.1:6000"]
    assert core.next_deadline() == 16.0
    assert _pings(core.tick(17.0)) == ["agent(1)@127.0.0.1:6000", "agent(2)@127.0.0.1:6000"]
    assert core.next_deadline() == 30.0  # agent(0) pinged again at 15 + 15


def test_removed_agent_leaves_no_deadline() -> None:
    core = _core(1, agent_ping_timeout=15.0, max_agent_ping_timeouts=1)
    core.tick(15.0)  # ping sent, no pong
    core.tick(30.0)  # missed: unreachable, remembered for --registry_max_agent_age
    assert core.agents == {}
    assert core.next_deadline() == 30.0 + core.config.registry_max_agent_age
    assert core.tick(100.0) == []
    core.tick(30.0 + core.config.registry_max_agent_age)
    assert not core.registrar.registry.unreachable and core.next_deadline() is None


def test_pong_keeps_agent_and_offer_timeout_is_indexed() -> None:
    core = _core(1, agent_ping_timeout=15.0, max_agent_ping_timeouts=1, offer_timeout=5.0)
    out = core.handle(FW, m.RegisterFramework(framework={"user": "u", "name": "n"}), 0.0)
    fid = next(e.message.framework_id for e in out if isinstance(e, Send)
               and isinstance(e.message, m.FrameworkRegistered))
    (aid,) = core.agents
    core.offer({fid: {aid: Resources.parse("cpus:4;mem:4096")}}, 1.0)
    assert core.next_deadline() == 6.0  # the offer times out before the first ping
    out = core.tick(6.0)
    assert [type(e.message) for e in out if isinstance(e, Send)] == [m.RescindResourceOffer]
    assert core.offers == {} and core.next_deadline() == 15.0
    core.tick(15.0)
    core.handle("agent(0)@127.0.0.1:6000", m.PongAgent(), 15.5)
    core.tick(30.0)
    assert aid in core.agents


def test_many_offers_are_split_into_bounded_messages() -> None:
    n = MAX_OFFERS_PER_MESSAGE * 2 + 5
    core = _core(n)
    out = core.handle(FW, m.RegisterFramework(framework={"user": "u", "name": "n"}), 0.0)
    fid = next(e.message.framework_id for e in out if isinstance(e, Send)
               and isinstance(e.message, m.FrameworkRegistered))
    total = Resources.parse("cpus:4;mem:4096")
    out = core.offer({fid: {aid: total for aid in core.agents}}, 1.0)
    batches = [e.message.offers for e in out if isinstance(e, Send) and isinstance(e.message, m.ResourceOffers)]
    assert [len(b) for b in batches] == [MAX_OFFERS_PER_MESSAGE, MAX_OFFERS_PER_MESSAGE, 5]
    assert {o["agent_id"]["value"] for b in batches for o in b} == set(core.agents)
