"""Agent flags, resource detection and the task table (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from actors.agent.config import AgentConfig, ConfigError, parse_attributes
from actors.agent.detect import default_resources
from actors.agent.tasks import TaskTable, TaskTableError


def test_defaults_validate_and_bad_values_are_named() -> None:
    AgentConfig().validate()
    with pytest.raises(ConfigError, match="--resources.*'x'"):
        AgentConfig(resources="cpus:x").validate()
    with pytest.raises(ConfigError, match="--master.*'nohost'"):
        AgentConfig(master="nohost").validate()
    with pytest.raises(ConfigError, match="--isolation"):
        AgentConfig(isolation="cgroups/gpu").validate()
    with pytest.raises(ConfigError, match="executor_registration_timeout"):
        AgentConfig(executor_registration_timeout=-1).validate()


def test_isolation_flags_are_checked_and_passed_on(tmp_path: Any) -> None:
    for bad, flag in ((dict(cgroups_pids_max=-1), "--cgroups_pids_max"),
                      (dict(container_disk_watch_interval=0), "--container_disk_watch_interval"),
                      (dict(container_ports_watch_interval=0), "--container_ports_watch_interval"),
                      (dict(sandbox_directory="mnt"), "--sandbox_directory"),
                      (dict(allowed_devices="c 1:3 rwm;bogus"), "--allowed_devices.*'bogus'")):
        with pytest.raises(ConfigError, match=flag):
            AgentConfig(**bad).validate()  # type: ignore[arg-type]
    config = AgentConfig(work_dir=str(tmp_path), cgroups_pids_max=100, allowed_devices="c 1:3 rwm; c 1:5 rwm")
    options = config.validate().isolator_options()
    assert options["pids_max"] == 100 and options["allowed_devices"] == ["c 1:3 rwm", "c 1:5 rwm"]
    assert options["agent_key"] == AgentConfig(work_dir=str(tmp_path) + "/").isolator_options()["agent_key"]
    assert options["agent_key"] != AgentConfig(work_dir=str(tmp_path / "other")).isolator_options()["agent_key"]


def test_attributes() -> None:
    assert parse_attributes("rack:a;level:2") == [
        {"name": "rack", "type": "TEXT", "text": {"value": "a"}},
        {"name": "level", "type": "SCALAR", "scalar": {"value": 2.0}},
    ]
    with pytest.raises(ConfigError, match="'rack'"):
        parse_attributes("rack")


def test_detection_reserves_like_mesos_and_flag_wins() -> None:
    r = default_resources("", 4, 8192, 100 * 1024)
    assert (r.scalar("cpus"), r.scalar("mem"), r.scalar("disk")) == (4, 7168, 95 * 1024)
    assert r.ranges("ports") == [(31000, 32000)]
    small = default_resources("cpus:1.5;ports:[5-6]", None, 1024, 4096)
    assert (small.scalar("cpus"), small.scalar("mem"), small.scalar("disk")) == (1.5, 512, 2048)
    assert small.ranges("ports") == [(5, 6)]
    unknown = default_resources("", None, None, None)
    assert (unknown.scalar("cpus"), unknown.scalar("mem"), unknown.scalar("disk")) == (1, 1024, 10240)


def _task(task_id: str, **extra: object) -> dict[str, object]:
    return {"task_id": {"value": task_id}, "command": {"value": "true"},
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}},
                          {"name": "mem", "type": "SCALAR", "scalar": {"value": 128}}], **extra}


def test_task_table_resources_and_terminal_updates() -> None:
    table = TaskTable()
    table.add_framework("f", {"name": "x"}, "scheduler@h:1")
    executor, created = table.add_task("f", _task("t1"), "c1")
    assert created and executor.command_executor and executor.executor_id == "t1"
    used = table.container_resources(executor)
    assert (used.scalar("cpus"), used.scalar("mem")) == (1.1, 160)  # + 0.1 cpus, 32 MB overhead
    with pytest.raises(TaskTableError, match="'t1'"):
        table.add_task("f", _task("t1"), "c2")
    table.set_state("f", "t1", "TASK_FINISHED")
    assert table.container_resources(executor).scalar("mem") == 32
    table.complete("f", "t1")
    assert executor.tasks == {}


def test_reconciliation_names_only_the_tasks_the_agent_does_not_know() -> None:
    table = TaskTable()
    table.add_framework("f", {"name": "x"}, "scheduler@h:1")
    table.add_framework("aware", {"name": "y", "capabilities": [{"type": "PARTITION_AWARE"}]}, "scheduler@h:2")
    table.add_task("f", _task("here"), "c1")
    assert table.unknown("f", ["here", "gone", "gone"]) == [("gone", "TASK_LOST")]
    assert table.unknown("aware", ["gone"]) == [("gone", "TASK_DROPPED")]
    assert table.unknown("never-seen", ["t"]) == [("t", "TASK_LOST")]


def test_a_reconciliation_answer_after_a_terminal_update_is_dropped() -> None:
    from actors.agent.status_updates import StatusUpdateManager

    updates = StatusUpdateManager()
    finished = {"task_id": {"value": "t"}, "state": "TASK_FINISHED", "uuid": b"1" * 16}
    assert updates.update("f", finished, 0.0)[0]
    lost = {"task_id": {"value": "t"}, "state": "TASK_LOST", "uuid": b"2" * 16}
    assert updates.update("f", lost, 0.0) == (False, [])  # one terminal state per task
