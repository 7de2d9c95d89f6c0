"""Unit tests of the allocator cores (pure; time is passed in)."""

from __future__ import annotations

import pytest

from actors.allocator import (
    MAX_REFUSE_SECONDS,
    AllocatorCore,
    AllocatorError,
    HierarchicalDRFAllocator,
    StrictPriorityAllocator,
    load_allocator,
)
from actors.resources import EMPTY, Resources

R = Resources.parse


def decline_all(al: AllocatorCore, offers: dict[str, dict[str, Resources]], refuse: float | None = 0.0,
                now: float = 0.0) -> None:
    for fid, per_agent in offers.items():
        for aid, res in per_agent.items():
            al.recover_resources(fid, aid, res, refuse_seconds=refuse, now=now)


# ------------------------------------------------------------ paper examples
def test_mesos_paper_example() -> None:
    al = AllocatorCore()
    al.add_framework("fw1", ["*"])
    al.add_framework("fw2", ["*"])
    al.add_agent("a1", R("cpus:4;mem:4096"))
    offers = al.allocate(0.0)
    assert offers == {"fw1": {"a1": R("cpus:4;mem:4096")}}
    # fw1 launches <2 cpus, 1 GB> and <1 cpu, 2 GB> and declines the rest
    used = R("cpus:2;mem:1024") + R("cpus:1;mem:2048")
    al.recover_resources("fw1", "a1", offers["fw1"]["a1"] - used, refuse_seconds=0.0, now=0.0)
    assert al.allocated("fw1") == {"a1": R("cpus:3;mem:3072")}
    assert al.shares() == {"fw1": 0.75, "fw2": 0.0}
    assert al.allocate(1.0) == {"fw2": {"a1": R("cpus:1;mem:1024")}}
    assert al.allocate(2.0) == {}


def test_drf_paper_example() -> None:
    al = AllocatorCore()
    al.add_framework("A", ["*"])
    al.add_framework("B", ["*"])
    al.add_agent("agent", R("cpus:9;mem:18432"))
    task = {"A": R("cpus:1;mem:4096"), "B": R("cpus:3;mem:1024")}
    launched = {"A": 0, "B": 0}
    for cycle in range(20):
        for fid, per_agent in al.allocate(float(cycle)).items():
            for aid, offer in per_agent.items():
                if offer.contains(task[fid]):  # take one task, decline the rest
                    launched[fid] += 1
                    offer = offer - task[fid]
                al.recover_resources(fid, aid, offer, refuse_seconds=0.0, now=float(cycle))
    assert launched == {"A": 3, "B": 2}
    shares = al.shares()
    assert shares["A"] == pytest.approx(2 / 3) and shares["B"] == pytest.approx(2 / 3)
    assert al.available("agent") == R("mem:4096")


def test_weights_two_to_one() -> None:
    al = AllocatorCore(weights={"gold": 2.0, "silver": 1.0})
    al.add_framework("g", ["gold"])
    al.add_framework("s", ["silver"])
    for i in range(300):
        al.add_agent(f"a{i}", R("cpus:1;mem:1024"))
    offers = al.allocate(0.0)  # both keep everything they are offered
    assert len(offers["g"]) + len(offers["s"]) == 300
    shares = al.shares()
    assert shares["g"] / shares["s"] == pytest.approx(2.0, rel=0.02)
    assert al.role_shares() == {"gold": shares["g"], "silver": shares["s"]}


def test_drf_within_role_balances_frameworks() -> None:
    al = AllocatorCore()
    for f in ("f1", "f2", "f3"):
        al.add_framework(f, ["r"])
    for i in range(30):
        al.add_agent(f"a{i}", R("cpus:2;mem:2048"))
    offers = al.allocate(0.0)
    assert sorted(len(v) for v in offers.values()) == [10, 10, 10]


