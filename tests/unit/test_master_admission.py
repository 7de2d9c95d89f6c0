"""Admission of framework registrations: --rate_limits (Mesos' RateLimits JSON) and
--max_frameworks_per_peer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from actors.master.config import ConfigError, MasterConfig
from actors.master.rate_limits import RateLimit, RateLimits, parse_rate_limits
from tests.unit.master_helpers import Harness, of_type
from transport import messages as m

LIMITS = {
    "limits": [{"principal": "foo", "qps": 2, "capacity": 100}, {"principal": "bar"}],
    "aggregate_default_qps": 1, "aggregate_default_capacity": 10,
}


def test_mesos_shape_parses() -> None:
    limits = parse_rate_limits(json.dumps(LIMITS))
    assert limits == RateLimits((RateLimit("foo", 2.0, 100), RateLimit("bar")), 1.0, 10)
    assert limits.qps_for("foo") == ("principal", 2.0)
    assert limits.qps_for("bar") == ("principal", None)
    assert limits.qps_for("qux") == ("peer", 1.0)
    assert limits.qps_for("") == ("peer", 1.0)
    assert parse_rate_limits("") == RateLimits()


def test_a_file_url_is_read(tmp_path: Path) -> None:
    path = tmp_path / "limits.json"
    path.write_text(json.dumps(LIMITS))
    assert parse_rate_limits(f"file://{path}").aggregate_default_qps == 1.0


@pytest.mark.parametrize("text, words", [
    ("{", "not JSON"),
    ("[]", "expected a JSON object"),
    ('{"limit": []}', "unknown field 'limit'"),
    ('{"limits": [{"qps": 1}]}', "needs a 'principal'"),
    ('{"limits": [{"principal": "a"}, {"principal": "a"}]}', "listed twice"),
    ('{"limits": [{"principal": "a", "qps": -1}]}', "qps of 'a' must be a number > 0, got -1"),
    ('{"aggregate_default_qps": "fast"}', "aggregate_default_qps must be a number > 0, got 'fast'"),
    ('{"aggregate_default_capacity": 1.5}', "must be an integer > 0, got 1.5"),
    ("file:///no/such/file", "cannot read"),
])
def test_bad_rate_limits_are_a_flag_error_naming_the_value(text: str, words: str) -> None:
    with pytest.raises(ConfigError, match="--rate_limits") as info:
        MasterConfig(rate_limits=text).validate()
    assert words in str(info.value)


def _register(h: Harness, pid: str, **info: object) -> list:
    return h.send(pid, m.RegisterFramework(framework={"name": "fw", "user": "u", **info}))


def test_registrations_over_the_default_rate_are_dropped_per_peer() -> None:
    h = Harness(rate_limits=json.dumps({"aggregate_default_qps": 1}))
    assert of_type(_register(h, "scheduler(1)@10.0.0.1:1"), m.FrameworkRegistered)
    assert _register(h, "scheduler(2)@10.0.0.1:1") == []  # same peer, same second: dropped
    assert of_type(_register(h, "scheduler(3)@10.0.0.2:1"), m.FrameworkRegistered)  # another peer is not held back
    assert h.core.admission.refused.dropped("RegisterFramework", "rate_limited") == 1
    h.now += 1.0
    assert of_type(_register(h, "scheduler(2)@10.0.0.1:1"), m.FrameworkRegistered)  # the retry gets through


def test_a_listed_principal_has_its_own_rate_and_an_unthrottled_one_none() -> None:
    h = Harness(rate_limits=json.dumps(LIMITS), max_frameworks_per_peer=1000)
    ok = [bool(of_type(_register(h, f"scheduler({i})@10.0.0.1:1", principal="foo"), m.FrameworkRegistered))
          for i in range(5)]
    assert ok == [True, True, False, False, False]  # qps 2: two saved up, then none this instant
    assert all(of_type(_register(h, f"scheduler({i})@10.0.0.1:2", principal="bar"), m.FrameworkRegistered)
               for i in range(50))


def test_no_rate_limits_by_default() -> None:
    h = Harness()
    assert all(of_type(_register(h, f"scheduler({i})@10.0.0.1:1"), m.FrameworkRegistered) for i in range(50))


def test_frameworks_per_peer_are_capped_with_an_error_naming_the_peer() -> None:
    h = Harness(max_frameworks_per_peer=3)
    for i in range(3):
        assert of_type(_register(h, f"scheduler({i})@10.0.0.1:1"), m.FrameworkRegistered)
    out = _register(h, "scheduler(9)@10.0.0.1:1")
    (error,) = of_type(out, m.FrameworkError, "scheduler(9)@10.0.0.1:1")
    assert "10.0.0.1:1" in error.message and "max_frameworks_per_peer=3" in error.message
    assert "scheduler(9)@10.0.0.1:1" not in h.core.framework_pids
    # a retry of a registered scheduler, and another peer, are not refused
    assert of_type(_register(h, "scheduler(0)@10.0.0.1:1"), m.FrameworkRegistered)
    assert of_type(_register(h, "scheduler(0)@10.0.0.2:1"), m.FrameworkRegistered)
    # one gone makes room
    fid = h.core.framework_pids["scheduler(1)@10.0.0.1:1"]
    h.send("scheduler(1)@10.0.0.1:1", m.UnregisterFramework(framework_id=fid))
    assert of_type(_register(h, "scheduler(9)@10.0.0.1:1"), m.FrameworkRegistered)


def test_a_failover_within_the_peer_is_not_refused_by_the_cap() -> None:
    h = Harness(max_frameworks_per_peer=1)
    fid = h.framework("scheduler(1)@10.0.0.1:1")
    out = h.send("scheduler(2)@10.0.0.1:1", m.ReregisterFramework(
        framework={"id": {"value": fid}, "name": "fw", "user": "u"}, failover=True))
    assert of_type(out, m.FrameworkRegistered, "scheduler(2)@10.0.0.1:1")  # a failover: Mesos says registered


def test_max_frameworks_per_peer_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="--max_frameworks_per_peer must be >= 1, got 0"):
        MasterConfig(max_frameworks_per_peer=0).validate()
