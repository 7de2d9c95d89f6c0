"""Hierarchical roles in the allocator cores (pure): the orders of Mesos' sorter_tests.cpp."""

from __future__ import annotations

import pytest

from actors.allocator import AllocatorCore, AllocatorError, DRFSorter, StrictPriorityAllocator
from actors.resources import Resources, ResourcesError
from actors.roles import ancestors, is_subrole, parent, role_error

R = Resources.parse


def cluster(allocations: dict[str, str], weights: dict[str, float] | None = None,
            cls: type[AllocatorCore] = AllocatorCore) -> AllocatorCore:
    """One agent <cpus:100;mem:100>; a framework ``f-<role>`` per role holding its allocation there."""
    al = cls(weights=weights)
    al.add_agent("x", R("cpus:100;mem:100"))
    for role, res in allocations.items():
        al.add_framework(f"f-{role}", [role], used={"x": R(res)} if res else None)
    return al


def test_hierarchical_iteration_order() -> None:
    """Mesos' DRFSorterTest.HierarchicalIterationOrder: a role with both frameworks and subroles."""
    al = cluster({"a/b": "", "c": "", "d": "", "d/e": ""})
    assert al.role_order() == ["a/b", "c", "d", "d/e"]
    al.remove_framework("f-c")
    al.add_framework("f-c", ["c"], used={"x": R("cpus:8;mem:8")})
    assert al.role_order() == ["a/b", "d", "d/e", "c"]
    al = cluster({"a/b": "", "c": "cpus:8;mem:8", "d": "cpus:3;mem:3", "d/e": "cpus:2;mem:2"})
    assert al.role_order() == ["a/b", "d/e", "d", "c"]  # d's subtree (0.05) before c (0.08)
    al = cluster({"a/b": "cpus:6;mem:6", "c": "cpus:8;mem:8", "d": "cpus:3;mem:3", "d/e": "cpus:2;mem:2"})
    assert al.role_order() == ["d/e", "d", "a/b", "c"]


def test_hierarchical_allocation_shares_count_along_the_tree() -> None:
    """Mesos' DRFSorterTest.HierarchicalAllocation: b's subtree competes with a as a whole."""
    al = cluster({"a": "cpus:6;mem:6", "b/c": "cpus:4;mem:4", "b/d": "cpus:3;mem:3"})
    assert al.role_order() == ["a", "b/d", "b/c"]  # b = 0.07 > a = 0.06, though b/c and b/d are lower
    al = cluster({"a": "cpus:8;mem:8", "b/c": "cpus:4;mem:4", "b/d": "cpus:3;mem:3", "b/e/f": "cpus:3.5;mem:3.5"})
    assert al.role_order() == ["a", "b/d", "b/e/f", "b/c"]
    al.remove_framework("f-b/e/f")
    assert al.role_order() == ["b/d", "b/c", "a"]


def test_weights_on_subtrees() -> None:
    """Mesos' DRFSorterTest.ChangeWeightOnSubtree: a weight applies to the whole subtree;
    a role's own frameworks compete with its subroles with weight 1."""
    w = {"a": 2.0, "b": 3.0}
    assert cluster({"a/x": "cpus:10;mem:10", "b/y": "cpus:10;mem:10"}, w).role_order() == ["b/y", "a/x"]
    al = cluster({"a/x": "cpus:10;mem:10", "b/y": "cpus:10;mem:10", "b/z": "cpus:5;mem:5"}, w)
    assert al.role_order() == ["b/z", "b/y", "a/x"]
    al = cluster({"a/x": "cpus:10;mem:10", "b/y": "cpus:10;mem:10", "b/z": "cpus:5;mem:5", "b": "cpus:4;mem:4"}, w)
    assert al.role_order() == ["a/x", "b", "b/z", "b/y"]
    al.add_framework("f-a/zz", ["a/zz"], used={"x": R("cpus:2;mem:2")})
    assert al.role_order() == ["a/zz", "a/x", "b", "b/z", "b/y"]


def test_allocation_splits_fairly_at_each_level() -> None:
    """eng/backend, eng/frontend and ops keeping all they are offered of 12 equal agents:
    eng and ops get half each, eng's half split between its two children."""
    al = AllocatorCore()
    for role in ("eng/backend", "eng/frontend", "ops"):
        al.add_framework(role, [role])
    for i in range(12):
        al.add_agent(f"a{i}", R("cpus:1;mem:1024"))
    offers = al.allocate(0.0)
    assert {fid: len(per_agent) for fid, per_agent in offers.items()} == {
        "eng/backend": 3, "eng/frontend": 3, "ops": 6}
    assert al.role_shares() == {"eng/backend": 0.25, "eng/frontend": 0.25, "ops": 0.5}


