"""The executor half of the agent actor: launch, registration, limits,
shutdown and exit of executor containers (mixed into AgentProcess)."""

from __future__ import annotations

import hmac
import os
import secrets
import signal
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from actors.agent.checkpointed import link_volumes
from actors.agent.environment import executor_environment
from actors.entitlement import Entitlements
from actors.agent.launcher import Child, LaunchSpec, Reaper, executor_argv, sandbox_path, wait_status
from actors.agent.tasks import RECOVERING, REGISTERED, TERMINATING, ExecutorEntry, TaskTableError, id_value
from actors.agent.zygote_client import ExecutorLauncher
from actors.agent.users import TASK_USER_VARIABLE, RunAs, executor_user, resolve_run_as, switch_user_argv
from actors.process import Process
from isolation import IsolationError, Limitation, Limits
from transport.messages import (
    ExecutorRegistered,
    ExitedExecutor,
    RegisterExecutor,
    ReregisterExecutor,
    RunTask,
    ShutdownExecutor,
)
from transport.endpoint import generate_key_pair
from transport.pid import PID

if TYPE_CHECKING:
    from actors.agent.config import AgentConfig
    from actors.agent.emulated import EmulatedExecutors
    from actors.agent.tasks import TaskTable
    from isolation import Isolator

__all__ = ["ExecutorsMixin", "kill_group"]


