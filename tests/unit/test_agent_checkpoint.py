"""The agent's checkpoint: encoding (torn or corrupt files told apart, with their
path), the atomic writer under kill -9 (a real child process killed while it
writes), reading the tree back (strict and not), and the status update
streams restored from it."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from actors.agent.checkpoint import CheckpointError, MetaPaths, decode, decode_updates, encode, encode_updates
from actors.agent.checkpoint_io import Checkpointer, atomic_write, read_state
from actors.agent.recovery import incompatibility
from actors.agent.status_updates import StatusUpdateManager
from actors.resources import Resources


def test_encode_decode_round_trip_with_bytes() -> None:
    value = {"task_id": {"value": "t"}, "uuid": b"\x00\xff", "data": b"abc", "n": [1, 2.5, None, True]}
    assert decode("x", encode(value)) == value


def test_every_torn_prefix_and_a_flipped_bit_are_reported_with_the_path() -> None:
    data = encode({"name": "task", "payload": "x" * 100})
    for cut in range(len(data)):
        with pytest.raises(CheckpointError) as e:
            decode("/w/meta/task.info", data[:cut])
        assert e.value.path == "/w/meta/task.info" and "/w/meta/task.info" in str(e.value)
    flipped = bytearray(data)
    flipped[-5] ^= 0x01
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        decode("p", bytes(flipped))


def test_update_stream_is_checked() -> None:
    data = encode_updates([{"uuid": b"u1", "state": "TASK_RUNNING"}], [b"u0"], False, "TASK_RUNNING")
    assert decode_updates("p", data) == ([{"uuid": b"u1", "state": "TASK_RUNNING"}], [b"u0"], False, "TASK_RUNNING")
    with pytest.raises(CheckpointError, match="uuid"):
        decode_updates("p", encode({"updates": [{"state": "TASK_RUNNING"}], "acknowledged": [], "state": "TASK_X"}))
    with pytest.raises(CheckpointError, match="state"):
        decode_updates("p", encode({"updates": [], "acknowledged": [], "state": 3}))


_WRITER = """
import sys
from actors.agent.checkpoint import encode
from actors.agent.checkpoint_io import atomic_write
path = sys.argv[1]
i = 0
while True:
    atomic_write(path, encode({"version": i, "payload": "v%d" % i * (20000 + 7919 * (i % 13))}))
    if i == 3:
        print("ready", flush=True)
    i += 1