def test_weighted_parent_and_suppressed_sibling_still_counts() -> None:
    """A weight on eng doubles its subtree's share; a suppressed child's allocation still
    counts in its parent's share."""
    al = AllocatorCore(weights={"eng": 2.0})
    for role in ("eng/a", "eng/b", "ops"):
        al.add_framework(role, [role])
    for i in range(12):
        al.add_agent(f"a{i}", R("cpus:1;mem:1024"))
    offers = al.allocate(0.0)
    assert {fid: len(v) for fid, v in offers.items()} == {"eng/a": 4, "eng/b": 4, "ops": 4}
    al2 = AllocatorCore()
    al2.add_framework("eng/a", ["eng/a"], used={})
    al2.add_framework("ops", ["ops"])
    al2.add_framework("eng/b", ["eng/b"], suppressed_roles=["eng/b"])
    al2.add_agent("big", R("cpus:4;mem:4096"), used={"eng/b": R("cpus:3;mem:3072")})
    al2.add_agent("a0", R("cpus:1;mem:1024"))
    # eng's subtree holds 3/5 (all in eng/b): ops, below it, is offered the free agent
    assert list(al2.allocate(0.0)) == ["ops"]


def test_reservations_to_a_parent_role_go_to_its_subroles() -> None:
    al = AllocatorCore()
    al.add_framework("be", ["eng/backend"])
    al.add_framework("ops", ["ops"])
    al.add_agent("x", R("cpus(eng):2;mem(eng):512"))
    assert al.allocate(0.0) == {"be": {"x": R("cpus(eng):2;mem(eng):512")}}
    assert al.role_shares()["eng/backend"] == 1.0  # counted in the framework's own role
    al.recover_resources("be", "x", R("cpus(eng):2;mem(eng):512"), refuse_seconds=60.0, now=0.0)
    assert al.allocate(1.0) == {}  # never to ops, a sibling of eng
    assert R("cpus(eng):1;cpus(eng/backend):1;cpus(ops):1;cpus:1").for_role("eng/backend/db") == R(
        "cpus(eng):1;cpus(eng/backend):1;cpus:1")


def test_strict_priority_by_weight_at_each_level() -> None:
    al = StrictPriorityAllocator(weights={"eng": 5.0, "ops": 2.0, "eng/b": 3.0})
    for role in ("ops", "eng/a", "eng/b"):
        al.add_framework(role, [role])
    assert al.role_order() == ["eng/b", "eng/a", "ops"]


@pytest.mark.parametrize("role, words", [
    ("", "cannot be the empty string"),
    (".", "cannot include '.'"),
    ("..", "cannot include '..'"),
    ("a/./b", "cannot include '.'"),
    ("a/../b", "cannot include '..'"),
    ("a/*", "cannot include '*'"),
    ("-x", "'-x' is invalid because it starts with a dash"),
    ("a/-x", "'-x' is invalid because it starts with a dash"),
    ("a b", "'a b' is invalid because it contains whitespace"),
    ("a\tb", "contains whitespace"),
    ("a\x7fb", "contains whitespace or a control character"),
    ("a//b", "'a//b' cannot contain two adjacent slashes"),
    ("/a", "'/a' cannot start with a slash"),
    ("a/", "'a/' cannot end with a slash"),
    ("a(b)", "contains '('"),
    ("a,b", "contains ','"),
])
def test_invalid_role_names(role: str, words: str) -> None:
    error = role_error(role)
    assert error is not None and words in error
    with pytest.raises(AllocatorError, match="bad role"):
        AllocatorCore().add_framework("f", [role])


def test_valid_role_names_and_tree_helpers() -> None:
    for role in ("*", "web", "eng/backend", "a.b", "a-b", "a/b/c_d", "x..y", "a-"):
        assert role_error(role) is None, role
    assert (parent("a/b/c"), parent("a"), parent("*")) == ("a/b", "", "")
    assert ancestors("a/b/c") == ["a/b", "a"] and ancestors("a") == []
    assert is_subrole("eng/backend", "eng") and is_subrole("eng", "eng")
    assert not is_subrole("engineering", "eng") and not is_subrole("eng", "eng/backend")


def test_resources_reject_bad_roles() -> None:
    for text in ("cpus(a//b):1", "cpus(..):1", "cpus(-a):1", "cpus(a/):1"):
        with pytest.raises(ResourcesError, match="bad role"):
            R(text)
    assert R("cpus(eng/backend):2").roles() == {"eng/backend"}


def test_sorter_subtree_shares_and_cleanup() -> None:
    s = DRFSorter()
    s.add_total({"cpus": 10.0, "mem": 100.0})
    s.allocate("f1", "eng/backend/db", {"cpus": 2.0})
    s.allocate("f2", "eng", {"mem": 30.0})
    assert s.subtree_share("eng") == pytest.approx(0.3) and s.role_share("eng") == pytest.approx(0.3)
    assert s.subtree_share("eng/backend") == pytest.approx(0.2) and s.role_share("eng/backend") == 0.0
    s.unallocate("f2", "eng", {"mem": 30.0})
    assert s.subtree_share("eng") == pytest.approx(0.2)
    s.unallocate("f1", "eng/backend/db", {"cpus": 2.0})
    assert (s.roles, s.below, s.clients) == ({}, {}, {})  # nothing left behind
