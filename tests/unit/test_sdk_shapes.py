"""The SDK's pure helpers: durations, base64 data, callback shapes (addict), driver statuses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from addict import Dict as AddictDict

from actors.agent.config import AgentConfig
from actors.agent.environment import executor_environment, format_duration
from actors.agent.tasks import ExecutorEntry
from actors.resources import Resources
from actors.scheduler.shapes import bytes_from, for_callback, plain
from frameworks import DRIVER_ABORTED, DRIVER_NOT_STARTED, DRIVER_RUNNING, DRIVER_STOPPED, Status
from frameworks.executor_driver import settings_from_environment
from frameworks.utils import decode_data, encode_data, parse_duration


@pytest.mark.parametrize(("text", "seconds"), [
    ("5secs", 5.0), ("1.5mins", 90.0), ("100ms", 0.1), ("2days", 172800.0), ("3hrs", 10800.0),
    ("1weeks", 604800.0), ("250us", 250e-6), ("10ns", 1e-8), (" 15mins ", 900.0), ("5", 5.0), ("0.5", 0.5),
])
def test_parse_duration_reads_mesos_text_and_plain_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "secs", "5 parsecs", "five secs", "1.2.3secs"])
def test_parse_duration_names_bad_text(text: str) -> None:
    with pytest.raises(ValueError, match=repr(text).replace(".", r"\.")):
        parse_duration(text)


@pytest.mark.parametrize(("seconds", "text"), [
    (5.0, "5secs"), (900.0, "15mins"), (90.0, "1.5mins"), (60.0, "1mins"), (0.1, "100ms"), (3.0, "3secs"),
    (86400.0, "1days"), (0.0, "0ns"), (2.5, "2.5secs"),
])
def test_format_duration_writes_what_mesos_writes_and_reads_back(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == pytest.approx(seconds)


def test_encode_and_decode_data() -> None:
    for data in (b"", b"\x00\xffhello", bytes(range(256))):
        text = encode_data(data)
        assert isinstance(text, str) and "\n" not in text
        assert decode_data(text) == data and decode_data(text.encode()) == data
    assert encode_data("héllo") == encode_data("héllo".encode())  # text is UTF-8 first
    with pytest.raises(TypeError, match="encode_data takes bytes, got int 5"):
        encode_data(5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="is not base64"):
        decode_data("a")
    with pytest.raises(ValueError, match="'not base64!'"):
        bytes_from("not base64!", "framework message data")
    assert bytes_from(encode_data(b"\x00x"), "data") == b"\x00x" and bytes_from(b"raw", "data") == b"raw"


OFFER = {
    "id": {"value": "O1"},
    "agent_id": {"value": "S1"},
    "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 2.0}},
                  {"name": "ports", "type": "RANGES", "ranges": {"range": [{"begin": 1, "end": 2}]}}],
    "attributes": (),
}


def test_addict_wrapping_reads_missing_keys_as_empty_nests_and_stays_a_dict() -> None:
    offer: Any = for_callback(OFFER, AddictDict)
    assert offer.id.value == "O1" and offer["agent_id"]["value"] == "S1"
    assert offer.resources[0].scalar.value == 2.0 and offer.resources[1].ranges.range[0].end == 2
    assert offer.unavailability == {} and not offer.unavailability.start.nanoseconds
    assert "unavailability" not in offer and offer.get("unavailability") is None
    assert offer.attributes == [] and json.loads(json.dumps(offer)) == dict(OFFER, attributes=[])
    offer.resources[0].scalar.value = 9.0  # a copy: the original is untouched
    assert OFFER["resources"][0]["scalar"]["value"] == 2.0  # type: ignore[index]
    assert isinstance(offer, dict) and isinstance(offer, AddictDict)


def test_callback_shapes_are_json_bytes_as_base64() -> None:
    status = {"task_id": {"value": "t"}, "uuid": b"\x01" * 16, "data": b"\x00hi", "nested": [{"b": bytearray(b"x")}]}
    shaped = for_callback(status)
    assert type(shaped) is dict
    assert shaped["uuid"] == encode_data(b"\x01" * 16) and shaped["data"] == "AGhp" and shaped["nested"] == [{"b": "eA=="}]
    json.dumps(shaped)


def test_plain_copies_addict_dicts_into_plain_ones() -> None:
    task = AddictDict()
    task.task_id.value = "t1"
    task.resources = [AddictDict(name="cpus")]
    copied = plain(task)
    assert copied == {"task_id": {"value": "t1"}, "resources": [{"name": "cpus"}]}
    assert type(copied) is dict and type(copied["task_id"]) is dict and type(copied["resources"][0]) is dict
    with pytest.raises(KeyError):
        copied["missing"]  # a plain dict again: no "missing key reads as empty" inside mesopy


def test_driver_statuses_equal_their_number_and_their_name() -> None:
    pairs = [(DRIVER_NOT_STARTED, 1), (DRIVER_RUNNING, 2), (DRIVER_ABORTED, 3), (DRIVER_STOPPED, 4)]
    for status, number in pairs:
        assert status == number and number == status and status == status.name and status.name == status
        assert isinstance(status, int) and hash(status) == hash(number) and str(status) == status.name
    assert DRIVER_STOPPED != "DRIVER_RUNNING" and DRIVER_STOPPED != 3 and DRIVER_STOPPED != "4"
    lookup: dict[Any, str] = {DRIVER_STOPPED: "x"}
    assert Status(4) is DRIVER_STOPPED and lookup[4] == "x"


def _entry(command_executor: bool) -> ExecutorEntry:
    info = {"executor_id": {"value": "t1"}, "command": {"environment": {"variables": [{"name": "X", "value": "1"}]}}}
    return ExecutorEntry("F1", "t1", "c1", info, Resources(), command_executor, directory="/sandbox")


def test_the_executor_environment_is_written_as_mesos_writes_it() -> None:
    config = AgentConfig(executor_shutdown_grace_period=5.0, task_kill_grace_period=3.0)
    env = executor_environment(config, _entry(True), {"checkpoint": True}, "agent(1)@10.0.0.2:5051", "S1")
    assert env["MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"] == "5secs"
    assert env["MESOS_RECOVERY_TIMEOUT"] == "15mins" and env["MESOS_EXECUTOR_REGISTRATION_TIMEOUT"] == "1mins"
    assert env["MESOS_KILL_GRACE_PERIOD"] == "3secs" and env["MESOS_CHECKPOINT"] == "1"
    assert env["MESOS_TASK_ID"] == "t1" and env["MESOS_AGENT_ENDPOINT"] == "10.0.0.2:5051" and env["X"] == "1"
    custom = executor_environment(config, _entry(False), {}, "agent(1)@10.0.0.2:5051", "S1",
                                  agent_endpoint="10.0.0.2:5041")
    assert "MESOS_TASK_ID" not in custom and custom["MESOS_CHECKPOINT"] == "0"
    assert custom["MESOS_AGENT_ENDPOINT"] == "10.0.0.2:5041"
    settings = settings_from_environment(env)  # the executor driver reads what the agent wrote
    assert (settings.shutdown_grace_period, settings.recovery_timeout, settings.checkpoint) == (5.0, 900.0, True)


def test_the_executor_driver_reads_plain_seconds_too_and_names_bad_values() -> None:
    env = {"MESOS_FRAMEWORK_ID": "F1", "MESOS_EXECUTOR_ID": "E1", "MESOS_AGENT_PID": "agent(1)@127.0.0.1:5051",
           "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": "2.5", "MESOS_RECOVERY_TIMEOUT": "60"}
    settings = settings_from_environment(env)
    assert (settings.shutdown_grace_period, settings.recovery_timeout, settings.checkpoint) == (2.5, 60.0, False)
    with pytest.raises(ValueError, match="MESOS_RECOVERY_TIMEOUT must be a duration.*'soon'"):
        settings_from_environment(dict(env, MESOS_RECOVERY_TIMEOUT="soon"))
