"""Sane bounds on declared resources and attributes: --resources, agent registration,
task launches; and the entitlement mechanism's own behaviour."""

from __future__ import annotations

from typing import Any

import pytest

from actors.agent.config import AgentConfig, ConfigError, parse_attributes
from actors.entitlement import Entitlements, only_from
from actors.resources import Resources, ResourcesError
from tests.unit.master_helpers import AGENT, FW, Harness, launch, of_type, task_info
from transport import messages as m
from transport.pid import PID


@pytest.mark.parametrize("text, words", [
    ("cpus:1e308", "cpus must be <= 1000000, got 1e+308"),
    ("cpus:1000001", "cpus must be <= 1000000"),
    ("mem:1125899906842625", "mem must be <= 1125899906842624"),
    ("disk:1e20", "disk must be <= 1125899906842624"),
    ("mem:inf", "'inf' is not a number"),
    ("cpus:nan", "'nan' is not a number"),
    ("cpus:-1", "cpus must be >= 0, got -1"),
    ("ports:[0-4611686018427387904]", "ports range [0-4611686018427387904] is not within 1-65535"),
    ("ports:[0-10]", "ports range [0-10] is not within 1-65535"),
    ("ports:[31000-65536]", "ports range [31000-65536] is not within 1-65535"),
    ("x" * 300 + ":1", "is longer than 255 characters"),
    ("cpus(" + "r" * 300 + "):1", "is longer than 255 characters"),
    ("c\x07pus:1", "not printable"),
])
def test_resources_text_out_of_bounds_names_the_value(text: str, words: str) -> None:
    with pytest.raises(ResourcesError) as info:
        Resources.parse(text)
    assert words in str(info.value)


def test_bounds_themselves_are_accepted() -> None:
    res = Resources.parse("cpus:1000000;mem:1125899906842624;disk:1125899906842624;ports:[1-65535]")
    assert res.scalar("cpus") == 1e6 and res.ranges("ports") == [(1, 65535)]


@pytest.mark.parametrize("item, words", [
    ({"name": "cpus", "type": "SCALAR", "scalar": {"value": 1e308}}, "cpus must be <= 1000000"),
    ({"name": "ports", "type": "RANGES", "ranges": {"range": [{"begin": 0, "end": 2 ** 62}]}}, "not within 1-65535"),
    ({"name": "n\u0000", "type": "SCALAR", "scalar": {"value": 1}}, "not printable"),
])
def test_resource_dicts_out_of_bounds_name_the_value(item: dict[str, Any], words: str) -> None:
    with pytest.raises(ResourcesError, match="bad resource") as info:
        Resources.from_dicts([item])
    assert words in str(info.value)


def test_sums_may_exceed_what_one_agent_may_declare() -> None:
    one = Resources.parse("cpus:1000000")
    assert (one + one).scalar("cpus") == 2e6  # a cluster total is not a declaration


def test_agent_flags_out_of_bounds_are_flag_errors() -> None:
    with pytest.raises(ConfigError, match=r"--resources: .*cpus must be <= 1000000"):
        AgentConfig(resources="cpus:1e308").validate()
    with pytest.raises(ConfigError, match="--attributes: attribute name 'a+'... is longer than 255"):
        parse_attributes("a" * 300 + ":x")
    with pytest.raises(ConfigError, match="--attributes: value of attribute 'rack' .*not printable"):
        parse_attributes("rack:a\x1bb")


@pytest.mark.parametrize("resources, attributes, words", [
    ([{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1e308}}], [], "cpus must be <= 1000000, got 1e+308"),
    ([{"name": "ports", "type": "RANGES", "ranges": {"range": [{"begin": 0, "end": 2 ** 62}]}}], [],
     "ports range [0-4611686018427387904] is not within 1-65535"),
    ([], [{"name": "z" * 300, "type": "TEXT", "text": {"value": "a"}}], "is longer than 255 characters"),
    ([], [{"name": "rack", "type": "SCALAR", "scalar": {"value": float("inf")}}], "attribute 'rack': scalar"),
    ([], "rack:a", "attributes must be a list"),
])
def test_a_registration_out_of_bounds_is_refused_naming_the_value(resources: Any, attributes: Any,
                                                                 words: str) -> None:
    h = Harness()
    out = h.send(AGENT, m.RegisterAgent(agent={"hostname": "h", "resources": resources, "attributes": attributes}))
    (refusal,) = of_type(out, m.ShutdownAgent, AGENT)
    assert words in refusal.message
    assert not h.core.agents


def test_a_task_launch_out_of_bounds_is_a_task_error() -> None:
    h = Harness()
    fid = h.framework(FW)
    h.agent(AGENT)
    (offer,) = h.offers(FW)
    bad = task_info("t1")
    bad["resources"] = [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1e308}}]
    out = h.send(FW, m.AcceptOffers(framework_id=fid, offer_ids=[offer["id"]["value"]], operations=launch(bad)))
    (status,) = [u.status for u in of_type(out, m.StatusUpdate, FW)]
    assert status["state"] == "TASK_ERROR" and status["reason"] == "REASON_TASK_INVALID"
    assert "cpus must be <= 1000000" in status["message"]
    assert not of_type(out, m.RunTask)


# --- the entitlement mechanism -------------------------------------------------------


def test_guard_calls_the_handler_only_for_entitled_senders() -> None:
    current = ["master@h:1"]
    table = Entitlements("test", {m.ShutdownAgent: only_from(lambda: current[0], "not_current_master")})
    calls: list[Any] = []

    def record(sender: PID, msg: Any) -> str:
        calls.append(sender)
        return "answer"

    handler = table.guard(record)
    assert handler(PID.parse("master@h:1"), m.ShutdownAgent()) == "answer"
    assert handler(PID.parse("master@h:2"), m.ShutdownAgent()) is None
    current[0] = "master@h:2"  # the rule reads the current value each time
    handler(PID.parse("master@h:2"), m.ShutdownAgent())
    assert [str(c) for c in calls] == ["master@h:1", "master@h:2"]
    assert table.dropped() == 1 and table.snapshot() == {"ShutdownAgent:not_current_master": 1}
    assert handler(PID.parse("x@h:9"), m.PingAgent()) == "answer"  # not in the table: anyone
