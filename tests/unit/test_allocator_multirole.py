"""Multi-role frameworks in the allocator core (pure): allocations name their role,
DRF counts each role's part in that role, filters / revive / suppress are per role
(after Mesos' hierarchical_allocator_tests.cpp MultiRole* and *PerRole* tests)."""

from __future__ import annotations

from actors.allocator import AllocatorCore, StrictPriorityAllocator
from actors.resources import Resources

R = Resources.parse


def two_roles(agents: int = 1, resources: str = "cpus:2;mem:1024") -> AllocatorCore:
    al = AllocatorCore()
    for i in range(agents):
        al.add_agent(f"a{i}", R(resources))
    al.add_framework("fw", ["a", "b"])
    return al


def test_allocation_names_the_role_of_each_part() -> None:
    al = AllocatorCore()
    al.add_agent("x", R("cpus:2;mem:1024;cpus(b):1;mem(b):256"))
    al.add_framework("fw", ["a", "b"])
    offers = al.allocate_roles(0.0)
    # "a" sorts first (both shares 0) and takes the unreserved part; the reservation to b stays b's.
    assert offers == {"fw": {"x": {"a": R("cpus:2;mem:1024"), "b": R("cpus(b):1;mem(b):256")}}}
    assert al.role_shares() == {"a": 1024 / 1280, "b": 1 / 3}  # mem for a, cpus for b
    # allocate() keeps its flat shape: the sum over roles per agent
    al.remove_framework("fw")
    al.add_framework("fw", ["a", "b"])
    assert al.allocate(1.0) == {"fw": {"x": R("cpus:2;mem:1024;cpus(b):1;mem(b):256")}}


def test_drf_counts_each_role_of_a_multi_role_framework_in_that_role() -> None:
    al = two_roles(agents=2)
    offers = al.allocate_roles(0.0)["fw"]
    # One agent per role: after the first agent goes to "a", "b" has the lower share.
    assert sorted(role for per_role in offers.values() for role in per_role) == ["a", "b"]
    assert al.role_shares() == {"a": 0.5, "b": 0.5}
    aid_b = next(aid for aid, per_role in offers.items() if "b" in per_role)
    al.recover_resources("fw", aid_b, R("cpus:2;mem:1024"), role="b")
    assert al.role_shares() == {"a": 0.5, "b": 0.0}


def test_used_resources_reported_by_role_count_in_that_role() -> None:
    al = AllocatorCore()
    al.add_agent("x", R("cpus:4;mem:4096"), used={"fw": {"b": R("cpus:1;mem:1024"), "": R("cpus:1;mem:1024")}})
    al.add_framework("fw", ["a", "b"])  # added after the agent: the roles reported are kept
    assert al.role_shares() == {"a": 0.25, "b": 0.25}  # "" (unknown) goes to the first role
    al.add_agent("y", R("cpus:4;mem:4096"))
    al.add_framework("g", ["c"], used={"y": {"c": R("cpus:2;mem:2048")}})
    assert al.role_shares()["c"] == 0.25


def test_decline_filters_only_the_declined_role() -> None:
    al = two_roles()
    assert al.allocate_roles(0.0) == {"fw": {"a0": {"a": R("cpus:2;mem:1024")}}}
    al.recover_resources("fw", "a0", R("cpus:2;mem:1024"), role="a", refuse_seconds=60.0, now=0.0)
    # The same resources are offered in the other role at once.
    assert al.allocate_roles(1.0) == {"fw": {"a0": {"b": R("cpus:2;mem:1024")}}}
    al.recover_resources("fw", "a0", R("cpus:2;mem:1024"), role="b", refuse_seconds=60.0, now=1.0)
    assert al.allocate_roles(2.0) == {}
    assert al.allocate_roles(60.0) == {"fw": {"a0": {"a": R("cpus:2;mem:1024")}}}


def test_a_decline_without_a_role_filters_the_roles_it_was_allocated_in() -> None:
    al = two_roles()
    al.allocate_roles(0.0)
    al.recover_resources("fw", "a0", R("cpus:2;mem:1024"), refuse_seconds=60.0, now=0.0)
    assert al.allocate_roles(1.0) == {"fw": {"a0": {"b": R("cpus:2;mem:1024")}}}


def test_revive_clears_the_filters_of_the_given_roles_only() -> None:
    al = two_roles()
    al.allocate_roles(0.0)
    al.recover_resources("fw", "a0", R("cpus:2;mem:1024"), role="a", refuse_seconds=60.0)
    al.allocate_roles(1.0)
    al.recover_resources("fw", "a0", R("cpus:2;mem:1024"), role="b", refuse_seconds=60.0)
    al.revive("fw", ["b"])
    assert al.allocate_roles(2.0) == {"fw": {"a0": {"b": R("cpus:2;mem:1024")}}}
    al.recover_resources("fw", "a0", R("cpus:2;mem:1024"), role="b", refuse_seconds=60.0)
    al.revive("fw", ["a"])
    assert al.allocate_roles(3.0) == {"fw": {"a0": {"a": R("cpus:2;mem:1024")}}}
    al.recover_resources("fw", "a0", R("cpus:2;mem:1024"), role="a", refuse_seconds=60.0)
    al.revive("fw")  # all roles
    assert list(al.allocate_roles(4.0)["fw"]["a0"]) == ["a"]


def test_suppress_and_revive_per_role() -> None:
    al = two_roles()
    al.suppress("fw", ["a"])
    assert al.allocate_roles(0.0) == {"fw": {"a0": {"b": R("cpus:2;mem:1024")}}}
    al.recover_resources("fw", "a0", R("cpus:2;mem:1024"), role="b")
    al.suppress("fw", ["b"])
    assert al.allocate_roles(1.0) == {}
    al.revive("fw", ["a"])  # b stays suppressed
    assert al.allocate_roles(2.0) == {"fw": {"a0": {"a": R("cpus:2;mem:1024")}}}


def test_suppressed_roles_at_add_and_on_update() -> None:
    al = AllocatorCore()
    al.add_agent("x", R("cpus:2;mem:1024"))
    al.add_framework("fw", ["a", "b"], suppressed_roles=["a"])
    assert list(al.allocate_roles(0.0)["fw"]["x"]) == ["b"]
    al.recover_resources("fw", "x", R("cpus:2;mem:1024"))
    al.update_framework_roles("fw", ["a", "b"], suppressed_roles=["b"])
    assert list(al.allocate_roles(1.0)["fw"]["x"]) == ["a"]


def test_strict_priority_allocator_filters_per_role_too() -> None:
    al = StrictPriorityAllocator(weights={"a": 2.0})
    al.add_agent("x", R("cpus:2;mem:1024"))
    al.add_framework("fw", ["a", "b"])
    assert list(al.allocate_roles(0.0)["fw"]["x"]) == ["a"]
    al.recover_resources("fw", "x", R("cpus:2;mem:1024"), role="a", refuse_seconds=10.0)
    assert list(al.allocate_roles(1.0)["fw"]["x"]) == ["b"]
