"""The I/O of the agent's checkpoint: atomic writes (temporary file, fsync,
rename, fsync of the directory) and reading the tree back at start
(layout and encoding: actors/agent/checkpoint.py).

A kill -9 at any instant leaves each file either as it was or as it is
meant to be: the rename is the only step that changes what a reader sees.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from typing import Any, TypeVar

import structlog

from actors.agent.checkpoint import (
    AgentState,
    CheckpointError,
    ExecutorState,
    FrameworkState,
    MetaPaths,
    RunState,
    TaskState,
    decode,
    decode_updates,
    encode,
    encode_updates,
)

__all__ = ["Checkpointer", "atomic_symlink", "atomic_write", "read_state"]

log = structlog.get_logger(__name__)

T = TypeVar("T")


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str, data: bytes) -> None:
    """Replace ``path`` with ``data``: written to ``path.tmp``, fsynced, renamed over ``path``.
    One writer per path (the agent's actor thread), so one fixed temporary name suffices
    and a crash leaves at most that one stale file (overwritten by the next write)."""
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    tmp = f"{path}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(directory)


def atomic_symlink(link: str, target: str) -> None:
    """Point ``link`` at ``target`` (a name beside it), replacing an older link atomically."""
    directory = os.path.dirname(link)
    os.makedirs(directory, exist_ok=True)
    tmp = f"{link}.tmp"
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    os.symlink(target, tmp)
    os.replace(tmp, link)
    _fsync_dir(directory)


class Checkpointer:
    """Writes one agent's checkpoint (``work_dir/meta``); every method is one atomic step."""

    def __init__(self, work_dir: str) -> None:
        self.paths = MetaPaths(work_dir)

    def agent(self, aid: str, info: dict[str, Any]) -> None:
        """This agent is ``aid`` now; the checkpoints of earlier agent ids here are removed."""
        atomic_write(self.paths.agent_info(aid), encode(info))
        atomic_symlink(self.paths.latest_agent, aid)
        for old in _listdir(self.paths.agents):
            if old != aid:
                shutil.rmtree(self.paths.agent_dir(old), ignore_errors=True)

    def framework(self, aid: str, fid: str, info: dict[str, Any], pid: str) -> None:
        atomic_write(self.paths.framework_info(aid, fid), encode(info))
        atomic_write(self.paths.framework_pid(aid, fid), encode(pid))

    def framework_pid(self, aid: str, fid: str, pid: str) -> None:
        atomic_write(self.paths.framework_pid(aid, fid), encode(pid))

    def executor(self, aid: str, fid: str, eid: str, info: dict[str, Any], cid: str, command_executor: bool) -> None:
        atomic_write(self.paths.executor_info(aid, fid, eid),
                     encode({"executor_info": info, "command_executor": command_executor}))
        os.makedirs(self.paths.run_dir(aid, fid, eid, cid), exist_ok=True)
        atomic_symlink(self.paths.latest_run(aid, fid, eid), cid)

    def forked_pid(self, aid: str, fid: str, eid: str, cid: str, pid: int, token: str = "",
                   curve_key: str = "") -> None:
        if token:
            atomic_write(self.paths.token(aid, fid, eid, cid), encode(token))
        if curve_key:
            atomic_write(self.paths.curve_key(aid, fid, eid, cid), encode(curve_key))
        atomic_write(self.paths.forked_pid(aid, fid, eid, cid), encode(pid))

    def libprocess_pid(self, aid: str, fid: str, eid: str, cid: str, pid: str) -> None:
        atomic_write(self.paths.libprocess_pid(aid, fid, eid, cid), encode(pid))

    def task(self, aid: str, fid: str, eid: str, cid: str, task: dict[str, Any], tid: str) -> None:
        atomic_write(self.paths.task_info(aid, fid, eid, cid, tid), encode(task))

    def updates(self, aid: str, fid: str, eid: str, cid: str, tid: str, updates: list[dict[str, Any]],
                acknowledged: list[bytes], terminated: bool, state: str) -> None:
        atomic_write(self.paths.task_updates(aid, fid, eid, cid, tid),
                     encode_updates(updates, acknowledged, terminated, state))

    def remove_executor(self, aid: str, fid: str, eid: str) -> None:
        shutil.rmtree(self.paths.executor_dir(aid, fid, eid), ignore_errors=True)

    def remove_framework(self, aid: str, fid: str) -> None:
        shutil.rmtree(self.paths.framework_dir(aid, fid), ignore_errors=True)

    def remove_all(self) -> None:
        """Forget every agent checkpointed here (``--recover=cleanup``): the next start is a new agent."""
        shutil.rmtree(self.paths.agents, ignore_errors=True)


# --- reading back --------------------------------------------------------------------


class _Reader:
    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.errors: list[str] = []

    def load(self, path: str, check: Callable[[str, Any], T], *, decoder: Callable[[str, bytes], Any] = decode) -> T | None:
        """The checked value at ``path``; None when it is missing (not written yet) or, when not
        strict, bad (the error is kept). Strict: a bad file raises CheckpointError."""
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return None
        except OSError as e:
            self._bad(CheckpointError(path, f"cannot read: {e.strerror or e}"))
            return None
        try:
            return check(path, decoder(path, data))
        except CheckpointError as e:
            self._bad(e)
            return None

    def _bad(self, error: CheckpointError) -> None:
        if self.strict:
            raise error
        log.error("checkpoint_skipped", path=error.path, reason=error.reason)
        self.errors.append(str(error))
        return None


def _dict(path: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CheckpointError(path, f"expected a map, got {type(value).__name__}")
    return value


def _str(path: str, value: Any) -> str:
    if not isinstance(value, str):
        raise CheckpointError(path, f"expected text, got {type(value).__name__}")
    return value


def _executor(path: str, value: Any) -> tuple[dict[str, Any], bool]:
    if not isinstance(value, dict) or not isinstance(value.get("executor_info"), dict):
        raise CheckpointError(path, "expected a map with an 'executor_info' map")
    return value["executor_info"], bool(value.get("command_executor"))


def _pid(path: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise CheckpointError(path, f"expected a process id > 0, got {value!r}")
    return value


def _listdir(path: str) -> list[str]:
    try:
        return sorted(e.name for e in os.scandir(path) if e.is_dir(follow_symlinks=False))
    except FileNotFoundError:
        return []


def _readlink(path: str) -> str | None:
    try:
        target = os.readlink(path)
    except OSError:
        return None
    return os.path.basename(target) or None


def read_state(work_dir: str, strict: bool) -> AgentState | None:
    """The checkpointed agent of ``work_dir`` (that ``meta/slaves/latest`` names), or None when
    there is none. ``strict``: a torn or corrupt file raises CheckpointError naming it; else
    the entry it holds is skipped and the error listed in ``AgentState.errors``."""
    paths = MetaPaths(work_dir)
    aid = _readlink(paths.latest_agent)
    if aid is None:
        return None
    reader = _Reader(strict)
    info = reader.load(paths.agent_info(aid), _dict)
    if info is None:
        if reader.errors:
            log.error("checkpointed_agent_skipped", agent_id=aid, reason="its agent info cannot be read")
        return None
    state = AgentState(aid, info, errors=reader.errors)
    for fid in _listdir(os.path.join(paths.agent_dir(aid), "frameworks")):
        finfo = reader.load(paths.framework_info(aid, fid), _dict)
        if finfo is None:
            continue
        framework = FrameworkState(fid, finfo, reader.load(paths.framework_pid(aid, fid), _str) or "")
        for eid in _listdir(os.path.join(paths.framework_dir(aid, fid), "executors")):
            loaded = reader.load(paths.executor_info(aid, fid, eid), _executor)
            if loaded is None:
                continue
            executor = framework.executors[eid] = ExecutorState(eid, *loaded)
            cid = _readlink(paths.latest_run(aid, fid, eid))
            if cid is None:
                continue
            run = executor.run = RunState(cid, reader.load(paths.forked_pid(aid, fid, eid, cid), _pid),
                                          reader.load(paths.libprocess_pid(aid, fid, eid, cid), _str) or "",
                                          reader.load(paths.token(aid, fid, eid, cid), _str) or "",
                                          reader.load(paths.curve_key(aid, fid, eid, cid), _str) or "")
            for tid in _listdir(os.path.join(paths.run_dir(aid, fid, eid, cid), "tasks")):
                tinfo = reader.load(paths.task_info(aid, fid, eid, cid, tid), _dict)
                if tinfo is None:
                    continue
                task = run.tasks[tid] = TaskState(tid, tinfo)
                stream = reader.load(paths.task_updates(aid, fid, eid, cid, tid), lambda _, v: v,
                                     decoder=decode_updates)
                if stream is not None:
                    task.updates, task.acknowledged, task.terminated, task.state = stream
        state.frameworks[fid] = framework
    return state
