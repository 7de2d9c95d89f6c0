"""Reconciliation answers of the master core, and the master's flags."""

from __future__ import annotations

import pytest

from actors.master.config import ConfigError, MasterConfig, parse_weights
from tests.unit.master_helpers import AGENT, FW, Harness, of_type, running
from transport import messages as m

def answers(h: Harness, fid: str, statuses: list[dict]) -> dict[str, dict]:
    out = h.send(FW, m.ReconcileTasks(framework_id=fid, statuses=statuses))
    ups = of_type(out, m.StatusUpdate, FW)
    assert all(u.uuid == b"" and "uuid" not in u.status for u in ups)
    return {u.status["task_id"]["value"]: u.status for u in ups}


def test_implicit_reconciliation_sends_every_task() -> None:
    h, fid, aid = running("t1", "t2")
    got = answers(h, fid, [])
    assert {k: v["state"] for k, v in got.items()} == {"t1": "TASK_RUNNING", "t2": "TASK_STAGING"}
    assert all(v["reason"] == "REASON_RECONCILIATION" and v["source"] == "SOURCE_MASTER" for v in got.values())
    assert got["t1"]["agent_id"] == {"value": aid}


def test_explicit_reconciliation_rules() -> None:
    h, fid, aid = running("t1", "t2")
    got = answers(h, fid, [
        {"task_id": {"value": "t1"}, "state": "TASK_STAGING"},
        {"task_id": {"value": "ghost"}, "agent_id": {"value": aid}},
        {"task_id": {"value": "nowhere"}},
    ])
    assert got["t1"]["state"] == "TASK_RUNNING"
    assert got["ghost"]["state"] == "TASK_LOST" and got["nowhere"]["state"] == "TASK_LOST"
    assert all(v["reason"] == "REASON_RECONCILIATION" for v in got.values())


def test_explicit_reconciliation_partition_aware() -> None:
    h, fid, aid = running("t1", "t2", capabilities=[{"type": "PARTITION_AWARE"}])
    got = answers(h, fid, [{"task_id": {"value": "ghost"}, "agent_id": {"value": aid}},
                           {"task_id": {"value": "nowhere"}, "agent_id": {"value": "M-S77"}}])
    assert got["ghost"]["state"] == "TASK_GONE"
    assert got["nowhere"]["state"] == "TASK_UNKNOWN"


def test_ended_task_reconciles_to_its_terminal_state_until_acknowledged() -> None:
    h, fid, aid = running("t1", "t2")
    h.send(AGENT, m.StatusUpdate(framework_id=fid, agent_id=aid, status={
        "task_id": {"value": "t1"}, "state": "TASK_FAILED", "uuid": b"f"}, uuid=b"f"))
    assert answers(h, fid, [{"task_id": {"value": "t1"}}])["t1"]["state"] == "TASK_FAILED"
    assert answers(h, fid, [])["t1"]["state"] == "TASK_FAILED"  # implicit too, as Mesos
    h.send(FW, m.StatusUpdateAcknowledgement(agent_id=aid, framework_id=fid, task_id="t1", uuid=b"other"))
    assert answers(h, fid, [{"task_id": {"value": "t1"}}])["t1"]["state"] == "TASK_FAILED"
    h.send(FW, m.StatusUpdateAcknowledgement(agent_id=aid, framework_id=fid, task_id="t1", uuid=b"f"))
    gone = answers(h, fid, [{"task_id": {"value": "t1"}, "agent_id": {"value": aid}}])["t1"]
    assert (gone["state"], gone["reason"]) == ("TASK_LOST", "REASON_RECONCILIATION")
    assert set(answers(h, fid, [])) == {"t2"}


def test_master_made_terminal_update_is_not_kept_for_reconciliation() -> None:
    h, fid, aid = running("t1", "t2")
    h.send(AGENT, m.StatusUpdate(framework_id=fid, agent_id=aid, status={
        "task_id": {"value": "t1"}, "state": "TASK_FAILED"}))  # no uuid: nothing will acknowledge it
    assert answers(h, fid, [{"task_id": {"value": "t1"}}])["t1"]["state"] == "TASK_LOST"


def test_config_defaults_match_mesos() -> None:
    c = MasterConfig().validate()
    assert (c.port, c.allocation_interval, c.agent_ping_timeout, c.max_agent_ping_timeouts) == (5050, 1.0, 15.0, 5)
    assert (c.ip, c.advertise_ip, c.advertise_port, c.hostname) == ("127.0.0.1", "", None, "")


@pytest.mark.parametrize("flags, words", [
    ({"weights": "x"}, ["--weights", "'x'", "role=weight"]),
    ({"weights": "a=0"}, ["--weights", "'a'", "> 0"]),
    ({"weights": "a=two"}, ["'two'"]),
    ({"roles": "a,b c"}, ["--roles", "'b c'"]),
    ({"roles": "a", "weights": "b=2"}, ["'b'", "--roles"]),
    ({"allocation_interval": 0.0}, ["--allocation_interval", "0.0"]),
    ({"agent_ping_timeout": -1.0}, ["--agent_ping_timeout"]),
    ({"max_agent_ping_timeouts": 0}, ["--max_agent_ping_timeouts", "0"]),
    ({"offer_timeout": -5.0}, ["--offer_timeout", "-5.0"]),
    ({"allocator": "fancy"}, ["--allocator", "'fancy'"]),
    ({"port": 70000}, ["--port", "70000"]),
])
def test_config_errors_name_flag_and_value(flags: dict, words: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        MasterConfig(**flags).validate()
    for word in words:
        assert word in str(info.value)


def test_weights_parse() -> None:
    assert parse_weights("web=2, batch=0.5") == {"web": 2.0, "batch": 0.5}
    assert parse_weights("") == {}