# ------------------------------------------------------------------- filters
def test_filter_expires_at_now_plus_refuse() -> None:
    al = AllocatorCore()
    al.add_framework("fw", ["*"])
    al.add_agent("a", R("cpus:2;mem:1024"))
    decline_all(al, al.allocate(0.0), refuse=5.0, now=10.0)
    assert al.allocate(10.0) == {}
    assert al.allocate(14.999) == {}
    assert al.allocate(15.0) == {"fw": {"a": R("cpus:2;mem:1024")}}


def test_filter_only_covers_refused_resources_and_other_frameworks_still_offered() -> None:
    al = AllocatorCore()
    al.add_framework("f1", ["*"])
    al.add_framework("f2", ["*"])
    al.add_agent("a", R("cpus:2;mem:1024"))
    decline_all(al, al.allocate(0.0), refuse=60.0)
    assert al.allocate(1.0) == {"f2": {"a": R("cpus:2;mem:1024")}}
    # f2 used a part and gives back a bigger set later: f1's filter no longer covers it
    al.recover_resources("f2", "a", R("cpus:1;mem:512"), now=2.0)
    # f1 (share 0) is filtered: its refused <2, 1024> contain <1, 512>; f2 gets them
    assert al.allocate(2.0) == {"f2": {"a": R("cpus:1;mem:512")}}
    al2 = AllocatorCore()
    al2.add_framework("f1", ["*"])
    al2.add_agent("a", R("cpus:2;mem:1024"))
    al2.recover_resources("f1", "a", EMPTY)  # nothing allocated: ignored
    decline_all(al2, al2.allocate(0.0), refuse=60.0)
    al2.remove_agent("a")
    al2.add_agent("a", R("cpus:4;mem:1024"))  # more than was refused: offered again
    assert al2.allocate(1.0) == {"f1": {"a": R("cpus:4;mem:1024")}}


def test_refuse_seconds_cap_negative_and_zero() -> None:
    al = AllocatorCore(default_refuse_seconds=5.0)
    al.add_framework("fw", ["*"])
    al.add_agent("a", R("cpus:1;mem:64"))
    t = MAX_REFUSE_SECONDS
    decline_all(al, al.allocate(0.0), refuse=1e12)  # capped at 365 days
    assert al.allocate(t - 1) == {}
    assert al.allocate(t) != {}
    decline_all(al, {"fw": al.allocated("fw")}, refuse=-1.0, now=t + 100)  # negative: the default
    assert al.allocate(t + 104) == {}
    assert al.allocate(t + 105) != {}
    decline_all(al, {"fw": al.allocated("fw")}, refuse=float("nan"), now=t + 200)  # NaN: the default
    assert al.allocate(t + 204) == {}
    assert al.allocate(t + 205) != {}
    decline_all(al, {"fw": al.allocated("fw")}, refuse=0.0, now=t + 300)
    assert al.allocate(t + 300) != {}
    with pytest.raises(AllocatorError, match="refuse_seconds must be a number, got 'x'"):
        al.recover_resources("fw", "a", EMPTY, refuse_seconds="x")  # type: ignore[arg-type]


def test_revive_clears_filters() -> None:
    al = AllocatorCore()
    al.add_framework("fw", ["*"])
    al.add_agent("a", R("cpus:1;mem:64"))
    decline_all(al, al.allocate(0.0), refuse=1000.0)
    assert al.allocate(1.0) == {}
    al.revive("fw")
    assert al.allocate(2.0) == {"fw": {"a": R("cpus:1;mem:64")}}


def test_suppress_stops_offers_until_revive() -> None:
    al = AllocatorCore()
    al.add_framework("fw", ["r1", "r2"], suppressed_roles=["r2"])
    al.add_agent("a", R("cpus:1;mem:64"))
    al.suppress("fw")
    assert al.allocate(0.0) == {}
    al.revive("fw", ["r2"])
    assert al.allocate(1.0) == {"fw": {"a": R("cpus:1;mem:64")}}
    decline_all(al, {"fw": al.allocated("fw")})
    al.suppress("fw", ["r2"])
    assert al.allocate(2.0) == {}
    with pytest.raises(AllocatorError, match=r"roles \['zz'\] are not among"):
        al.suppress("fw", ["zz"])


