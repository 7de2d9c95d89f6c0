"""The forked executor's cgroup join (actors/agent/zygote.py): no thread of its own, run first on the
thread that will start the task's command (actors/executor/command.py), which waits for it."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from actors.agent import zygote
from actors.executor.command import CommandExecutor


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the threads zygote starts."""
    names: list[str] = []

    class Recording(threading.Thread):
        def start(self) -> None:
            names.append(self.name)
            super().start()

    monkeypatch.setattr(zygote.threading, "Thread", Recording)
    return names


def test_no_cgroup_to_join_is_entered_at_once(started: list[str]) -> None:
    entry = zygote.CgroupJoin([])
    entry.join()
    entry()  # returns at once, nothing to wait for
    assert started == []


def test_the_wait_returns_once_the_join_wrote_the_pid(started: list[str], tmp_path: Path) -> None:
    """(``started`` sees the test's own waiter thread: threading is one module.)"""
    procs = tmp_path / "cgroup.procs"
    procs.write_text("")
    entry = zygote.CgroupJoin([str(procs)])
    waited = threading.Event()

    def wait() -> None:
        entry()
        waited.set()

    waiter = threading.Thread(target=wait, name="test-waiter")
    waiter.start()
    assert not waited.wait(0.05)  # nothing joined yet
    entry.join()
    waiter.join(5)
    assert waited.is_set() and procs.read_text() == str(os.getpid())
    assert started == ["test-waiter"]  # the join starts no thread: it runs on the caller's


def test_a_failed_join_names_the_cgroup(tmp_path: Path, capsys: Any) -> None:
    missing = tmp_path / "gone" / "cgroup.procs"
    entry = zygote.CgroupJoin([str(missing)])
    entry.join()
    with pytest.raises(OSError, match=f"cannot join cgroup {tmp_path / 'gone'}"):
        entry()
    assert "cannot join cgroup" in capsys.readouterr().err


def test_the_runner_joins_first_then_runs_the_task_on_the_same_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    where: list[tuple[str, int]] = []
    ran = threading.Event()
    executor = CommandExecutor()

    def run(driver: Any, command: dict[str, Any], env: dict[str, str], check: Any) -> None:
        where.append(("run", threading.get_ident()))
        ran.set()

    monkeypatch.setattr(executor, "_run", run)
    executor.start_runner(lambda: where.append(("join", threading.get_ident())))

    class Driver:
        def sendStatusUpdate(self, status: dict[str, Any]) -> None:
            where.append((status["state"], threading.get_ident()))

    executor.launchTask(Driver(), {"task_id": {"value": "t"}, "command": {"value": "true"}})
    assert ran.wait(5)
    runner = executor._runner
    assert runner is not None and executor._waiter is runner
    assert [w[0] for w in where] == ["join", "TASK_STARTING", "run"] or \
        [w[0] for w in where] == ["TASK_STARTING", "join", "run"]
    assert dict(where)["join"] == dict(where)["run"] == runner.ident
