"""Which OS user an executor runs as (Mesos' ``--switch_user``), and the launcher step
that becomes that user.

The user is the executor's ``CommandInfo.user`` (for a command task: the task's),
else ``FrameworkInfo.user``. An agent running as root with ``--switch_user``
starts the executor as that user; otherwise as itself. The switch is the last
step of the launcher, after the cgroup join (which needs root) and right
before the exec: ``setpriv`` (util-linux) sets the groups, gid and uid, then
execs. No ``preexec_fn``: the agent is threaded.

The built-in command executor is the exception: it starts as the agent,
with ``MESOPY_TASK_USER`` naming the user, and switches the same way for the
task's command only. So the task's user needs no access to the agent's Python.
"""

from __future__ import annotations

import os
import pwd
import shutil
from dataclasses import dataclass
from typing import Any

__all__ = ["TASK_USER_VARIABLE", "RunAs", "UserError", "executor_user", "resolve_run_as", "switch_user_argv"]

# Set for the built-in command executor, which starts as the agent: the user it runs
# the task's command as.
TASK_USER_VARIABLE = "MESOPY_TASK_USER"


class UserError(ValueError):
    """The executor's user cannot be used; the message names the user."""


@dataclass(frozen=True)
class RunAs:
    """An OS user to start an executor as."""

    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]
    home: str

    def environment(self) -> dict[str, str]:
        return {"USER": self.name, "LOGNAME": self.name, "HOME": self.home}


def executor_user(executor_info: dict[str, Any], framework_info: dict[str, Any]) -> str:
    """``CommandInfo.user`` of the executor, else ``FrameworkInfo.user``, else ""."""
    command = executor_info.get("command") or {}
    user = command.get("user") or framework_info.get("user") or ""
    return user if isinstance(user, str) else ""


def resolve_run_as(user: str, switch_user: bool, euid: int | None = None) -> RunAs | None:
    """The user to switch to, or None to run as the agent does (``switch_user`` off, the
    agent not root, no user named, or the user is root). UserError for an unknown user."""
    euid = os.geteuid() if euid is None else euid
    if not switch_user or euid != 0 or not user:
        return None
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise UserError(f"user {user!r} does not exist on this agent") from None
    if entry.pw_uid == euid:
        return None
    groups = tuple(sorted(set(os.getgrouplist(entry.pw_name, entry.pw_gid))))
    return RunAs(entry.pw_name, entry.pw_uid, entry.pw_gid, groups, entry.pw_dir)


def switch_user_argv(run_as: RunAs, argv: list[str]) -> list[str]:
    """``argv`` run as ``run_as``: ``setpriv --reuid --regid --groups -- argv``."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise UserError(f"cannot switch to user {run_as.name!r}: setpriv (util-linux) is not installed")
    groups = f"--groups={','.join(map(str, run_as.groups))}" if run_as.groups else "--clear-groups"
    return [setpriv, f"--reuid={run_as.uid}", f"--regid={run_as.gid}", groups, "--", *argv]