# ------------------------------------------------------------- reservations
def test_reserved_resources_only_to_their_role() -> None:
    al = AllocatorCore()
    al.add_framework("web", ["web"])
    al.add_framework("batch", ["batch"])
    al.add_agent("a", R("cpus:2;mem:1024;cpus(web):4;mem(web):2048"))
    al.suppress("batch")
    offers = al.allocate(0.0)
    assert offers == {"web": {"a": R("cpus:2;mem:1024;cpus(web):4;mem(web):2048")}}
    decline_all(al, offers)
    al.revive("batch")
    al.suppress("web")
    assert al.allocate(1.0) == {"batch": {"a": R("cpus:2;mem:1024")}}
    assert al.available("a") == R("cpus(web):4;mem(web):2048")


def test_reserved_and_unreserved_split_in_one_cycle() -> None:
    al = AllocatorCore()
    al.add_framework("batch", ["batch"])
    al.add_framework("web", ["web"])
    al.add_agent("a", R("cpus:2;mem:1024;cpus(web):4;mem(web):2048"))
    assert al.allocate(0.0) == {"batch": {"a": R("cpus:2;mem:1024")}, "web": {"a": R("cpus(web):4;mem(web):2048")}}


def test_multi_role_framework_gets_both_roles_offers() -> None:
    al = AllocatorCore()
    al.add_framework("fw", ["a", "b"])
    al.add_agent("x", R("cpus:1;mem:64;cpus(a):1;cpus(b):1"))
    offers = al.allocate(0.0)
    assert offers == {"fw": {"x": R("cpus:1;mem:64;cpus(a):1;cpus(b):1")}}
    assert set(al.role_shares()) == {"a", "b"}
    al.recover_resources("fw", "x", R("cpus(b):1"), role="b")
    assert al.allocated("fw") == {"x": R("cpus:1;mem:64;cpus(a):1")}


# -------------------------------------------------------------- lifecycle
def test_inactive_frameworks_get_nothing() -> None:
    al = AllocatorCore()
    al.add_framework("fw", ["*"], active=False)
    al.add_agent("a", R("cpus:1;mem:64"))
    assert al.allocate(0.0) == {}
    al.activate_framework("fw")
    offers = al.allocate(1.0)
    assert offers == {"fw": {"a": R("cpus:1;mem:64")}}
    decline_all(al, offers, refuse=100.0, now=1.0)
    al.deactivate_framework("fw")  # clears filters too
    al.activate_framework("fw")
    assert al.allocate(2.0) == offers


def test_remove_agent_cleans_up() -> None:
    al = AllocatorCore()
    al.add_framework("fw", ["*"])
    al.add_agent("a", R("cpus:2;mem:1024"))
    al.add_agent("b", R("cpus:2;mem:1024"))
    offers = al.allocate(0.0)
    assert set(offers["fw"]) == {"a", "b"}
    decline_all(al, {"fw": {"a": offers["fw"]["a"]}}, refuse=100.0)
    al.remove_agent("a")
    al.remove_agent("a")  # unknown: ignored
    assert al.allocated("fw") == {"b": R("cpus:2;mem:1024")}
    assert al.shares() == {"fw": 1.0}
    assert al.available("a") == EMPTY
    al.recover_resources("fw", "a", R("cpus:1"))  # ignored
    al.add_agent("a", R("cpus:2;mem:1024"))
    assert al.allocate(1.0) == {"fw": {"a": R("cpus:2;mem:1024")}}  # filter gone with the agent


def test_remove_framework_returns_its_resources() -> None:
    al = AllocatorCore()
    al.add_framework("f1", ["*"])
    al.add_framework("f2", ["*"])
    al.add_agent("a", R("cpus:2;mem:1024"))
    assert al.allocate(0.0) == {"f1": {"a": R("cpus:2;mem:1024")}}
    al.remove_framework("f1")
    al.remove_framework("f1")
    assert al.allocated("f1") == {} and set(al.shares()) == {"f2"}
    assert al.allocate(1.0) == {"f2": {"a": R("cpus:2;mem:1024")}}
    al.recover_resources("f1", "a", R("cpus:1"))  # ignored


