"""The checkpoint writes of the agent (mixed into AgentProcess through RecoveryMixin):
what is written when, for frameworks with ``checkpoint: true`` (the layout and the
atomic writes: actors/agent/checkpoint.py and checkpoint_io.py; docs/agent-recovery.md).

Written before it matters: the task before it is launched, the executor's pid right
after the fork, an update before it is forwarded, an acknowledgement before it is
passed on. An executor's checkpoint is removed once it is gone and all its updates
are acknowledged; its framework's once nothing of it is left.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from actors.agent.checkpoint_io import Checkpointer
from actors.agent.tasks import ExecutorEntry, TaskEntry, TaskTable, id_value
from actors.process import Process

if TYPE_CHECKING:
    from actors.agent.config import AgentConfig
    from actors.agent.status_updates import StatusUpdateManager

__all__ = ["CheckpointingMixin"]


class CheckpointingMixin(Process):
    """Needs the AgentProcess attributes below."""

    config: AgentConfig
    table: TaskTable
    updates: StatusUpdateManager
    agent_id: str
    checkpointer: Checkpointer

    if TYPE_CHECKING:
        def agent_info(self) -> dict[str, Any]: ...

    def _init_checkpointing(self) -> None:
        self.checkpointer = Checkpointer(self.config.work_dir)
        self._checkpointing: set[str] = set()   # frameworks checkpointed here
        self._runs: dict[tuple[str, str], tuple[str, str]] = {}  # (fid, tid) -> (eid, cid) of checkpointed tasks

    def _checkpoint(self, write: Callable[..., None], *args: Any) -> None:
        """``write(agent_id, *args)``; a failure is logged with its path, the agent goes on."""
        try:
            write(self.agent_id, *args)
        except OSError as e:
            self.log.error("checkpoint_write_failed", path=e.filename, error=e.strerror or str(e))

    def _checkpoint_agent(self) -> None:
        self._checkpoint(self.checkpointer.agent, self.agent_info())

    def _checkpoint_launch(self, executor: ExecutorEntry, task: dict[str, Any], created: bool) -> None:
        """Before the task is given to its executor: framework, executor (when new) and task."""
        fid, eid, cid = executor.framework_id, executor.executor_id, executor.container_id
        framework = self.table.frameworks[fid]
        if framework.info.get("checkpoint") is not True:
            return
        if fid not in self._checkpointing:
            self._checkpointing.add(fid)
            self._checkpoint(self.checkpointer.framework, fid, framework.info, framework.pid)
        if created:
            self._checkpoint(self.checkpointer.executor, fid, eid, executor.info, cid, executor.command_executor)
        tid = id_value(task.get("task_id"))
        self._runs[(fid, tid)] = (eid, cid)
        self._checkpoint(self.checkpointer.task, fid, eid, cid, task, tid)

    def _checkpoint_framework_pid(self, framework_id: str, pid: str) -> None:
        if framework_id in self._checkpointing:
            self._checkpoint(self.checkpointer.framework_pid, framework_id, pid)

    def _forked_pid_writer(self, executor: ExecutorEntry) -> Callable[[int], None] | None:
        """What checkpoints the executor's OS pid on the launcher thread, right after the fork
        (None: its framework does not checkpoint)."""
        if executor.framework_id not in self._checkpointing:
            return None
        where = (executor.framework_id, executor.executor_id, executor.container_id)
        token, curve_key = executor.token, executor.curve_key
        return lambda pid: self._checkpoint(self.checkpointer.forked_pid, *where, pid, token, curve_key)

    def _checkpoint_stream(self, framework_id: str, task_id: str, state: str) -> None:
        """After an update was accepted or acknowledged: the task's stream as it is now."""
        run = self._runs.get((framework_id, task_id))
        if run is None:
            return
        updates, acknowledged, terminated = self.updates.record(framework_id, task_id)
        task: TaskEntry | None = self.table.find_task(framework_id, task_id)
        self._checkpoint(self.checkpointer.updates, framework_id, *run, task_id, updates, acknowledged, terminated,
                         task.state if task is not None else state)
        if not updates and terminated:
            self._collect(framework_id, run[0])

    def _collect(self, framework_id: str, executor_id: str) -> None:
        """Forget the checkpoint of an executor that is gone and whose updates were all
        acknowledged (then of its framework, when nothing of it is left here)."""
        if framework_id not in self._checkpointing or (framework_id, executor_id) in self.table.executors:
            return
        if any(id_value(u.status.get("executor_id")) == executor_id for u in self.updates.pending(framework_id)):
            return
        self.checkpointer.remove_executor(self.agent_id, framework_id, executor_id)
        for key in [k for k, (eid, _) in self._runs.items() if k[0] == framework_id and eid == executor_id]:
            del self._runs[key]
        if not self.table.framework_executors(framework_id) and not any(k[0] == framework_id for k in self._runs):
            self.checkpointer.remove_framework(self.agent_id, framework_id)
            self._checkpointing.discard(framework_id)

    def _forget_checkpoint(self) -> None:
        """Shut down by the master: a restart must not recover this agent (Mesos unlinks ``latest``)."""
        try:
            os.unlink(self.checkpointer.paths.latest_agent)
        except FileNotFoundError:
            pass
        except OSError as e:
            self.log.error("checkpoint_write_failed", path=e.filename, error=e.strerror or str(e))
