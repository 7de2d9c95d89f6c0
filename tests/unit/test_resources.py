"""Unit tests of actors.resources (pure)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.resources import (
    EMPTY,
    MIN_CPUS,
    MIN_MEM,
    Resources,
    ResourcesError,
    is_allocatable,
    parse_min_allocatable,
)

R = Resources.parse
AGENT = "cpus:4;mem:4096;disk:10240;ports:[31000-32000]"


# ------------------------------------------------------------------ parsing
def test_parse_agent_flag() -> None:
    r = R(AGENT)
    assert r.scalar("cpus") == 4.0 and r.scalar("mem") == 4096.0 and r.scalar("disk") == 10240.0
    assert r.ranges("ports") == [(31000, 32000)]
    assert r.names() == {"cpus", "mem", "disk", "ports"}
    assert str(r) == AGENT


def test_parse_roles_whitespace_and_multiple_ranges() -> None:
    r = R(" cpus(web) : 2 ; mem:1024;  ports:[1-2, 5-10 ,3-4] ;")
    assert r.reserved("web") == Resources({("cpus", "web"): 2})
    assert r.ranges("ports") == [(1, 10)]  # adjacent ranges merge
    assert str(r) == "cpus(web):2;mem:1024;ports:[1-10]"
    assert R("ports:[1-2,5-10]").ranges("ports") == [(1, 2), (5, 10)]


def test_parse_default_role_and_duplicates_sum() -> None:
    r = R("cpus:1;cpus:2.5;mem(*):10", default_role="batch")
    assert r == Resources({("cpus", "batch"): 3.5, ("mem", "*"): 10})
    assert str(r) == "cpus(batch):3.5;mem:10"


@pytest.mark.parametrize(
    "text",
    [AGENT, "cpus(r):2;cpus:1.5;mem:0.125", "ports(a):[1-1,3-5];disk:1", "gpus:1;ports:[1-1]", ""],
)
def test_round_trips(text: str) -> None:
    r = R(text)
    assert R(str(r)) == r
    assert Resources.from_dicts(r.to_dicts()) == r
    assert R(json.dumps(r.to_dicts())) == r


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cpus:abc", "bad resource 'cpus:abc': 'abc' is not a number"),
        ("cpus:-1", "bad resource 'cpus:-1': cpus must be >= 0, got -1"),
        ("cpus:nan", "'nan' is not a number"),
        ("cpus:inf", "'inf' is not a number"),
        (":4", "bad resource ':4': empty name"),
        ("(r):4", "empty name"),
        ("cpus():4", "empty role"),
        ("cpus(r:4", "bad role"),
        ("cpus", "bad resource 'cpus': expected name:value"),
        ("ports:[5-1]", "bad resource 'ports:[5-1]': range begin 5 > end 1"),
        ("ports:[1-2", "unterminated ranges"),
        ("ports:[a-b]", "'a-b' is not a range"),
        ("ports:[7]", "'7' is not a range"),
        ("ports:[-1-5]", "is not a range"),
        ("x:{a,b}", "set resources are not supported"),
        ("cpus:1;cpus:[1-2]", "'cpus' given as both scalar and ranges"),
        ("[1, 2", "bad resources JSON"),
        ('[{"name": "cpus"}]', "unknown type None"),
    ],
)
def test_parse_errors_name_the_bad_text(text: str, message: str) -> None:
    with pytest.raises(ResourcesError) as err:
        R(text)
    assert message in str(err.value)
    assert isinstance(err.value, ValueError)


def test_parse_rejects_non_string_and_non_list_json() -> None:
    with pytest.raises(ResourcesError, match="must be a string"):
        R(3)  # type: ignore[arg-type]
    with pytest.raises(ResourcesError, match="bad resource 1: expected a dict"):
        R("[1]")


# ---------------------------------------------------------------- v1 dicts
def test_to_dicts_shape() -> None:
    assert R("cpus:2;ports:[31000-32000]").to_dicts() == [
        {"name": "cpus", "type": "SCALAR", "scalar": {"value": 2.0}, "role": "*"},
        {"name": "ports", "type": "RANGES", "role": "*", "ranges": {"range": [{"begin": 31000, "end": 32000}]}},
    ]


def test_from_dicts_lenient_shapes() -> None:
    r = Resources.from_dicts([
        {"name": "cpus", "scalar": {"value": 1}, "extra": "ignored", "allocation_info": {"role": "x"}},
        {"name": "mem", "type": "SCALAR", "scalar": {"value": 512.5}, "role": "r"},
        {"name": "ports", "ranges": {"range": [{"begin": 1, "end": 3}]}},
        {"name": "disk", "type": "SCALAR", "scalar": {"value": 5}, "reservations": [{"type": "STATIC", "role": "db"}]},
        {"name": "gpus", "type": "SCALAR", "scalar": {"value": 1}, "role": "g", "reservations": [{"role": "z"}]},
    ])
    assert r == R("cpus:1;mem(r):512.5;ports:[1-3];disk(db):5;gpus(g):1")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"type": "SCALAR", "scalar": {"value": 1}}, "missing or empty name"),
        ({"name": "", "scalar": {"value": 1}}, "missing or empty name"),
        ({"name": "cpus", "type": "TEXT"}, "unknown type 'TEXT'"),
        ({"name": "cpus", "type": "SCALAR", "scalar": {"value": "2"}}, "'2' is not a number"),
        ({"name": "cpus", "type": "SCALAR", "scalar": {"value": True}}, "True is not a number"),
        ({"name": "cpus", "type": "SCALAR"}, "None is not a number"),
        ({"name": "cpus", "scalar": {"value": -2}}, "cpus must be >= 0, got -2"),
        ({"name": "p", "ranges": {"range": [{"begin": 5, "end": 1}]}}, "range begin 5 > end 1"),
        ({"name": "p", "ranges": {"range": [{"begin": 1.5, "end": 2}]}}, "needs integers >= 0"),
        ({"name": "p", "ranges": {"range": [{"begin": -1, "end": 2}]}}, "needs integers >= 0"),
        ({"name": "p", "type": "RANGES", "ranges": [1, 2]}, "ranges must be"),
        ({"name": "s", "type": "SET", "set": {"item": ["a"]}}, "set resources are not supported"),
        ({"name": "cpus", "role": "a b", "scalar": {"value": 1}}, "bad role 'a b'"),
        ("cpus:1", "expected a dict"),
    ],
)
def test_from_dicts_errors_name_the_entry(entry: object, message: str) -> None:
    with pytest.raises(ResourcesError) as err:
        Resources.from_dicts([entry])  # type: ignore[list-item]
    assert message in str(err.value)
    assert str(err.value).startswith(f"bad resource {entry!r}")


def test_constructor_validates() -> None:
    with pytest.raises(ResourcesError, match="cpus must be >= 0, got -1"):
        Resources({("cpus", "*"): -1})
    with pytest.raises(ResourcesError, match="bad resource name ''"):
        Resources({("", "*"): 1})
    with pytest.raises(ResourcesError, match="range begin 3 > end 2"):
        Resources(ranges={("ports", "*"): [(3, 2)]})
    assert Resources({("cpus", "*"): 0}) == EMPTY


# -------------------------------------------------------------- arithmetic
def test_fixed_point_three_decimals() -> None:
    assert R("cpus:0.1") + R("cpus:0.2") == R("cpus:0.3")
    assert R("cpus:0.12345").scalar("cpus") == 0.123
    assert (R("cpus:1") - R("cpus:0.9") - R("cpus:0.1")).is_empty()


def test_add_sub_scalars_and_roles() -> None:
    a = R("cpus:4;mem:4096;cpus(r):2")
    b = R("cpus:1;mem:1024;cpus(r):1;gpus:1")
    assert a + b == R("cpus:5;mem:5120;cpus(r):3;gpus:1")
    assert a - b == R("cpus:3;mem:3072;cpus(r):1")
    assert b - a == R("gpus:1")  # floors at 0, zero entries dropped
    assert a - a == EMPTY and not (a - a)
    assert a + EMPTY is a and EMPTY + a is a and a - EMPTY is a


def test_ranges_arithmetic() -> None:
    a = R("ports:[1-10,20-30]")
    assert a - R("ports:[5-25]") == R("ports:[1-4,26-30]")
    assert a - R("ports:[1-100]") == EMPTY
    assert a - R("ports:[1-10]") == R("ports:[20-30]")
    assert a + R("ports:[11-19]") == R("ports:[1-30]")
    assert a - R("ports(r):[1-10]") == a  # role-aware
    assert (a & R("ports:[8-22]")) == R("ports:[8-10,20-22]")


def test_contains_role_and_ranges_aware() -> None:
    a = R("cpus:4;mem:4096;cpus(r):2;ports:[31000-32000]")
    assert a.contains(R("cpus:4;cpus(r):2"))
    assert a.contains(R("ports:[31000-31000,31500-31600]"))
    assert not a.contains(R("cpus:5"))
    assert not a.contains(R("cpus(r):3"))
    assert not a.contains(R("cpus(other):1"))
    assert not a.contains(R("ports:[30999-31000]"))
    assert not a.contains(R("ports(r):[31000-31000]"))
    assert not a.contains(R("gpus:1"))
    assert a.contains(EMPTY) and EMPTY.contains(EMPTY) and not EMPTY.contains(R("cpus:0.001"))


def test_intersection() -> None:
    assert R("cpus:4;mem:100;cpus(r):1") & R("cpus:2;mem(r):5;cpus(r):3") == R("cpus:2;cpus(r):1")


def test_role_helpers() -> None:
    r = R("cpus:4;mem:1024;cpus(a):2;ports(a):[1-5];cpus(b):1")
    assert r.unreserved() == R("cpus:4;mem:1024")
    assert r.reserved("a") == R("cpus(a):2;ports(a):[1-5]")
    assert r.reserved() == R("cpus(a):2;ports(a):[1-5];cpus(b):1")
    assert r.for_role("a") == R("cpus:4;mem:1024;cpus(a):2;ports(a):[1-5]")
    assert r.flatten() == R("cpus:7;mem:1024;ports:[1-5]")
    assert r.flatten("x") == R("cpus(x):7;mem(x):1024;ports(x):[1-5]")
    assert r.scalar("cpus") == 7.0 and r.scalar("gpus") == 0.0
    assert r.roles() == {"*", "a", "b"} and r.has_reservations()
    assert r.quantity("ports") == 5.0 and r.quantity("cpus") == 7.0
    plain = R("cpus:1")
    assert plain.for_role("a") is plain and plain.unreserved() is plain


def test_equality_hash_repr() -> None:
    assert R("cpus:1;mem:2") == R("mem:2;cpus:1")
    assert hash(R("cpus:1;mem:2")) == hash(R("mem:2;cpus:1"))
    assert R("cpus:1") != R("cpus(r):1")
    assert R("cpus:1") != "cpus:1"
    assert repr(R("cpus:1")) == "Resources('cpus:1')"
    assert len({R("cpus:1"), R("cpus:1.0")}) == 1


# ------------------------------------------------------------ allocatable
def test_is_allocatable_matches_mesos_defaults() -> None:
    assert not is_allocatable(EMPTY)
    assert is_allocatable(Resources({("cpus", "*"): MIN_CPUS}))
    assert is_allocatable(Resources({("mem", "*"): MIN_MEM}))
    assert not is_allocatable(R("cpus:0.009;mem:31"))
    assert not is_allocatable(R("disk:1000;ports:[1-100]"))  # as Mesos: cpus or mem needed
    assert is_allocatable(R("cpus(r):0.01"))


def test_min_allocatable_flag() -> None:
    sets = parse_min_allocatable("disk:1|cpus:1;mem:32;ports:2")
    assert sets == ({"disk": 1.0}, {"cpus": 1.0, "mem": 32.0, "ports": 2.0})
    assert is_allocatable(R("disk:1"), sets)
    assert not is_allocatable(R("cpus:1;mem:32;ports:[5-5]"), sets)
    assert is_allocatable(R("cpus:1;mem:32;ports:[5-6]"), sets)
    assert not is_allocatable(EMPTY, sets)
    with pytest.raises(ResourcesError, match="empty set"):
        parse_min_allocatable("cpus:1|")


# ------------------------------------------------------------- properties
_names = st.sampled_from(["cpus", "mem", "disk", "gpus"])
_roles = st.sampled_from(["*", "a", "b"])
_values = st.integers(min_value=0, max_value=10**9).map(lambda v: v / 1000)
_scalars = st.dictionaries(st.tuples(_names, _roles), _values, max_size=6)
_ranges = st.dictionaries(
    st.tuples(st.just("ports"), _roles),
    st.lists(st.tuples(st.integers(1, 500), st.integers(0, 50)).map(lambda t: (t[0], t[0] + t[1])), max_size=4),
    max_size=2,
)
resources = st.builds(Resources, _scalars, _ranges)
scalar_resources = st.builds(Resources, _scalars)


@given(scalar_resources, scalar_resources)
def test_add_then_sub_is_identity_for_scalars(a: Resources, b: Resources) -> None:
    assert a + b - b == a


@given(resources, resources)
def test_sum_contains_parts(a: Resources, b: Resources) -> None:
    assert (a + b).contains(a) and (a + b).contains(b)
    assert a.contains(a - b)
    assert a.contains(a & b) and b.contains(a & b)


@given(resources)
def test_contains_self_and_round_trips(a: Resources) -> None:
    assert a.contains(a)
    assert R(str(a)) == a
    assert Resources.from_dicts(a.to_dicts()) == a
    assert (a - a).is_empty()


@given(resources, resources)
def test_sub_then_add_covers(a: Resources, b: Resources) -> None:
    assert (a - b + b).contains(a)
