"""Quota in the allocator core (pure): limits cap what a role is offered, guarantees are
set aside for their role even when it declines or has no framework (Mesos 1.9+ semantics;
after hierarchical_allocator_tests.cpp Quota* tests)."""

from __future__ import annotations

import pytest

from actors.allocator import AllocatorCore, AllocatorError, StrictPriorityAllocator
from actors.allocator.quota import check_quota, cut_unreserved
from actors.resources import EMPTY, Resources

R = Resources.parse
HOUR = 3600.0


def cluster(agents: int, resources: str = "cpus:2;mem:1024", cls: type[AllocatorCore] = AllocatorCore
            ) -> AllocatorCore:
    al = cls()
    for i in range(agents):
        al.add_agent(f"a{i}", R(resources))
    return al


def offered(offers: dict[str, dict[str, Resources]], fid: str) -> Resources:
    return sum(offers.get(fid, {}).values(), EMPTY)


def test_a_limit_caps_the_unreserved_part_offered_to_the_role() -> None:
    al = cluster(2, "cpus:4;mem:4096")
    al.set_quota("a", limits={"cpus": 3})
    al.add_framework("fa", ["a"])
    first = offered(al.allocate(0.0), "fa")
    assert first.scalar("cpus") == 3.0  # 4 on the first agent cut to 3; nothing more on the second
    assert first.scalar("mem") == 8192.0  # mem has no limit
    al.recover_resources("fa", "a0", al.allocated("fa")["a0"])
    again = offered(al.allocate(1.0), "fa")
    assert again.scalar("cpus") <= 3.0  # recovered and offered again: still within the limit in all


def test_without_quota_the_same_cluster_is_offered_whole() -> None:
    al = cluster(2, "cpus:4;mem:4096")
    al.add_framework("fa", ["a"])
    assert offered(al.allocate(0.0), "fa") == R("cpus:8;mem:8192")


def test_a_limit_counts_the_whole_subtree() -> None:
    al = cluster(3, "cpus:2;mem:1024")
    al.set_quota("eng", limits={"cpus": 3, "mem": 100000})
    al.add_framework("back", ["eng/backend"])
    al.add_framework("front", ["eng/frontend"])
    offers = al.allocate(0.0)
    assert (offered(offers, "back") + offered(offers, "front")).scalar("cpus") == 3.0


def test_a_guarantee_is_set_aside_while_its_role_declines() -> None:
    al = cluster(2)
    al.set_quota("q", guarantees={"cpus": 2, "mem": 1024}, limits={"cpus": 2, "mem": 1024})
    al.add_framework("fq", ["q"])
    al.add_framework("fo", ["o"])
    offers = al.allocate(0.0)
    assert offered(offers, "fq") == R("cpus:2;mem:1024")  # stage 1: the guarantee first
    assert offered(offers, "fo") == R("cpus:2;mem:1024")
    (agent,) = offers["fq"]
    al.recover_resources("fq", agent, offers["fq"][agent], refuse_seconds=HOUR, now=0.0)
    # fq declined for an hour: its guarantee stays unallocated, fo gets none of it
    assert al.allocate(1.0) == {}
    assert al.available(agent) == R("cpus:2;mem:1024")
    al.remove_quota("q")
    assert offered(al.allocate(2.0), "fo") == R("cpus:2;mem:1024")


def test_a_guarantee_is_kept_for_a_role_with_no_framework() -> None:
    al = cluster(4)
    al.set_quota("q", guarantees={"cpus": 3})
    al.add_framework("fo", ["o"])
    got = offered(al.allocate(0.0), "fo")
    assert got.scalar("cpus") == 5.0  # 8 minus the 3 set aside
    assert got.scalar("mem") == 4096.0  # mem is not guaranteed to anyone


def test_the_guarantee_is_met_first_even_when_another_role_sorts_first() -> None:
    al = cluster(2, cls=StrictPriorityAllocator)
    al.set_weights({"o": 10.0})
    al.set_quota("q", guarantees={"cpus": 2})
    al.add_framework("fo", ["o"])
    al.add_framework("fq", ["q"])
    offers = al.allocate(0.0)
    assert offered(offers, "fq").scalar("cpus") == 2.0
    assert offered(offers, "fo").scalar("cpus") == 2.0


def test_beyond_its_guarantee_a_role_competes_within_the_headroom() -> None:
    al = cluster(3)
    al.set_quota("q", guarantees={"cpus": 2, "mem": 1024})
    al.add_framework("fq", ["q"])
    offers = al.allocate(0.0)
    assert offered(offers, "fq") == R("cpus:6;mem:3072")  # no limit: the rest too, once guaranteed


def test_reservations_to_the_role_count_toward_its_consumption() -> None:
    al = AllocatorCore()
    al.add_agent("a0", R("cpus(q):2;mem(q):512;cpus:2;mem:1024"))
    al.set_quota("q", limits={"cpus": 3})
    al.add_framework("fq", ["q"])
    got = offered(al.allocate(0.0), "fq")
    assert got == R("cpus(q):2;mem(q):512;cpus:1;mem:1024")  # the reservation is never cut


def test_quota_is_validated_naming_the_bad_value() -> None:
    al = AllocatorCore()
    with pytest.raises(AllocatorError, match="guarantee cpus:4 is above its limit cpus:2"):
        al.set_quota("q", guarantees={"cpus": 4}, limits={"cpus": 2})
    with pytest.raises(AllocatorError, match="mem must be a number >= 0, got -1"):
        al.set_quota("q", limits={"mem": -1})
    with pytest.raises(AllocatorError, match="bad quota role '\\.\\.'"):
        al.set_quota("..", limits={"mem": 1})
    with pytest.raises(AllocatorError, match="default role"):
        al.set_quota("*", limits={"mem": 1})
    assert al.quotas() == {}
    al.set_quota("q", guarantees={"cpus": 1})
    assert check_quota("q", {"cpus": 1}, None) == al.quotas()["q"]
    al.set_quota("q")  # empty: removed
    assert al.quotas() == {}


def test_cut_unreserved_leaves_reservations_and_ranges() -> None:
    res = R("cpus:4;cpus(r):1;mem:100;ports:[1-5]")
    assert cut_unreserved(res, {"cpus": 1.5, "mem": 0}) == R("cpus:1.5;cpus(r):1;ports:[1-5]")
