"""The agent's checkpoint (pure): where each piece lives under ``work_dir/meta/``
and how it is encoded, in Mesos' layout (docs/agent-recovery.md)::

    meta/slaves/latest                               -> <agent_id> (symlink)
    meta/slaves/<aid>/slave.info                     AgentInfo
    meta/slaves/<aid>/frameworks/<fid>/framework.info, framework.pid
    .../frameworks/<fid>/executors/<eid>/executor.info  ExecutorInfo (and whether it is our command executor)
    .../executors/<eid>/runs/latest                  -> <container_id> (symlink)
    .../runs/<cid>/pids/forked.pid                   the executor's OS pid
    .../runs/<cid>/pids/libprocess.pid               the executor's actor pid (once registered)
    .../runs/<cid>/pids/executor.token               the token it registers with (mesopy's)
    .../runs/<cid>/pids/executor.curve_key           with CURVE: its public key, pinned again on recovery
    .../runs/<cid>/tasks/<tid>/task.info             TaskInfo
    .../runs/<cid>/tasks/<tid>/task.updates          the status update stream and its acknowledgements

Each file is one record: a header line (``mesopy-checkpoint 1 <crc32>``) and a
msgpack body, so a torn or corrupt file is told apart from a good one and
reported with its path (CheckpointError). Only frameworks with ``checkpoint:
true`` are written. The I/O (atomic writes, reading the tree back) is in
actors/agent/checkpoint_io.py.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, field
from typing import Any

import msgpack

__all__ = [
    "ACKNOWLEDGED_KEPT", "AgentState", "CheckpointError", "ExecutorState", "FrameworkState", "MetaPaths",
    "RunState", "TaskState", "decode", "decode_updates", "encode", "encode_updates",
]

_MAGIC = b"mesopy-checkpoint 1 "
ACKNOWLEDGED_KEPT = 100  # acknowledged uuids kept per stream (to answer a late duplicate); older ones forgotten


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read back; ``path`` names it."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"checkpoint {path!r}: {reason}")
        self.path = path
        self.reason = reason


def encode(value: Any) -> bytes:
    body = msgpack.packb(value, use_bin_type=True)
    return _MAGIC + b"%08x\n" % zlib.crc32(body) + body


def decode(path: str, data: bytes) -> Any:
    """The value of a file written by ``encode``; CheckpointError (naming ``path``) when torn or corrupt."""
    if not data.startswith(_MAGIC):
        raise CheckpointError(path, "not a mesopy checkpoint (bad header)" if data else "empty file")
    header_end = len(_MAGIC) + 9
    if len(data) < header_end or data[header_end - 1:header_end] != b"\n":
        raise CheckpointError(path, "truncated header")
    try:
        crc = int(data[len(_MAGIC):header_end - 1], 16)
    except ValueError:
        raise CheckpointError(path, "bad checksum field") from None
    body = data[header_end:]
    if zlib.crc32(body) != crc:
        raise CheckpointError(path, f"checksum mismatch ({len(body)} body bytes): torn or corrupt")
    try:
        return msgpack.unpackb(body, raw=False)
    except ValueError as e:
        raise CheckpointError(path, f"undecodable body: {e}") from None


def encode_updates(updates: list[dict[str, Any]], acknowledged: list[bytes], terminated: bool, state: str) -> bytes:
    """A stream: the updates not yet acknowledged (in order), the latest acknowledged uuids, whether
    its terminal update was received, and the task's latest state."""
    return encode({"updates": updates, "acknowledged": acknowledged[-ACKNOWLEDGED_KEPT:], "terminated": terminated,
                   "state": state})


def decode_updates(path: str, data: bytes) -> tuple[list[dict[str, Any]], list[bytes], bool, str]:
    value = decode(path, data)
    if not isinstance(value, dict):
        raise CheckpointError(path, f"status update stream must be a map, got {type(value).__name__}")
    updates, acknowledged = value.get("updates"), value.get("acknowledged")
    if not isinstance(updates, list) or not all(isinstance(u, dict) and isinstance(u.get("uuid"), bytes)
                                                for u in updates):
        raise CheckpointError(path, "status update stream: 'updates' must be a list of statuses with a uuid")
    if not isinstance(acknowledged, list) or not all(isinstance(u, bytes) for u in acknowledged):
        raise CheckpointError(path, "status update stream: 'acknowledged' must be a list of uuids")
    state = value.get("state")
    if not isinstance(state, str) or not state.startswith("TASK_"):
        raise CheckpointError(path, f"status update stream: bad task state {state!r}")
    return updates, acknowledged, bool(value.get("terminated")), state


