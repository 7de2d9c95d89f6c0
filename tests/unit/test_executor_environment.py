"""An executor's environment (actors/agent/launcher.py): the agent's, less its own settings, but
for how to log, which its executors share."""

from __future__ import annotations

import pytest

from actors.agent.launcher import process_environment


def test_executors_log_as_their_agent_and_get_none_of_its_other_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESOPY_LOG_LEVEL", "error")
    monkeypatch.setenv("MESOPY_LOG_FORMAT", "json")
    monkeypatch.setenv("MESOPY_PORT", "5051")
    monkeypatch.setenv("MESOS_WORK_DIR", "/var/lib/mesos")
    monkeypatch.setenv("HOME", "/root")
    env = process_environment({"MESOS_EXECUTOR_ID": "e1"})
    assert env["MESOPY_LOG_LEVEL"] == "error" and env["MESOPY_LOG_FORMAT"] == "json"
    assert "MESOPY_PORT" not in env and "MESOS_WORK_DIR" not in env
    assert env["HOME"] == "/root" and env["MESOS_EXECUTOR_ID"] == "e1"