"""


def test_kill_9_during_checkpoint_writes_leaves_a_readable_checkpoint(tmp_path: Path) -> None:
    rng = random.Random(20261201)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = str(tmp_path / "meta" / "slaves" / "a" / "task.updates")
    for _ in range(20):
        child = subprocess.Popen([sys.executable, "-c", _WRITER, path], cwd=root, stdout=subprocess.PIPE,
                                 text=True, env={**os.environ, "PYTHONPATH": root})
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
        threading.Event().wait(rng.uniform(0.0, 0.05))  # a random instant of its write loop
        child.send_signal(signal.SIGKILL)
        child.wait(5)
        child.stdout.close()
        with open(path, "rb") as f:
            value = decode(path, f.read())
        version = value["version"]
        assert version >= 3 and value["payload"] == f"v{version}" * (20000 + 7919 * (version % 13))


def test_atomic_write_replaces_and_leaves_only_the_file(tmp_path: Path) -> None:
    path = str(tmp_path / "d" / "f")
    atomic_write(path, b"one")
    atomic_write(path, b"two")
    assert Path(path).read_bytes() == b"two"
    assert os.listdir(tmp_path / "d") == ["f"]


def _checkpointed(work_dir: Path) -> Checkpointer:
    cp = Checkpointer(str(work_dir))
    cp.agent("A", {"hostname": "h", "resources": Resources.parse("cpus:1;mem:64").to_dicts(), "attributes": []})
    cp.framework("A", "F", {"name": "fw", "checkpoint": True}, "scheduler@127.0.0.1:1")
    cp.executor("A", "F", "E", {"executor_id": {"value": "E"}}, "C", True)
    cp.forked_pid("A", "F", "E", "C", 4242)
    cp.libprocess_pid("A", "F", "E", "C", "executor(1)@127.0.0.1:2")
    cp.task("A", "F", "E", "C", {"task_id": {"value": "T"}, "name": "t"}, "T")
    cp.updates("A", "F", "E", "C", "T", [{"uuid": b"u2", "state": "TASK_RUNNING", "task_id": {"value": "T"}}],
               [b"u1"], False, "TASK_RUNNING")
    return cp


def test_read_state_returns_what_was_checkpointed(tmp_path: Path) -> None:
    _checkpointed(tmp_path)
    state = read_state(str(tmp_path), strict=True)
    assert state is not None and state.agent_id == "A" and state.errors == []
    [(framework, executor, run)] = state.runs()
    assert framework.pid == "scheduler@127.0.0.1:1" and executor.command_executor
    assert (run.container_id, run.forked_pid, run.libprocess_pid) == ("C", 4242, "executor(1)@127.0.0.1:2")
    task = run.tasks["T"]
    assert task.info["name"] == "t" and task.acknowledged == [b"u1"] and task.state == "TASK_RUNNING"
    assert [u["uuid"] for u in task.updates] == [b"u2"]
    assert read_state(str(tmp_path / "nothing"), strict=True) is None


def test_a_corrupt_file_stops_strict_recovery_and_is_skipped_otherwise(tmp_path: Path) -> None:
    _checkpointed(tmp_path)
    bad = MetaPaths(str(tmp_path)).task_info("A", "F", "E", "C", "T")
    with open(bad, "r+b") as f:
        f.truncate(10)
    with pytest.raises(CheckpointError) as e:
        read_state(str(tmp_path), strict=True)
    assert e.value.path == bad
    state = read_state(str(tmp_path), strict=False)
    assert state is not None and state.runs()[0][2].tasks == {}
    assert len(state.errors) == 1 and bad in state.errors[0]


def test_removed_executor_and_framework_are_not_recovered(tmp_path: Path) -> None:
    cp = _checkpointed(tmp_path)
    cp.remove_executor("A", "F", "E")
    state = read_state(str(tmp_path), strict=True)
    assert state is not None and state.runs() == []
    cp.remove_all()
    assert read_state(str(tmp_path), strict=True) is None


def test_incompatible_agent_info() -> None:
    info = {"resources": Resources.parse("cpus:1;mem:64").to_dicts(), "attributes": [{"name": "rack"}]}
    assert incompatibility(info, Resources.parse("cpus:1;mem:64"), [{"name": "rack"}]) == ""
    assert "resources changed" in incompatibility(info, Resources.parse("cpus:2;mem:64"), [{"name": "rack"}])
    assert "attributes changed" in incompatibility(info, Resources.parse("cpus:1;mem:64"), [])


def test_restored_stream_resends_pending_and_answers_acknowledged() -> None:
    manager = StatusUpdateManager(1.0, 8.0)
    manager.paused = True
    manager.restore("F", "T", [{"uuid": b"u2", "state": "TASK_FINISHED", "task_id": {"value": "T"}}], [b"u1"], True)
    assert manager.is_acknowledged("F", "T", b"u1")
    accepted, _ = manager.update("F", {"uuid": b"u2", "state": "TASK_FINISHED", "task_id": {"value": "T"}}, 0.0)
    assert not accepted  # the executor re-sends it: a duplicate
    [resent] = manager.resume(0.0)
    assert resent.uuid == b"u2"
    assert manager.record("F", "T") == ([resent.status], [b"u1"], True)
    assert manager.acknowledge("F", "T", b"u2", 0.0).stream_closed
    updates, acknowledged, terminated = manager.record("F", "T")
    assert updates == [] and set(acknowledged) == {b"u1", b"u2"} and terminated
    closed = StatusUpdateManager()
    closed.restore("F", "T", [], [b"u1"], True)
    assert closed.pending() == [] and closed.is_acknowledged("F", "T", b"u1")