class ExecutorsMixin(Process):
    """Needs the AgentProcess attributes below; ``_agent_update`` is AgentProcess's."""

    config: AgentConfig
    table: TaskTable
    isolator: Isolator
    agent_id: str
    master: PID | None
    http_port: int | None
    connected: bool
    _procs: dict[str, Child]
    _launching: dict[str, Future[Child]]
    reaper: Reaper
    launcher: ThreadPoolExecutor
    executor_launcher: ExecutorLauncher
    checkpointed: list[dict[str, Any]]
    entitlements: Entitlements
    emulated: EmulatedExecutors | None = None  # set by LocalCluster(executor="emulated"): no OS processes

    if TYPE_CHECKING:
        def _agent_update(self, framework_id: str, task_id: str, executor_id: str, state: str, reason: str,
                          message: str) -> None: ...

        def agent_info(self) -> dict[str, Any]: ...

        def _forked_pid_writer(self, executor: ExecutorEntry) -> Callable[[int], None] | None: ...

        def _checkpoint_registered(self, executor: ExecutorEntry) -> None: ...

        def _collect(self, framework_id: str, executor_id: str) -> None: ...
    def _init_launchers(self, threads: int) -> None:
        """The reaper of exec'd executors, ``threads`` launch threads (fork/exec off the actor's
        thread) and the executor launcher (zygote) that forks command executors."""
        self.reaper = Reaper()
        self.launcher = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="executor-launcher")
        self.executor_launcher = ExecutorLauncher(self.reaper, enabled=self.config.executor_launcher)
        self._procs = {}
        self._launching = {}

    def _close_launchers(self) -> None:
        self.executor_launcher.close()
        self.reaper.close()

    # --- executors -------------------------------------------------------------------

    def executor_token_error(self, sender: PID, msg: RegisterExecutor | ReregisterExecutor) -> bool:
        """With --authenticate_http_executors, a registration without the token the agent put in that
        executor's environment is dropped (counted, logged); True when refused."""
        if not self.config.authenticate_http_executors:
            return False
        entry = self.table.executors.get((msg.framework_id, msg.executor_id))
        expected = entry.token if entry is not None else ""
        if expected and hmac.compare_digest(expected.encode(), msg.token.encode()):
            return False
        self.entitlements.refuse(str(sender), type(msg).__name__,
                                 "missing_executor_token" if not msg.token else "wrong_executor_token")
        return True

    def _register_executor(self, sender: PID, msg: RegisterExecutor) -> None:
        if self.executor_token_error(sender, msg):
            return
        known = self.table.executors.get((msg.framework_id, msg.executor_id))
        if known is not None and known.state in (REGISTERED, RECOVERING) and known.pid == str(sender):
            return  # a retry of a registration already answered (or being recovered): it retries until answered
        try:
            executor, queued = self.table.registered(msg.framework_id, msg.executor_id, str(sender))
        except TaskTableError as e:
            self.log.warning("executor_registration_refused", sender=str(sender), error=str(e))
            self.send(sender, ShutdownExecutor())
            return
        if executor.timer is not None:
            executor.timer.cancel()
        self.link(sender)
        self._checkpoint_registered(executor)
        self._update_limits(executor)  # its own endpoint is now known (network/ports)
        framework = self.table.frameworks[msg.framework_id]
        self.log.info("executor_registered", executor_id=msg.executor_id, framework_id=msg.framework_id,
                      pid=str(sender))
        self.send(sender, ExecutorRegistered(executor_info=executor.info, framework_info=framework.info,
                                             agent_info=self.agent_info(), agent_id=self.agent_id))
        for task in queued:
            self.send(sender, RunTask(framework=framework.info, framework_pid=framework.pid, task=task))

    def _stamp_container(self, framework_id: str, status: dict[str, Any]) -> None:
        """Add the task's container to its status, as Mesos' ``container_status``
        (``container_id``, ``executor_pid``), with mesopy's ``directory``: the sandbox."""
        executor = self.table.executor_of_task(framework_id, id_value(status.get("task_id")))
        if executor is None or "container_status" in status:
            return
        container: dict[str, Any] = {"container_id": {"value": executor.container_id}}
        if executor.os_pid:
            container["executor_pid"] = executor.os_pid
        if executor.directory:
            container["directory"] = executor.directory
        status["container_status"] = container

    def _limits(self, executor: ExecutorEntry) -> Limits:
        total = self.table.container_resources(executor)
        pids = int(total.scalar("pids"))
        ports: tuple[tuple[int, int], ...] | None = None
        if executor.pid:  # once registered: its tasks' ports and the executor's own endpoint
            own = PID.parse(executor.pid).port
            ports = (*total.ranges("ports"), (own, own))
        return Limits(cpus=total.scalar("cpus"), mem_mb=total.scalar("mem"), pids=pids if pids > 0 else None,
                      disk_mb=total.scalar("disk") or None, ports=ports)

    def _update_limits(self, executor: ExecutorEntry) -> None:
        try:
            self.isolator.update(executor.container_id, self._limits(executor))
        except IsolationError as e:
            self.log.warning("container_update_failed", container_id=executor.container_id, error=str(e))

    def _launch(self, executor: ExecutorEntry) -> None:
        """Prepare the container and start the executor's OS process on a launcher thread:
        the fork/exec (tens of ms on a loaded machine) does not hold up this actor."""
        cid = executor.container_id
        executor.directory = sandbox_path(self.config.work_dir, self.agent_id or "unregistered",
                                          executor.framework_id, executor.executor_id, cid)
        framework = self.table.frameworks[executor.framework_id]
        executor.token = secrets.token_urlsafe(32)  # it proves with this that we launched it (executor_token_error)
        curve = generate_key_pair() if self.node.public_key else None  # its links' pair (in its environment)
        executor.curve_key = curve.public.decode() if curve is not None else ""
        try:
            self.isolator.prepare(cid, self._limits(executor), executor.directory)
            run_as = resolve_run_as(executor_user(executor.info, framework.info), self.config.switch_user)
            for task in executor.queued:
                self._link_volumes(executor.directory, task, run_as)
            argv = executor_argv(executor.info.get("command") or {})
            # Our command executor is ours to trust: it starts as the agent and switches
            # to the user for the task's command alone, so the user need not be able to
            # read the agent's Python or mesopy. Any other executor switches itself.
            if run_as is not None and not executor.command_executor:  # innermost: after the root-only cgroup join
                argv = switch_user_argv(run_as, argv)
            argv = self.isolator.wrap(cid, argv)
            # Our command executor can also be forked from the agent's zygote, entering its container so.
            entry = self.isolator.entry(cid) if executor.command_executor else None
            # HTTP executors (pymesos' MesosExecutorDriver) find the v1 executor API there.
            endpoint = f"{self.pid.host}:{self.http_port}" if self.http_port is not None else None
            env = executor_environment(self.config, executor, framework.info, str(self.pid), self.agent_id,
                                       agent_endpoint=endpoint, curve=curve, agent_public_key=self.node.public_key)
            if run_as is not None:
                env = {**run_as.environment(), **env}
                if executor.command_executor:
                    env[TASK_USER_VARIABLE] = run_as.name
        except (OSError, ValueError, IsolationError) as e:
            self._launch_failed(executor, e)
            return
        key = executor.key
        if self.emulated is not None:
            self.emulated.launch(executor.framework_id, executor.executor_id, cid, executor.command_executor,
                                 lambda rc: self.run(self._executor_exited, key, cid, rc), executor.token)
            executor.timer = self.delay(self.config.executor_registration_timeout, self._registration_timeout, key, cid)
            return
        future = self.launcher.submit(self.executor_launcher.launch,
                                      LaunchSpec(argv, executor.directory, env, run_as, entry),
                                      self._forked_pid_writer(executor))
        self._launching[cid] = future
        future.add_done_callback(lambda f: self.run(self._launched, key, cid, f))
        executor.timer = self.delay(self.config.executor_registration_timeout, self._registration_timeout, key, cid)

    def _link_volumes(self, sandbox: str, task: dict[str, Any], run_as: RunAs | None = None) -> None:
        """The task's volumes in its sandbox; a volume nobody else uses now is given to the task's user."""
        for link in link_volumes(self.config.work_dir, sandbox, task, self.checkpointed):
            if run_as is not None:
                os.chown(os.path.realpath(link), run_as.uid, run_as.gid)
            self.log.info("volume_linked", task_id=id_value(task.get("task_id")), link=link)

    def _launched(self, key: tuple[str, str], cid: str, future: Future[Child]) -> None:
        if self._launching.pop(cid, None) is None:
            return  # already handled (finalize)
        executor = self.table.executors.get(key)
        current = executor is not None and executor.container_id == cid
        error = future.exception()
        if error is not None:
            if executor is not None and current:
                self._launch_failed(executor, error)
            else:
                self._cleanup_container(cid)
            return
        proc = future.result()
        try:
            self.isolator.isolate(cid, proc.pid)
            self.isolator.watch(cid, lambda c, limitation: self.run(self._on_limitation, c, limitation))
        except IsolationError as e:
            self.log.error("executor_isolation_failed", container_id=cid, error=str(e))
            kill_group(proc)  # the reaper reports the exit; the tasks fail as the executor terminated
        self._procs[cid] = proc
        self.executor_launcher.watch(proc, lambda rc: self.run(self._executor_exited, key, cid, rc))
        if executor is None or not current or executor.state == TERMINATING:
            kill_group(proc)  # shut down or killed while launching
            return
        executor.os_pid = proc.pid
        self.log.info("executor_launched", executor_id=executor.executor_id, framework_id=executor.framework_id,
                      container_id=cid, os_pid=proc.pid, directory=executor.directory)

    def _launch_failed(self, executor: ExecutorEntry, e: BaseException) -> None:
        cid = executor.container_id
        self.log.error("executor_launch_failed", executor_id=executor.executor_id, error=str(e))
        if executor.timer is not None:
            executor.timer.cancel()
        self._cleanup_container(cid)
        for task in self.table.live_tasks(executor):
            self._agent_update(executor.framework_id, task.task_id, executor.executor_id, "TASK_FAILED",
                               "REASON_CONTAINER_LAUNCH_FAILED", f"cannot launch executor: {e}")
        self.table.remove_executor(executor.framework_id, executor.executor_id)

    def _collect_launches(self) -> None:
        """At stop: wait for launches in flight and track what they started (their callbacks won't run)."""
        self.launcher.shutdown(wait=True)
        for cid, future in list(self._launching.items()):
            if future.exception() is None:
                self._procs[cid] = future.result()
        self._launching.clear()

    def _registration_timeout(self, key: tuple[str, str], cid: str) -> None:
        executor = self.table.executors.get(key)
        if executor is None or executor.container_id != cid or executor.state == REGISTERED:
            return
        self.log.warning("executor_registration_timeout", executor_id=executor.executor_id, container_id=cid)
        executor.reason = "REASON_EXECUTOR_REGISTRATION_TIMEOUT"
        executor.message = f"executor did not register within {self.config.executor_registration_timeout} s"
        self._destroy(executor)

    def _shutdown_executor(self, executor: ExecutorEntry) -> None:
        if executor.state == TERMINATING:
            return
        registered = executor.state == REGISTERED
        executor.state = TERMINATING
        if executor.timer is not None:
            executor.timer.cancel()
        if registered:
            self.send(PID.parse(executor.pid), ShutdownExecutor())
            executor.timer = self.delay(self.config.executor_shutdown_grace_period, self._destroy, executor)
        else:
            self._destroy(executor)

    def _on_limitation(self, cid: str, limitation: Limitation) -> None:
        executor = self.table.by_container(cid)
        if executor is None:
            return
        self.log.warning("container_limitation", container_id=cid, reason=limitation.reason,
                         message=limitation.message)
        executor.limitation = limitation
        self._destroy(executor)

    def _destroy(self, executor: ExecutorEntry) -> None:
        """Kill the executor's session; the reaper then reports its exit."""
        if self.emulated is not None:
            self.emulated.kill(executor.container_id)
            return
        proc = self._procs.get(executor.container_id)
        if proc is not None:
            kill_group(proc)
        elif executor.os_pid and executor.container_id not in self._launching:  # recovered: not our child
            try:
                os.killpg(executor.os_pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def _limitation(self, cid: str) -> Limitation | None:
        try:
            return self.isolator.limitation(cid)
        except IsolationError:
            return None

    def _cleanup_container(self, cid: str) -> None:
        try:
            self.isolator.cleanup(cid)
        except IsolationError as e:
            self.log.error("container_cleanup_failed", container_id=cid, error=str(e))

    def _executor_exited(self, key: tuple[str, str], cid: str, returncode: int | None) -> None:
        self._procs.pop(cid, None)
        executor = self.table.executors.get(key)
        if executor is None or executor.container_id != cid:
            self._cleanup_container(cid)
            return
        limitation = executor.limitation or self._limitation(cid)
        self._cleanup_container(cid)
        if executor.timer is not None:
            executor.timer.cancel()
        self.log.info("executor_exited", executor_id=executor.executor_id, framework_id=executor.framework_id,
                      returncode=returncode, limitation=limitation.reason if limitation else None)
        for task in self.table.live_tasks(executor):
            if limitation is not None:
                reason, message = limitation.reason, limitation.message
            elif executor.reason:
                reason, message = executor.reason, executor.message
            else:
                reason, message = "REASON_EXECUTOR_TERMINATED", f"Executor terminated ({_describe(returncode)})"
            self._agent_update(executor.framework_id, task.task_id, executor.executor_id,
                               executor.termination_state, reason, message)
        self.table.remove_executor(*key)
        if not executor.command_executor and self.master is not None and self.connected:
            self.send(self.master, ExitedExecutor(agent_id=self.agent_id, framework_id=executor.framework_id,
                                                  executor_id=executor.executor_id, status=wait_status(returncode)))
        self._collect(*key)


def kill_group(proc: Child) -> None:
    """SIGKILL the executor's session (its process group); the executor alone while it has none
    yet (a fork of the zygote before its setsid(): it has started nothing then)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    except PermissionError:
        pass


def _describe(returncode: int | None) -> str:
    if returncode is None:
        return "exit status unknown: started by a previous run of the agent"
    if returncode < 0:
        return f"terminated by signal {signal.Signals(-returncode).name}"
    return f"exited with status {returncode}"
