"""Agent recovery after a restart, and the checkpoint writes that make it
possible (mixed into AgentProcess; rules: docs/agent-recovery.md).

At start the agent reads ``work_dir/meta`` (``load_checkpoint``: a bad file
or changed resources/attributes stop it before it starts). On its thread
(``_recover``) it then rebuilds its table and status update streams, keeps
the containers of live executors and destroys the rest, reports the tasks of
executors that died while it was down (TASK_FAILED, REASON_EXECUTOR_TERMINATED)
and sends each live executor ReconnectExecutor. Executors that have not
re-registered within ``--executor_reregistration_timeout`` are killed and
their tasks end TASK_LOST (TASK_GONE for PARTITION_AWARE frameworks) with
REASON_EXECUTOR_REREGISTRATION_TIMEOUT, as in Mesos. Only then does it
re-register with the master, under the same agent id, and resume the updates
not yet acknowledged. ``--recover=cleanup`` kills the live executors, forgets
the checkpoint and stops the agent instead.
"""

from __future__ import annotations

import os
import select
import signal
import time
from typing import TYPE_CHECKING, Any

from actors.agent.checkpoint import AgentState, CheckpointError, ExecutorState, FrameworkState, MetaPaths, RunState
from actors.agent.checkpoint_io import read_state
from actors.agent.checkpointing import CheckpointingMixin
from actors.agent.config import AgentConfig, ConfigError
from actors.agent.launcher import Reaper, sandbox_path
from actors.agent.tasks import (
    RECOVERING,
    REGISTERED,
    TERMINATING,
    ExecutorEntry,
    TaskTable,
    TaskTableError,
    id_value,
)
from actors.resources import Resources, ResourcesError
from transport.messages import (
    ExecutorReregistered,
    ReconnectExecutor,
    RegisterExecutor,
    ReregisterExecutor,
    ShutdownExecutor,
    StatusUpdate,
)
from transport.pid import PID

if TYPE_CHECKING:
    from actors.clock import Timer
    from isolation import Isolator, Limitation, Limits

__all__ = ["RecoveryError", "RecoveryMixin", "incompatibility", "load_checkpoint"]


class RecoveryError(ConfigError):
    """The agent cannot start from its checkpoint; the message says why and what to do."""


def incompatibility(checkpointed: dict[str, Any], resources: Resources, attributes: list[dict[str, object]]) -> str:
    """Why an agent with ``resources`` and ``attributes`` cannot recover the checkpointed
    AgentInfo (Mesos' default reconfiguration policy: they must be equal); "" when it can."""
    try:
        before = Resources.from_dicts(checkpointed.get("resources") or [])
    except ResourcesError as e:
        return f"its checkpointed resources are invalid: {e}"
    if before != resources:
        return f"resources changed from '{before}' to '{resources}'"
    if (checkpointed.get("attributes") or []) != attributes:
        return f"attributes changed from {checkpointed.get('attributes') or []} to {attributes}"
    return ""


def load_checkpoint(config: AgentConfig, resources: Resources, attributes: list[dict[str, object]]) -> AgentState | None:
    """The checkpointed agent of ``config.work_dir`` (None: there is none); RecoveryError when it
    cannot be used: a torn or corrupt file (with ``--strict``), or other resources or attributes."""
    try:
        state = read_state(config.work_dir, config.strict)
    except CheckpointError as e:
        raise RecoveryError(f"cannot recover: {e}; remove that file, or start with --no-strict to skip "
                            "what it holds") from None
    if state is None:
        return None
    problem = incompatibility(state.info, resources, attributes)
    if problem:
        paths = MetaPaths(config.work_dir)
        raise RecoveryError(f"cannot recover agent {state.agent_id} from {paths.meta}: {problem}; restore "
                            f"the old flags, or remove {paths.latest_agent} to start as a new agent")
    return state


def _partition_aware(info: dict[str, Any]) -> bool:
    return any(isinstance(c, dict) and c.get("type") == "PARTITION_AWARE" for c in info.get("capabilities") or [])


def _alive(pid: int | None, container_id: str) -> bool:
    """Whether ``pid`` is still the executor of ``container_id`` (not a zombie, and not another
    process that reused the pid: an executor's environment names its container)."""
    if pid is None:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            if f.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                return False
        with open(f"/proc/{pid}/environ", "rb") as f:
            return f"MESOS_CONTAINER_ID={container_id}".encode() in f.read().split(b"\0")
    except PermissionError:  # not ours to read: trust the pid
        return True
    except (OSError, IndexError):
        return False