def test_used_resources_on_reregistration() -> None:
    al = AllocatorCore()
    al.add_agent("a", R("cpus:4;mem:4096"), used={"fw": R("cpus:1;mem:1024")})
    assert al.available("a") == R("cpus:3;mem:3072")
    assert al.shares() == {}  # not yet added: tracked, not shared
    al.add_framework("fw", ["r"], used={"a": R("cpus:1;mem:1024"), "ghost": R("cpus:1")})
    assert al.allocated("fw") == {"a": R("cpus:1;mem:1024")}  # reported twice, counted once
    assert al.shares()["fw"] == 0.25 and al.role_shares() == {"r": 0.25}
    al.add_framework("other", ["*"])
    assert al.allocate(0.0) == {"other": {"a": R("cpus:3;mem:3072")}}
    al.recover_resources("fw", "a", R("cpus:1;mem:1024"))  # task finished, no filter
    assert al.available("a") == R("cpus:1;mem:1024")


def test_update_framework_roles() -> None:
    al = AllocatorCore()
    al.add_framework("fw", ["a"])
    al.add_agent("x", R("cpus:1;mem:64"))
    al.allocate(0.0)
    al.update_framework_roles("fw", ["b"])
    assert al.role_shares()["a"] == 1.0  # counted in the old role until recovered
    decline_all(al, {"fw": al.allocated("fw")})
    assert al.allocate(1.0) == {"fw": {"x": R("cpus:1;mem:64")}}
    assert al.role_shares() == {"b": 1.0}


def test_empty_cycles_and_determinism() -> None:
    def run(seed: int) -> dict[str, dict[str, Resources]]:
        al = AllocatorCore(seed=seed)
        assert al.allocate(0.0) == {}
        for f in range(3):
            al.add_framework(f"f{f}", ["*"])
        for i in range(20):
            al.add_agent(f"a{i}", R("cpus:1;mem:64"))
        offers = al.allocate(0.0)
        assert al.allocate(0.0) == {}
        return offers

    assert run(7) == run(7)


def test_min_allocatable_and_crumbs() -> None:
    al = AllocatorCore()
    al.add_framework("fw", ["*"])
    al.add_agent("a", R("cpus:0.005;mem:16;disk:100"))
    assert al.allocate(0.0) == {}
    al2 = AllocatorCore(min_allocatable=[{"disk": 50.0}])
    al2.add_framework("fw", ["*"])
    al2.add_agent("a", R("cpus:0.005;mem:16;disk:100"))
    assert al2.allocate(0.0) == {"fw": {"a": R("cpus:0.005;mem:16;disk:100")}}


# ---------------------------------------------------------- strict priority
def test_strict_priority() -> None:
    al = StrictPriorityAllocator(weights={"high": 10.0, "low": 1.0})
    al.add_framework("low1", ["low"])
    al.add_framework("high2", ["high"])
    al.add_framework("high1", ["high"])
    for i in range(5):
        al.add_agent(f"a{i}", R("cpus:1;mem:64"))
    offers = al.allocate(0.0)
    assert list(offers) == ["high2"] and len(offers["high2"]) == 5  # first registered in top role
    decline_all(al, offers, refuse=0.0)
    assert list(al.allocate(1.0)) == ["high2"]  # declining without a filter: offered again
    decline_all(al, {"high2": al.allocated("high2")}, refuse=30.0, now=1.0)
    assert list(al.allocate(2.0)) == ["high1"]
    al.suppress("high1")
    decline_all(al, {"high1": al.allocated("high1")})
    assert list(al.allocate(3.0)) == ["low1"]


