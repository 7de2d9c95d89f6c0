"""Decline filters are kept compact: one tuple per (framework, role, agent) when there is one
filter, a list only when several, equal refused resources one object; expiry and pruning as before."""

from __future__ import annotations

from actors.allocator import AllocatorCore
from actors.allocator.refusals import AgentFilters, add_filter, iter_filters, live
from actors.resources import Resources

R = Resources.parse


def test_one_filter_is_a_tuple_several_a_list_and_expired_ones_are_pruned() -> None:
    per_agent: AgentFilters = {}
    a, b = R("cpus:1"), R("cpus:2")
    add_filter(per_agent, "a1", a, 10.0)
    assert per_agent == {"a1": (a, 10.0)}
    add_filter(per_agent, "a1", b, 20.0)
    add_filter(per_agent, "a1", a, 30.0)
    assert per_agent["a1"] == [(a, 10.0), (b, 20.0), (a, 30.0)]
    assert list(iter_filters(per_agent)) == [("a1", (a, 10.0)), ("a1", (b, 20.0)), ("a1", (a, 30.0))]
    assert list(live(per_agent, "a1", 5.0)) == [(a, 10.0), (b, 20.0), (a, 30.0)]
    assert list(live(per_agent, "a1", 10.0)) == [(b, 20.0), (a, 30.0)]  # expiry is exclusive, as before
    assert per_agent["a1"] == [(b, 20.0), (a, 30.0)]
    assert list(live(per_agent, "a1", 25.0)) == [(a, 30.0)]
    assert per_agent["a1"] == (a, 30.0)  # one left: back to its tuple
    assert list(live(per_agent, "a1", 29.0)) == [(a, 30.0)]
    assert list(live(per_agent, "a1", 30.0)) == [] and per_agent == {}  # none left: the entry goes
    assert list(live(per_agent, "unknown", 0.0)) == []
    add_filter(per_agent, "a2", a, 1.0)
    add_filter(per_agent, "a2", b, 2.0)
    assert list(live(per_agent, "a2", 3.0)) == [] and per_agent == {}


def test_declines_of_equal_remainders_share_one_refused_resources_and_still_filter() -> None:
    al = AllocatorCore()
    al.add_framework("fw", ["*"])
    for aid in ("a1", "a2", "a3"):
        al.add_agent(aid, R("cpus:2;mem:1024"))
    offers = al.allocate(0.0)["fw"]
    assert len(offers) == 3 and offers["a1"] is not offers["a2"]
    for aid, res in offers.items():
        al.recover_resources("fw", aid, res, refuse_seconds=5.0, now=1.0)
    per_agent = al._filters["fw"]["*"]
    entries = [per_agent[aid] for aid in ("a1", "a2", "a3")]
    assert all(isinstance(e, tuple) and e[1] == 6.0 for e in entries)  # one filter each: no list
    assert entries[0][0] is entries[1][0] is entries[2][0] == R("cpus:2;mem:1024")  # interned
    assert al.allocate(5.999) == {}
    assert al.allocate(6.0) == {"fw": {aid: R("cpus:2;mem:1024") for aid in ("a1", "a2", "a3")}}
    assert al._filters["fw"]["*"] == {}  # the expired filters were removed when read


def test_a_second_filter_on_an_agent_makes_a_list_that_shrinks_back_as_filters_expire() -> None:
    al = AllocatorCore()
    al.add_framework("fw", ["*"])
    al.add_agent("a", R("cpus:2;mem:1024"))
    assert al.allocate(0.0) == {"fw": {"a": R("cpus:2;mem:1024")}}
    al.recover_resources("fw", "a", R("cpus:1;mem:512"), refuse_seconds=10.0, now=0.0)
    al.recover_resources("fw", "a", R("cpus:1;mem:512"), refuse_seconds=20.0, now=0.0)
    entry = al._filters["fw"]["*"]["a"]
    assert isinstance(entry, list) and [until for _, until in entry] == [10.0, 20.0]
    assert entry[0][0] is entry[1][0]  # equal refused resources: one object
    explained = al.explain("fw", 5.0)
    assert explained is not None and [f["until"] for f in explained["filters"]] == [10.0, 20.0]
    # everything is back on the agent, more than either filter refused: offered at once
    assert al.allocate(1.0) == {"fw": {"a": R("cpus:2;mem:1024")}}
    assert isinstance(al._filters["fw"]["*"]["a"], list)  # both still live at 1.0
    al.recover_resources("fw", "a", R("cpus:1;mem:512"), now=1.0)  # no filter
    assert al.allocate(12.0) == {}  # the 20 s filter still covers <1, 512>; the 10 s one was pruned
    assert al._filters["fw"]["*"]["a"] == (R("cpus:1;mem:512"), 20.0)
    assert al.allocate(20.0) == {"fw": {"a": R("cpus:1;mem:512")}}
    assert "a" not in al._filters["fw"]["*"]