class RecoveryMixin(CheckpointingMixin):
    """Needs the AgentProcess attributes below; the ``if TYPE_CHECKING`` methods are its own or
    its other mixins'."""

    isolator: Isolator
    reaper: Reaper
    resources: Resources
    attributes: list[dict[str, object]]
    recovering = False  # True from start until the recovered executors re-registered (or timed out)
    _recovered: AgentState | None = None
    _recovery_timer: Timer | None = None

    if TYPE_CHECKING:
        def _agent_update(self, framework_id: str, task_id: str, executor_id: str, state: str, reason: str,
                          message: str) -> None: ...

        def _executor_exited(self, key: tuple[str, str], cid: str, returncode: int | None) -> None: ...

        def _status_update(self, sender: PID, msg: StatusUpdate) -> None: ...

        def _on_limitation(self, cid: str, limitation: Limitation) -> None: ...

        def _limits(self, executor: ExecutorEntry) -> Limits: ...

        def _update_limits(self, executor: ExecutorEntry) -> None: ...

        def _destroy(self, executor: ExecutorEntry) -> None: ...

        def _cleanup_container(self, cid: str) -> None: ...

        def _register(self) -> None: ...

        def executor_token_error(self, sender: PID, msg: RegisterExecutor | ReregisterExecutor) -> bool: ...

    # --- start -------------------------------------------------------------------------

    def _init_recovery(self, state: AgentState | None) -> None:
        """In the constructor, with what ``load_checkpoint`` read."""
        self._init_checkpointing()
        if state is not None:
            self._recovered, self.agent_id = state, state.agent_id

    def _recover(self) -> None:
        """In initialize: recover executors and streams, then (or at the timeout) register."""
        state, self._recovered = self._recovered, None
        self.recovering = True
        restored = [e for run in (state.runs() if state else []) if (e := self._restore(*run)) is not None]
        live = [e for e in restored if _alive(e.os_pid, e.container_id)]
        if self.config.recover == "cleanup":
            self._cleanup(live)
            return
        orphans = self.isolator.recover({e.container_id for e in live})
        if orphans:
            self.log.warning("orphan_containers_destroyed", container_ids=orphans)
        for executor in restored:
            if executor in live:
                self._reconnect(executor)
            else:  # died while the agent was down
                self.log.warning("recovered_executor_gone", executor_id=executor.executor_id, os_pid=executor.os_pid)
                self._executor_exited(executor.key, executor.container_id, None)
        if state is not None:
            self.log.info("agent_recovering", agent_id=state.agent_id, executors=len(restored), live=len(live),
                          skipped=len(state.errors))
        if any(e.state == RECOVERING for e in live):
            self._recovery_timer = self.delay(self.config.executor_reregistration_timeout,
                                              self._reregistration_timeout)
        else:
            self._recovered_all()

    def _restore(self, framework: FrameworkState, es: ExecutorState, run: RunState) -> ExecutorEntry | None:
        fid, eid, cid = framework.framework_id, es.executor_id, run.container_id
        self._checkpointing.add(fid)
        for task in run.tasks.values():
            self.updates.restore(fid, task.task_id, task.updates, task.acknowledged, task.terminated)
            self._runs[(fid, task.task_id)] = (eid, cid)
        self.table.add_framework(fid, framework.info, framework.pid)
        tasks = [(t.info, t.state) for t in run.tasks.values() if t.updates or not t.terminated]
        try:
            executor = self.table.restore(fid, es.info, cid, es.command_executor, tasks, bool(run.libprocess_pid))
        except TaskTableError as e:
            self.log.error("executor_not_recovered", executor_id=eid, framework_id=fid, error=str(e))
            return None
        executor.directory = sandbox_path(self.config.work_dir, self.agent_id, fid, eid, cid)
        executor.os_pid, executor.pid, executor.token = run.forked_pid, run.libprocess_pid, run.token
        executor.curve_key = run.curve_key
        return executor

    def _reconnect(self, executor: ExecutorEntry) -> None:
        cid, key = executor.container_id, executor.key
        assert executor.os_pid is not None
        try:
            self.isolator.adopt(cid, self._limits(executor), executor.directory, executor.os_pid)
            self.isolator.watch(cid, lambda c, limitation: self.run(self._on_limitation, c, limitation))
        except Exception as e:  # IsolationError, or limits the isolator refuses: it still runs, unlimited
            self.log.error("container_not_recovered", container_id=cid, error=str(e))
        self.reaper.watch_pid(executor.os_pid, lambda rc: self.run(self._executor_exited, key, cid, rc))
        if executor.pid:
            if executor.curve_key and self.node.public_key:  # its pair is ours: we know its key anew
                self.node.pin(PID.parse(executor.pid).address, executor.curve_key.encode())
            self.send(PID.parse(executor.pid), ReconnectExecutor(agent_id=self.agent_id))
        self.log.info("executor_reconnecting", executor_id=executor.executor_id, framework_id=executor.framework_id,
                      os_pid=executor.os_pid, pid=executor.pid or None)

    def _cleanup(self, live: list[ExecutorEntry]) -> None:
        for executor in live:
            assert executor.os_pid is not None
            try:
                os.killpg(executor.os_pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.table = TaskTable()
        destroyed = self.isolator.recover(set())
        self.checkpointer.remove_all()
        self.log.warning("agent_cleanup_done", executors_killed=len(live), containers_destroyed=destroyed,
                         detail="--recover=cleanup: the checkpoint is removed and the agent stops")
        self.stop()

    def _reregistration_timeout(self) -> None:
        self._recovery_timer = None
        timeout = self.config.executor_reregistration_timeout
        for executor in [e for e in self.table.executors.values() if e.state == RECOVERING]:
            framework = self.table.frameworks.get(executor.framework_id)
            aware = framework is not None and _partition_aware(framework.info)
            self.log.warning("executor_reregistration_timeout", executor_id=executor.executor_id, timeout=timeout)
            executor.termination_state = "TASK_GONE" if aware else "TASK_LOST"
            executor.reason = "REASON_EXECUTOR_REREGISTRATION_TIMEOUT"
            executor.message = f"Executor did not reregister within {timeout:g} s"
            self._destroy(executor)
            executor.state = TERMINATING  # a late re-registration is refused
        self._recovered_all()

    def _recovered_all(self) -> None:
        if not self.recovering:
            return
        if self._recovery_timer is not None:
            self._recovery_timer.cancel()
            self._recovery_timer = None
        self.recovering = False
        self.log.info("agent_recovered", agent_id=self.agent_id or None, executors=len(self.table.executors))
        self._register()

    def _stop_recovered(self, deadline: float, children: set[str]) -> None:
        """At stop (executors shut down): wait until ``deadline`` (time.monotonic) for each
        recovered executor (not one of our ``children``' containers) to exit, kill it past
        that, and clean its container up."""
        for executor in list(self.table.executors.values()):
            if executor.container_id in children or not executor.os_pid:
                continue
            try:
                fd = os.pidfd_open(executor.os_pid)
            except ProcessLookupError:
                fd = None
            if fd is not None:
                try:
                    if not select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
                        os.killpg(executor.os_pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                finally:
                    os.close(fd)
            self._cleanup_container(executor.container_id)

    # --- executors coming back -------------------------------------------------------

    def _reregister_executor(self, sender: PID, msg: ReregisterExecutor) -> None:
        if self.executor_token_error(sender, msg):
            return
        executor = self.table.executors.get((msg.framework_id, msg.executor_id))
        if executor is None or executor.state != RECOVERING or executor.pid not in ("", str(sender)):
            self.log.warning("executor_reregistration_refused", sender=str(sender), executor_id=msg.executor_id,
                             reason="not a recovering executor of this agent")
            self.send(sender, ShutdownExecutor())
            return
        executor.state, executor.pid = REGISTERED, str(sender)
        self.link(sender)
        self.log.info("executor_reregistered", executor_id=msg.executor_id, framework_id=msg.framework_id,
                      pid=str(sender), tasks=len(msg.tasks), updates=len(msg.updates))
        self.send(sender, ExecutorReregistered(agent_id=self.agent_id, agent_info=self.agent_info()))
        for status in msg.updates:  # what it sent while we were down; the ones we have are duplicates
            if isinstance(status, dict) and isinstance(status.get("uuid"), bytes):
                self._status_update(sender, StatusUpdate(framework_id=msg.framework_id, status=status,
                                                         uuid=status["uuid"], agent_id=self.agent_id,
                                                         executor_id=msg.executor_id))
        known = {id_value(t.get("task_id")) for t in msg.tasks if isinstance(t, dict)}
        for task in list(executor.tasks.values()):
            if task.state == "TASK_STAGING" and task.task_id not in known:  # Mesos: launched during the restart
                self._agent_update(executor.framework_id, task.task_id, executor.executor_id, "TASK_LOST",
                                   "REASON_AGENT_RESTARTED", "Task launched during agent restart")
        self._update_limits(executor)
        self._checkpoint_registered(executor)

    def _checkpoint_registered(self, executor: ExecutorEntry) -> None:
        """The executor (re-)registered: its pid is checkpointed; the last recovered one to come
        back ends the recovery."""
        if executor.framework_id in self._checkpointing:
            self._checkpoint(self.checkpointer.libprocess_pid, executor.framework_id, executor.executor_id,
                             executor.container_id, executor.pid)
        if self.recovering and not any(e.state == RECOVERING for e in self.table.executors.values()):
            self._recovered_all()

    def _terminated_tasks(self) -> list[dict[str, Any]]:
        """Tasks of executors gone whose updates are not all acknowledged, for ReregisterAgent
        (Mesos reports them with their latest state, so the master does not call them lost)."""
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for update in self.updates.pending():
            key = (update.framework_id, update.task_id)
            if key in out or self.table.find_task(*key) is not None:
                continue
            latest = self.updates.latest(*key) or update
            out[key] = {"task_id": {"value": update.task_id}, "framework_id": {"value": update.framework_id},
                        "executor_id": update.status.get("executor_id") or {"value": ""},
                        "agent_id": {"value": self.agent_id}, "state": latest.status.get("state"),
                        "resources": [], "name": ""}
        return list(out.values())