class MetaPaths:
    """Paths of the checkpoint under ``work_dir/meta`` (ids are used as directory names as they are)."""

    def __init__(self, work_dir: str) -> None:
        self.meta = os.path.join(work_dir, "meta")
        self.agents = os.path.join(self.meta, "slaves")
        self.latest_agent = os.path.join(self.agents, "latest")

    def agent_dir(self, aid: str) -> str:
        return os.path.join(self.agents, aid)

    def agent_info(self, aid: str) -> str:
        return os.path.join(self.agents, aid, "slave.info")

    def framework_dir(self, aid: str, fid: str) -> str:
        return os.path.join(self.agents, aid, "frameworks", fid)

    def framework_info(self, aid: str, fid: str) -> str:
        return os.path.join(self.framework_dir(aid, fid), "framework.info")

    def framework_pid(self, aid: str, fid: str) -> str:
        return os.path.join(self.framework_dir(aid, fid), "framework.pid")

    def executor_dir(self, aid: str, fid: str, eid: str) -> str:
        return os.path.join(self.framework_dir(aid, fid), "executors", eid)

    def executor_info(self, aid: str, fid: str, eid: str) -> str:
        return os.path.join(self.executor_dir(aid, fid, eid), "executor.info")

    def latest_run(self, aid: str, fid: str, eid: str) -> str:
        return os.path.join(self.executor_dir(aid, fid, eid), "runs", "latest")

    def run_dir(self, aid: str, fid: str, eid: str, cid: str) -> str:
        return os.path.join(self.executor_dir(aid, fid, eid), "runs", cid)

    def forked_pid(self, aid: str, fid: str, eid: str, cid: str) -> str:
        return os.path.join(self.run_dir(aid, fid, eid, cid), "pids", "forked.pid")

    def token(self, aid: str, fid: str, eid: str, cid: str) -> str:
        return os.path.join(self.run_dir(aid, fid, eid, cid), "pids", "executor.token")

    def curve_key(self, aid: str, fid: str, eid: str, cid: str) -> str:
        return os.path.join(self.run_dir(aid, fid, eid, cid), "pids", "executor.curve_key")

    def libprocess_pid(self, aid: str, fid: str, eid: str, cid: str) -> str:
        return os.path.join(self.run_dir(aid, fid, eid, cid), "pids", "libprocess.pid")

    def task_dir(self, aid: str, fid: str, eid: str, cid: str, tid: str) -> str:
        return os.path.join(self.run_dir(aid, fid, eid, cid), "tasks", tid)

    def task_info(self, aid: str, fid: str, eid: str, cid: str, tid: str) -> str:
        return os.path.join(self.task_dir(aid, fid, eid, cid, tid), "task.info")

    def task_updates(self, aid: str, fid: str, eid: str, cid: str, tid: str) -> str:
        return os.path.join(self.task_dir(aid, fid, eid, cid, tid), "task.updates")


# --- what a restarted agent reads back --------------------------------------------


@dataclass
class TaskState:
    task_id: str
    info: dict[str, Any]
    updates: list[dict[str, Any]] = field(default_factory=list)   # not yet acknowledged, in order
    acknowledged: list[bytes] = field(default_factory=list)
    terminated: bool = False                                       # its terminal update was received
    state: str = "TASK_STAGING"                                    # its latest state


@dataclass
class RunState:
    """The latest run (container) of an executor."""

    container_id: str
    forked_pid: int | None = None
    libprocess_pid: str = ""
    token: str = ""  # what the executor registers with (MESOS_EXECUTOR_AUTHENTICATION_TOKEN)
    curve_key: str = ""  # with CURVE: the executor's public key (the agent made its pair)
    tasks: dict[str, TaskState] = field(default_factory=dict)


@dataclass
class ExecutorState:
    executor_id: str
    info: dict[str, Any]
    command_executor: bool = False
    run: RunState | None = None


@dataclass
class FrameworkState:
    framework_id: str
    info: dict[str, Any]
    pid: str = ""
    executors: dict[str, ExecutorState] = field(default_factory=dict)


@dataclass
class AgentState:
    """Everything recovered; ``errors`` lists what was skipped (non-strict), each naming its path."""

    agent_id: str
    info: dict[str, Any]
    frameworks: dict[str, FrameworkState] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def runs(self) -> list[tuple[FrameworkState, ExecutorState, RunState]]:
        return [(f, e, e.run) for f in self.frameworks.values() for e in f.executors.values() if e.run is not None]