# ------------------------------------------------------------------ errors
def test_errors_name_the_bad_value() -> None:
    al = AllocatorCore()
    al.add_framework("fw", ["*"])
    al.add_agent("a", R("cpus:1"))
    for call, msg in [
        (lambda: al.add_framework("fw", ["*"]), "framework 'fw' is already added"),
        (lambda: al.add_agent("a", R("cpus:1")), "agent 'a' is already added"),
        (lambda: al.add_agent("", R("cpus:1")), "agent_id must be a non-empty string, got ''"),
        (lambda: al.add_agent("b", "cpus:1"), "must be Resources, got 'cpus:1'"),  # type: ignore[arg-type]
        (lambda: al.add_framework("g", ["a b"]), "bad role 'a b'"),
        (lambda: al.add_framework("g", "web"), "roles must be a list of strings, got 'web'"),  # type: ignore[arg-type]
        (lambda: al.add_framework("g", ["x"], suppressed_roles=["y"]), "suppressed roles ['y'] are not in ['x']"),
        (lambda: al.set_weights({"r": 0}), "weight of role 'r' must be > 0, got 0"),
        (lambda: al.set_weights({"r": -2.5}), "got -2.5"),
        (lambda: AllocatorCore(default_refuse_seconds=-1), "default_refuse_seconds must be >= 0, got -1"),
    ]:
        with pytest.raises(AllocatorError) as err:
            call()
        assert msg in str(err.value)


def test_unknown_ids_are_ignored() -> None:
    al = AllocatorCore()
    for call in (al.activate_framework, al.deactivate_framework, al.revive, al.suppress, al.remove_framework,
                 al.remove_agent):
        call("nope")
    al.update_framework_roles("nope", ["x"])
    al.recover_resources("nope", "nope", R("cpus:1"), refuse_seconds=5.0)


def test_load_allocator() -> None:
    assert load_allocator("drf") is HierarchicalDRFAllocator
    assert load_allocator("Hierarchical") is HierarchicalDRFAllocator
    assert load_allocator("") is HierarchicalDRFAllocator
    assert load_allocator("strict") is StrictPriorityAllocator
    assert load_allocator("priority") is StrictPriorityAllocator
    assert load_allocator("actors.allocator.strict.StrictPriorityAllocator") is StrictPriorityAllocator
    for name, msg in [
        ("fair", "unknown allocator 'fair'"),
        ("no_such_mod.Cls", "cannot import 'no_such_mod'"),
        ("actors.allocator.core.Nope", "'Nope' is not an AllocatorCore subclass"),
        ("actors.resources.Resources", "'Resources' is not an AllocatorCore subclass"),
        (3, "allocator name must be a string, got 3"),
    ]:
        with pytest.raises(AllocatorError) as err:
            load_allocator(name)  # type: ignore[arg-type]
        assert msg in str(err.value)


def test_equal_shares_go_to_the_framework_offered_least_not_to_the_first_registered() -> None:
    """Many idle frameworks registered first must not starve one that arrives last: each
    declines what it is offered (share back to 0), and the next offer goes to whoever has
    been offered least (Mesos' allocation-count tie-break), so the newcomer gets its turn."""
    al = AllocatorCore()
    for i in range(5):
        al.add_framework(f"idle{i}", ["*"])
    al.add_agent("a1", R("cpus:1;mem:128"))
    seen: list[str] = []
    for cycle in range(5):
        offers = al.allocate(float(cycle))
        seen.extend(offers)
        decline_all(al, offers, now=float(cycle))
    assert sorted(seen) == [f"idle{i}" for i in range(5)]  # each once: not idle0 five times
    al.add_framework("late", ["*"])
    offers = al.allocate(10.0)
    assert list(offers) == ["late"]


def test_offer_counts_are_forgotten_with_the_framework() -> None:
    al = AllocatorCore()
    al.add_framework("f", ["*"])
    al.add_agent("a1", R("cpus:1;mem:128"))
    decline_all(al, al.allocate(0.0))
    assert al._sorter.offers == {("f", "*"): 1}
    al.remove_framework("f")
    assert al._sorter.offers == {}
