"""The forked executor's cgroup join (actors/agent/zygote.py): on a thread only when there is one."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from actors.agent import zygote


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


def test_no_cgroup_to_join_starts_no_thread(started: list[str]) -> None:
    entered = zygote._enter_cgroups([])
    entered()  # returns at once, nothing to wait for
    assert started == []


def test_a_join_runs_on_a_thread_and_its_wait_writes_the_pid(started: list[str], tmp_path: Path) -> None:
    procs = tmp_path / "cgroup.procs"
    procs.write_text("")
    entered = zygote._enter_cgroups([str(procs)])
    entered()
    assert started == ["cgroup-join"]
    assert procs.read_text() == str(os.getpid())


def test_a_failed_join_names_the_cgroup(started: list[str], tmp_path: Path, capsys: Any) -> None:
    missing = tmp_path / "gone" / "cgroup.procs"
    entered = zygote._enter_cgroups([str(missing)])
    with pytest.raises(OSError, match=f"cannot join cgroup {tmp_path / 'gone'}"):
        entered()
    assert "cannot join cgroup" in capsys.readouterr().err
