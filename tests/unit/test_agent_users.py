"""actors.agent.users: which user an executor runs as, and the setpriv step that switches to it."""

from __future__ import annotations

import pwd
import shutil

import pytest

from actors.agent.tasks import command_executor_info
from actors.agent.users import RunAs, UserError, executor_user, resolve_run_as, switch_user_argv

NOBODY = pwd.getpwnam("nobody")


def test_the_command_user_wins_over_the_framework_user() -> None:
    assert executor_user({"command": {"user": "nobody"}}, {"user": "root"}) == "nobody"
    assert executor_user({"command": {}}, {"user": "daemon"}) == "daemon"
    assert executor_user({}, {}) == ""


def test_a_command_task_s_user_becomes_its_executor_s_user() -> None:
    task = {"task_id": {"value": "t"}, "command": {"value": "id -un", "user": "nobody"}}
    info = command_executor_info("f", task)
    assert executor_user(info, {"user": "root"}) == "nobody"
    assert "user" not in command_executor_info("f", {"task_id": {"value": "t"}, "command": {"value": "true"}})["command"]


def test_only_a_root_agent_with_switch_user_switches() -> None:
    run_as = resolve_run_as("nobody", True, euid=0)
    assert run_as is not None and (run_as.uid, run_as.gid, run_as.name) == (NOBODY.pw_uid, NOBODY.pw_gid, "nobody")
    assert NOBODY.pw_gid in run_as.groups
    assert resolve_run_as("nobody", False, euid=0) is None
    assert resolve_run_as("nobody", True, euid=1000) is None
    assert resolve_run_as("", True, euid=0) is None
    assert resolve_run_as("root", True, euid=0) is None


def test_an_unknown_user_is_an_error_naming_it() -> None:
    with pytest.raises(UserError, match="'no-such-user-xyz'"):
        resolve_run_as("no-such-user-xyz", True, euid=0)
    assert resolve_run_as("no-such-user-xyz", True, euid=1000) is None  # not switching: not looked up


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv (util-linux) is not installed")
def test_the_switch_is_setpriv_then_the_program() -> None:
    argv = switch_user_argv(RunAs("nobody", 65534, 65534, (65534, 100), "/nonexistent"), ["id", "-un"])
    assert argv[1:] == ["--reuid=65534", "--regid=65534", "--groups=65534,100", "--", "id", "-un"]
    assert switch_user_argv(RunAs("x", 5, 5, (), "/"), ["true"])[3] == "--clear-groups"
